"""Taps: an optional hook a forward pass calls once per attention layer, after the heads have
attended and before their outputs are mixed by W_O. It can record what each head moved (the
values and the head's slice of W_O, for value-weighted attention) and zero one head's output
(ablation). A forward pass without taps runs exactly as before."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Taps:
    record: bool = False                       # keep each layer's values and W_O slices
    zero: tuple[str, int, int] | None = None   # (stack, layer, head) whose output becomes 0
    values: dict[tuple[str, int], np.ndarray] = field(default_factory=dict)  # (stack, layer) -> (heads, k, d_head)
    w_o: dict[tuple[str, int], np.ndarray] = field(default_factory=dict)     # (stack, layer) -> (heads, d_head, d_model)

    def attended(self, stack: str, layer: int, v: np.ndarray, w_o: np.ndarray, context: np.ndarray) -> np.ndarray:
        """Called by the architecture for every attention layer. v: (heads, k, d_head), one per
        query head (grouped-query key/value heads repeated); w_o: (heads, d_head, d_model), head h's
        output is context[h] @ w_o[h]; context: (heads, q, d_head). Returns the context to use.
        Recording keeps the latest v of a layer: a decoder that runs a step at a time calls this
        once per step with the values of every position so far."""
        if self.record:
            self.values[(stack, layer)] = v
            self.w_o[(stack, layer)] = w_o
        if self.zero is not None and self.zero[:2] == (stack, layer):
            context = context.copy()
            context[self.zero[2]] = 0
        return context


def heads_of_out_in(w_o: np.ndarray, heads: int) -> np.ndarray:
    """W_O stored (d_model, heads * d_head), as weight files keep it (out, in) -> (heads, d_head,
    d_model), a view: head h's output is context_h @ result[h]."""
    d_model, width = w_o.shape
    return w_o.reshape(d_model, heads, width // heads).transpose(1, 2, 0)


def heads_of_in_out(w_o: np.ndarray, heads: int) -> np.ndarray:
    """W_O stored (heads * d_head, d_model) (in, out) -> (heads, d_head, d_model), a view."""
    width, d_model = w_o.shape
    return w_o.reshape(heads, width // heads, d_model)
