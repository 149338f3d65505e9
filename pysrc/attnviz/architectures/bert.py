"""The BERT encoder forward pass (MiniLM-L6: 6 layers, 12 heads of 32, hidden 384), in numpy
float32, returning every layer's attention. Parameter names follow Hugging Face's BertModel;
weights are in its (out, in) order."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..attention import attend, merge_heads, scaled_dot_product, split_heads
from ..layers import gelu, layer_norm, linear
from .taps import Taps, heads_of_out_in

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


def dense(x: np.ndarray, weights: dict, name: str) -> np.ndarray:
    return linear(x, weights[name + ".weight"], weights[name + ".bias"])


def norm(x: np.ndarray, weights: dict, name: str) -> np.ndarray:
    return layer_norm(x, weights[name + ".weight"], weights[name + ".bias"], LN_EPS)


def embed(weights: dict, word_rows: np.ndarray) -> np.ndarray:
    """(n, hidden): word + position + segment-0 embeddings, then LayerNorm. word_rows: (n, hidden)."""
    n = len(word_rows)
    x = word_rows + weights["embeddings.position_embeddings.weight"][:n] + weights["embeddings.token_type_embeddings.weight"][0]
    return norm(x, weights, "embeddings.LayerNorm")


def forward(word_rows: np.ndarray, weights: dict, config: Config = Config(),
            trace: tuple[int, int] | None = None, taps: Taps | None = None) -> tuple[np.ndarray, dict | None]:
    """Attention weights (layers, heads, n, n) of every layer; with trace=(layer, head), also that
    head's named intermediates; taps (stack "self") see every layer's values and may zero a head.
    The last layer's feed-forward is skipped: nothing after the last attention is shown."""
    n, h = len(word_rows), config.heads
    x = embed(weights, word_rows)  # (n, hidden)
    attentions = np.empty((config.layers, h, n, n), dtype=np.float32)
    kept = None
    for layer in range(config.layers):
        p = f"encoder.layer.{layer}."
        q, k, v = (split_heads(dense(x, weights, p + f"attention.self.{name}"), h)  # (heads, n, d_head)
                   for name in ("query", "key", "value"))
        attentions[layer], context = attend(q, k, v)  # (heads, n, n), (heads, n, d_head)
        if taps is not None:
            w_o = heads_of_out_in(weights[p + "attention.output.dense.weight"], h)
            context = taps.attended("self", layer, v, w_o, context)
        concat = merge_heads(context)  # (n, hidden)
        attn_out = dense(concat, weights, p + "attention.output.dense")
        if trace is not None and trace[0] == layer:
            kept = head_trace(x, q, k, v, weights, p, trace[1], config.d_head, concat, attn_out)
        if layer == config.layers - 1:
            break
        x = norm(x + attn_out, weights, p + "attention.output.LayerNorm")
        inner = gelu(dense(x, weights, p + "intermediate.dense"))  # (n, 4 * hidden)
        x = norm(x + dense(inner, weights, p + "output.dense"), weights, p + "output.LayerNorm")
    return attentions, kept


def head_trace(x: np.ndarray, q: np.ndarray, k: np.ndarray, v: np.ndarray, weights: dict, prefix: str,
               head: int, d_head: int, concat: np.ndarray, attn_out: np.ndarray) -> dict:
    """The named intermediates of one head (see attention.HeadSteps.named), plus its input and
    projections as (hidden, d_head) so that q = x @ w_q + b_q."""
    rows = slice(head * d_head, (head + 1) * d_head)
    w = {name: weights[prefix + f"attention.self.{name}.weight"][rows].T for name in ("query", "key", "value")}
    steps = scaled_dot_product(q[head], k[head], v[head])
    return {"x_query": x, "x_key": x, "w_q": w["query"], "w_k": w["key"], "w_v": w["value"], **steps.named(),
            "concat": concat, "w_o": weights[prefix + "attention.output.dense.weight"].T, "output": attn_out,
            "temperature": 1.0}
