"""Attention rollout (Abnar & Zuidema 2020, "Quantifying Attention Flow in Transformers"): how
much each input token reaches each token after layer l, if attention were all that mixed tokens
and the residual connection carried half of each token through unchanged.

    Â_l = 0.5 · mean_h A_l + 0.5 · I, rows renormalised to sum to 1
    R_0 = Â_0,   R_l = Â_l · R_(l-1)

With each head instead of the mean: layer l, head h: (0.5 · A_lh + 0.5 · I) · R_(l-1), R_(-1) = I
(that head's own route through layer l, after the head mean of the layers below)."""
from __future__ import annotations

import numpy as np


def mixed(attention: np.ndarray) -> np.ndarray:
    """0.5 · A + 0.5 · I with rows renormalised (a fully masked row of A becomes the identity's
    row). attention: (..., n, n) -> float64 (..., n, n)."""
    n = attention.shape[-1]
    a = 0.5 * attention.astype(np.float64) + 0.5 * np.eye(n)
    return a / a.sum(axis=-1, keepdims=True)


def rollout(attention: np.ndarray, each_head: bool = False) -> np.ndarray:
    """attention: (layers, heads, n, n) of a self-attention stack -> float32 (layers, n, n), the
    rollout up to and including each layer; each_head: (layers, heads, n, n)."""
    layers, heads, n, _ = attention.shape
    mean = mixed(attention.mean(axis=1))  # (layers, n, n)
    below = np.eye(n)  # R_(l-1)
    out = np.empty((layers, heads, n, n) if each_head else (layers, n, n), dtype=np.float32)
    for layer in range(layers):
        if each_head:
            out[layer] = mixed(attention[layer]) @ below  # (heads, n, n)
        below = mean[layer] @ below
        if not each_head:
            out[layer] = below
    return out


def result(ctx) -> dict:
    """{"rollout": (layers, q, k), or (layers, heads, q, k) with rollout_heads "each"} of the stack
    in view, `hide` applied to the maps as to the attention."""
    stack = ctx.self_attention("Attention rollout")
    maps = rollout(stack["weights"], each_head=ctx.req["rollout_heads"] == "each")
    return {"rollout": ctx.hidden(maps, stack)}
