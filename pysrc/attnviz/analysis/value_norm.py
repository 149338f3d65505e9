"""Value-weighted attention (Kobayashi et al. 2020, "Attention is Not Only a Weight"): what a
head moves from key j to query i is α_ij · f(x_j) with f(x_j) = v_j W_O^h, the key's value
through the head's slice of the output projection; its size ‖α_ij · v_j W_O^h‖ = α_ij · ‖v_j W_O^h‖
shows how much actually arrives. A token that takes much attention but carries a small value (an
attention sink, [SEP]) moves little. The output projection's bias is not per head and is left out."""
from __future__ import annotations

import numpy as np

from ..architectures.taps import Taps


def value_sizes(values: np.ndarray, w_o: np.ndarray) -> np.ndarray:
    """‖v_j W_O^h‖ for every head and key: values (heads, k, d_head), w_o (heads, d_head, d_model)
    -> float64 (heads, k)."""
    moved = np.einsum("hkd,hdm->hkm", values.astype(np.float64), w_o.astype(np.float64))  # (heads, k, d_model)
    return np.sqrt(np.einsum("hkm,hkm->hk", moved, moved))


def value_norms(attention: np.ndarray, values: list[np.ndarray], w_o: list[np.ndarray]) -> np.ndarray:
    """attention (layers, heads, q, k); values[l] (heads, k, d_head); w_o[l] (heads, d_head, d_model)
    -> float32 (layers, heads, q, k): ‖α_ij · v_j W_O^h‖."""
    sizes = np.stack([value_sizes(v, w) for v, w in zip(values, w_o)])  # (layers, heads, k)
    return (attention.astype(np.float64) * sizes[:, :, None, :]).astype(np.float32)


def result(ctx) -> dict:
    """{"value_norm": (layers, heads, q, k)} of the stack in view: the model is run again with taps
    that keep every layer's values and W_O; `hide` zeroes hidden tokens (no renormalising: the
    rows are sizes, not shares)."""
    ctx.own_tokens("Value-weighted attention")
    taps = Taps(record=True)
    name = ctx.req["stack"]
    stack = ctx.rerun(taps=taps)["attention"][name]
    layers = stack["weights"].shape[0]
    maps = value_norms(stack["weights"], [taps.values[(name, layer)] for layer in range(layers)],
                       [taps.w_o[(name, layer)] for layer in range(layers)])
    return {"value_norm": ctx.hidden(maps, stack, renormalise=False)}
