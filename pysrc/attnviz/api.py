"""The request/response contract between the page (via the worker) and attnviz.

SKELETON: this minimal version is replaced by the full contract (issue 3).

Request (a dict; JSON in the browser):
    schema       int, optional, must be 1
    text         str, required: the query-side text (the only text in self-attention)
    mode         "self" | "cross"                      default "self"
    source       str: key/value-side text, required when mode == "cross"
    model        "synthetic" | "minilm"                default "synthetic"
    heads        int 1..16 (synthetic only)            default 8
    seed         int >= 0                              default 0
    causal       bool                                  default False
    temperature  float in [0.05, 10]                   default 1.0
    intermediates bool: also return the step-by-step matrices of (layer, head)
    layer, head  int: which head the intermediates describe, default 0, 0

Result (a dict):
    schema 1, ok True, request (normalised), model {name, layers, heads, d_model, d_head},
    query_tokens / key_tokens: [{"text", "start", "end"}],
    weights: float32 ndarray (layers, heads, q, k),
    heads: [{"layer", "head", "role", "description"}] (layers * heads entries),
    metrics: JSON-able dict, intermediates: {name: ndarray} when asked.
Error: {"schema": 1, "ok": False, "error": {"field": str | None, "message": str}}
"""
from __future__ import annotations

import re

import numpy as np

SCHEMA = 1


def _tokens(text: str) -> list[dict]:
    return [{"text": m.group(), "start": m.start(), "end": m.end()} for m in re.finditer(r"\w+|[^\w\s]", text)]


def run(request: dict) -> dict:
    text = request.get("text")
    if not isinstance(text, str) or not text.strip():
        return {"schema": SCHEMA, "ok": False, "error": {"field": "text", "message": "Type some text to see its attention."}}
    heads = int(request.get("heads", 8))
    toks = _tokens(text)
    n, d = len(toks), 16
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, d))  # (q, d)
    wq, wk = rng.standard_normal((heads, d, d)), rng.standard_normal((heads, d, d))
    scores = np.einsum("qd,hde,ke,->hqk", x, wq, x @ wk[0]) if False else np.einsum("qd,hde->hqe", x, wq) @ np.einsum("kd,hde->hke", x, wk).transpose(0, 2, 1)
    scores = scores / np.sqrt(d)  # (heads, q, k)
    w = np.exp(scores - scores.max(-1, keepdims=True))
    w /= w.sum(-1, keepdims=True)
    return {
        "schema": SCHEMA, "ok": True, "request": dict(request),
        "model": {"name": "synthetic", "layers": 1, "heads": heads, "d_model": d, "d_head": d},
        "query_tokens": toks, "key_tokens": toks,
        "weights": w[None].astype(np.float32),  # (layers, heads, q, k)
        "heads": [{"layer": 0, "head": h, "role": "random", "description": "skeleton"} for h in range(heads)],
        "metrics": {},
    }
