"""The BERT encoder forward pass (MiniLM-L6: 6 layers, 12 heads of 32, hidden 384), in numpy,
float32, returning every layer's attention. Parameter names follow Hugging Face's BertModel."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

LN_EPS = 1e-12


@dataclass(frozen=True)
class Config:
    layers: int = 6
    heads: int = 12
    hidden: int = 384
    max_positions: int = 512

    @property
    def d_head(self) -> int:
        return self.hidden // self.heads


def layer_norm(x: np.ndarray, gain: np.ndarray, bias: np.ndarray) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + LN_EPS) * gain + bias


def erf(x: np.ndarray) -> np.ndarray:
    """Error function (Abramowitz & Stegun 7.1.26, absolute error below 1.5e-7, under float32's
    resolution of GELU's output); numpy has no erf and math.erf per element is too slow."""
    a = np.abs(x).astype(np.float64)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return (np.sign(x) * (1.0 - poly * np.exp(-a * a))).astype(x.dtype)


def gelu(x: np.ndarray) -> np.ndarray:
    """BERT's exact GELU: x Φ(x) = x (1 + erf(x / √2)) / 2."""
    return 0.5 * x * (1.0 + erf(x / np.float32(math.sqrt(2.0))))


def linear(x: np.ndarray, weights: dict, name: str) -> np.ndarray:
    """x Wᵀ + b with Hugging Face's (out, in) weight layout."""
    return x @ weights[name + ".weight"].T + weights[name + ".bias"]


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def embed(ids: np.ndarray, weights: dict, word_rows: np.ndarray) -> np.ndarray:
    """(n, hidden): word + position + segment-0 embeddings, then LayerNorm. word_rows: (n, hidden)."""
    n = len(ids)
    x = word_rows + weights["embeddings.position_embeddings.weight"][:n] + weights["embeddings.token_type_embeddings.weight"][0]
    return layer_norm(x, weights["embeddings.LayerNorm.weight"], weights["embeddings.LayerNorm.bias"])


def forward(ids: np.ndarray, word_rows: np.ndarray, weights: dict, config: Config = Config(),
            keep: tuple[int, int] | None = None) -> tuple[np.ndarray, dict | None]:
    """Attention weights (layers, heads, n, n) of every layer; with keep=(layer, head), also that
    head's input X, Q, K, V, scores and output for step-by-step mode. The last layer's
    feed-forward is skipped: nothing after the last attention is shown."""
    n, h, d = len(ids), config.heads, config.d_head
    x = embed(ids, weights, word_rows)  # (n, hidden)
    attentions = np.empty((config.layers, h, n, n), dtype=np.float32)
    kept = None
    for layer in range(config.layers):
        p = f"encoder.layer.{layer}."
        split = lambda t: t.reshape(n, h, d).transpose(1, 0, 2)  # (n, hidden) -> (heads, n, d)
        q = split(linear(x, weights, p + "attention.self.query"))
        k = split(linear(x, weights, p + "attention.self.key"))
        v = split(linear(x, weights, p + "attention.self.value"))
        scores = q @ k.transpose(0, 2, 1)  # (heads, n, n)
        attn = softmax(scores / np.float32(math.sqrt(d)))
        attentions[layer] = attn
        context = attn @ v  # (heads, n, d)
        if keep is not None and keep[0] == layer:
            kept = {"x": x, "q": q[keep[1]], "k": k[keep[1]], "v": v[keep[1]], "scores": scores[keep[1]],
                    "output": context[keep[1]], "layer_weights": {
                        name: weights[p + f"attention.self.{name}.weight"][keep[1] * d:(keep[1] + 1) * d].T
                        for name in ("query", "key", "value")}}
        if layer == config.layers - 1:
            break
        merged = context.transpose(1, 0, 2).reshape(n, h * d)  # (n, hidden)
        x = layer_norm(x + linear(merged, weights, p + "attention.output.dense"),
                       weights[p + "attention.output.LayerNorm.weight"], weights[p + "attention.output.LayerNorm.bias"])
        inner = gelu(linear(x, weights, p + "intermediate.dense"))  # (n, 4 * hidden)
        x = layer_norm(x + linear(inner, weights, p + "output.dense"),
                       weights[p + "output.LayerNorm.weight"], weights[p + "output.LayerNorm.bias"])
    return attentions, kept
