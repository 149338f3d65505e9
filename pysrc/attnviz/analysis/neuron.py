"""The neuron view (bertviz's, after Vig 2019): for one head and one (query, key) pair, the query
vector q_i and key vector k_j dimension by dimension, their element-wise product, and its sum — the
score q_i · k_j that, divided by √d_head, the head's softmax turns into the weight the heatmap
shows. Read from the model's own trace of the head, so it is the forward pass's numbers.

In a rotary model (SmolLM2) positions enter only by rotating q and k: each pair of dimensions
(f, f + d/2) of the query at position i is turned by the angle i·θ_f and of the key at j by j·θ_f,
so their product depends on the positions only through i − j. The score is the product of the
rotated vectors; the unrotated ones (what W_Q and W_K wrote) are given beside them."""
from __future__ import annotations

import math

import numpy as np

from ..errors import RequestError

ROTARY_ABOUT = ("q and k after rotation: the model rotates each pair of dimensions (f, f + d/2) of the query by "
                "its position times a frequency, and of the key by its own, so the score depends on the positions "
                "only through their difference; the softmax sees the rotated vectors' product, so those are the "
                "bars. q_unrotated and k_unrotated are what W_Q and W_K wrote before the rotation.")


def explain(q: np.ndarray, k: np.ndarray) -> dict:
    """q, k: (d_head,) -> {q, k, product (d_head,), score = Σ product, scaled = score / √d_head},
    in float32 as the result carries them; the sum is taken in float64 of those very numbers."""
    q32, k32 = q.astype(np.float32), k.astype(np.float32)
    product = q32.astype(np.float64) * k32
    score = float(product.sum())
    return {"q": q32, "k": k32, "product": product.astype(np.float32), "score": score,
            "scaled": score / math.sqrt(q.shape[-1])}


def result(ctx) -> dict:
    """{"neuron": {...}} for the head in view and the request's query and key (positions in the
    trace's token lists, the model's own tokens)."""
    req = ctx.req
    where = (req["stack"], req["layer"], req["head"])
    raw = ctx.raw if ctx.raw.get("trace") is not None else ctx.rerun(trace=where)
    trace = raw["trace"]
    stack = ctx.stack()
    tokens = raw.get("trace_tokens") or {"query": {**ctx.tokens, **raw.get("tokens", {})}[stack["query"]],
                                         "key": {**ctx.tokens, **raw.get("tokens", {})}[stack["key"]]}
    for field, side in (("query", "q"), ("key", "k")):
        n = trace[side].shape[0]
        if req[field] >= n:
            raise RequestError(f"'{field}' is {req[field]}, but the head has {n} {field} tokens (0-{n - 1}).", field)
    i, j = req["query"], req["key"]
    out = {"stack": req["stack"], "layer": req["layer"], "head": req["head"], "query": i, "key": j,
           "tokens": {"query": tokens["query"][i]["text"], "key": tokens["key"][j]["text"]},
           **explain(trace["q"][i], trace["k"][j]),
           "weight": float(trace["pattern"][i, j]), "masked": not bool(trace["mask"][i, j]),
           "temperature": float(trace.get("temperature", 1.0)), "rotary": "q_unrotated" in trace}
    if out["rotary"]:
        out.update(q_unrotated=trace["q_unrotated"][i].astype(np.float32),
                   k_unrotated=trace["k_unrotated"][j].astype(np.float32), about=ROTARY_ABOUT)
    return {"neuron": out}
