"""Scaled dot-product attention, one step at a time, with every intermediate kept.

    scores  = Q Kᵀ                       (q, k)
    scaled  = scores / sqrt(d_k)
    tempered = scaled / T
    masked  = tempered where allowed, -inf where masked
    weights = softmax(masked) over keys  (every unmasked row sums to 1)
    output  = weights V                   (q, d_v)

Multi-head attention runs this per head on slices of the projections and concatenates the
outputs before the output projection W_O.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax. Entries of -inf get weight 0; a row that is all -inf (every
    key masked) gets all zeros instead of NaN, as there is nothing to attend to."""
    row_max = np.max(x, axis=axis, keepdims=True)
    row_max = np.where(np.isfinite(row_max), row_max, 0.0)  # all-masked rows: avoid inf - inf
    e = np.exp(x - row_max)  # the shift cancels in the ratio but keeps exp from overflowing
    total = e.sum(axis=axis, keepdims=True)
    return np.divide(e, total, out=np.zeros_like(e), where=total > 0)


def causal_mask(n_query: int, n_key: int) -> np.ndarray:
    """True where query i may see key j: j <= i (no looking ahead). Shape (q, k)."""
    return np.tril(np.ones((n_query, n_key), dtype=bool))


def padding_mask(n_query: int, key_is_real: np.ndarray) -> np.ndarray:
    """True where the key is a real token, False for padding keys. Shape (q, k)."""
    return np.broadcast_to(np.asarray(key_is_real, dtype=bool), (n_query, len(key_is_real))).copy()


@dataclass
class HeadSteps:
    """Every intermediate of one attention head (query length q, key length k)."""
    q: np.ndarray         # (q, d_k)
    k: np.ndarray         # (k, d_k)
    v: np.ndarray         # (k, d_v)
    scores: np.ndarray    # (q, k)  Q Kᵀ
    scaled: np.ndarray    # (q, k)  ÷ sqrt(d_k)
    tempered: np.ndarray  # (q, k)  ÷ T
    mask: np.ndarray      # (q, k)  True = allowed
    masked: np.ndarray    # (q, k)  -inf where not allowed
    weights: np.ndarray   # (q, k)  softmax over k
    output: np.ndarray    # (q, d_v) weights V

    def named(self) -> dict[str, np.ndarray | float]:
        """The trace every model records for the head in view, under the names the step-by-step
        view reads (in the spirit of TransformerLens: the pattern is the softmax, z its output)."""
        d_k = self.q.shape[-1]
        return {"q": self.q, "k": self.k, "v": self.v, "scores": self.scores, "scaled": self.scaled,
                "tempered": self.tempered, "mask": self.mask.astype(np.float32), "masked": self.masked,
                "pattern": self.weights, "z": self.output, "d_k": d_k, "sqrt_d_k": math.sqrt(d_k)}


def scaled_dot_product(q: np.ndarray, k: np.ndarray, v: np.ndarray, mask: np.ndarray | None = None,
                       temperature: float = 1.0) -> HeadSteps:
    """Attention for one head, keeping every step. q: (q, d_k), k: (k, d_k), v: (k, d_v)."""
    if mask is None:
        mask = np.ones((q.shape[0], k.shape[0]), dtype=bool)
    scores = q @ k.T  # (q, k)
    scaled = scores / math.sqrt(q.shape[-1])
    tempered = scaled / temperature
    masked = np.where(mask, tempered, -np.inf)
    weights = softmax(masked)
    return HeadSteps(q, k, v, scores, scaled, tempered, mask, masked, weights, weights @ v)


def attention_weights(q: np.ndarray, k: np.ndarray, mask: np.ndarray | None = None,
                      temperature: float = 1.0) -> np.ndarray:
    """Batched weights only, for many heads at once. q: (h, q, d_k), k: (h, k, d_k) -> (h, q, k)."""
    scores = q @ np.swapaxes(k, -1, -2) / (math.sqrt(q.shape[-1]) * temperature)  # (h, q, k)
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    return softmax(scores)


def attend(q: np.ndarray, k: np.ndarray, v: np.ndarray, mask: np.ndarray | None = None,
           temperature: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Every head at once: weights (h, q, k) and outputs (h, q, d_v). q: (h, q, d_k),
    k: (h, k, d_k), v: (h, k, d_v), mask: (q, k) or (h, q, k), True = allowed."""
    weights = attention_weights(q, k, mask, temperature)
    return weights, weights @ v


def repeat_kv(x: np.ndarray, n_rep: int) -> np.ndarray:
    """Grouped-query attention: (kv_heads, n, d) -> (kv_heads * n_rep, n, d), each key/value head
    repeated for the n_rep query heads that share it (query head h reads kv head h // n_rep)."""
    return np.repeat(x, n_rep, axis=0) if n_rep > 1 else x


def split_heads(x: np.ndarray, n_heads: int) -> np.ndarray:
    """(n, heads * d_head) -> (heads, n, d_head)."""
    n, width = x.shape
    return x.reshape(n, n_heads, width // n_heads).transpose(1, 0, 2)


def merge_heads(x: np.ndarray) -> np.ndarray:
    """(heads, n, d_head) -> (n, heads * d_head): the concatenation of the heads' outputs."""
    heads, n, d_head = x.shape
    return x.transpose(1, 0, 2).reshape(n, heads * d_head)


@dataclass
class MultiHeadResult:
    weights: np.ndarray  # (heads, q, k)
    concat: np.ndarray   # (q, heads * d_head)
    output: np.ndarray   # (q, d_model)  concat W_O


def multi_head(x_query: np.ndarray, x_key: np.ndarray, w_q: np.ndarray, w_k: np.ndarray,
               w_v: np.ndarray, w_o: np.ndarray, n_heads: int, mask: np.ndarray | None = None,
               temperature: float = 1.0) -> MultiHeadResult:
    """Multi-head attention. x_query: (q, d_model), x_key: (k, d_model) (the same array for
    self-attention); w_q, w_k, w_v: (d_model, heads * d_head); w_o: (heads * d_head, d_model)."""
    q = split_heads(x_query @ w_q, n_heads)  # (heads, q, d_head)
    k = split_heads(x_key @ w_k, n_heads)    # (heads, k, d_head)
    v = split_heads(x_key @ w_v, n_heads)    # (heads, k, d_head)
    weights = attention_weights(q, k, mask, temperature)  # (heads, q, k)
    concat = merge_heads(weights @ v)  # (q, heads * d_head)
    return MultiHeadResult(weights, concat, concat @ w_o)
