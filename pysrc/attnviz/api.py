"""The contract between the page (through the worker) and attnviz: one request dict in, one
result dict out. Nothing here raises for bad input: errors come back as results.

Request (schema 1; JSON in the browser). Unknown fields and wrong types are errors.
    schema        1
    text          str, required: the query-side text (the only text in self-attention)
    mode          "self" | "cross"                     default "self"
    source        str: key/value-side text, required when mode is "cross"
    model         "synthetic" | "minilm"               default "synthetic"
    heads         1..16, synthetic model only           default 8
    seed          0..2^31-1, synthetic model only       default 0
    causal        bool: hide later tokens (self-attention only)   default false
    temperature   0.05..10: scores are divided by it   default 1
    pad_to        0..512: pad the keys with [PAD] up to this length and mask them   default 0
    intermediates bool: also return every step of head (layer, head)   default false
    layer, head   which head the intermediates describe  default 0, 0
    hide_special  bool: MiniLM, drop [CLS]/[SEP] and renormalise rows   default false
    merge_subwords bool: MiniLM, merge WordPiece pieces into words   default false
    top_k         1..100: how many top pairs per head   default 10
    kind          "softmax" | "variance": the articles' small demos (see demos.py) instead

Result:
    schema, ok: true, version (of attnviz), request (with defaults filled in),
    model: {name, layers, heads, d_model, d_head},
    query_tokens, key_tokens: [{text, start, end, special}] (spans index the original text),
    weights: float32 array (layers, heads, q, k),
    heads: [{layer, head, role, role_id, description, summary}] for every head,
    metrics: {row_entropy_bits: float32 (layers, heads, q), top_pairs: [[...]], overall: {...}},
    notes: [str] (what was done to the request, e.g. causal ignored in cross mode),
    timings: {model_ms, metrics_ms} (the forward pass, then metrics and summaries),
    intermediates: {name: array} when asked.
Error: {schema, ok: false, error: {field, message}}
"""
from __future__ import annotations

import math
import time

import numpy as np

from . import __version__, demos, metrics, synthetic_run
from .errors import RequestError
from .request import SCHEMA, normalise


def error_result(message: str, field: str | None = None) -> dict:
    return {"schema": SCHEMA, "ok": False, "error": {"field": field, "message": message}}


def run(request: dict, *, minilm_dir: str | None = None) -> dict:
    """Answer one request. minilm_dir: where the MiniLM weights are (None: the default place)."""
    if not isinstance(request, dict):
        return error_result("The request must be an object with a 'text' field.")
    if "kind" in request:
        return demos.run(request)
    try:
        req = normalise(request)
        started = time.perf_counter()
        if req["model"] == "minilm":
            try:
                from . import minilm_run  # imported on first use: the synthetic path never needs it
            except ImportError:
                raise RequestError("The MiniLM model is not part of this build.", "model") from None
            raw = minilm_run.compute(req, minilm_dir)
        else:
            raw = synthetic_run.compute(req)
    except RequestError as exc:
        return error_result(exc.message, exc.field)
    computed = time.perf_counter()
    result = assemble(req, raw)
    result["timings"] = {"model_ms": (computed - started) * 1e3, "metrics_ms": (time.perf_counter() - computed) * 1e3}
    return result


def assemble(req: dict, raw: dict) -> dict:
    """Add metrics and head summaries to a model's raw output and shape the result."""
    weights = raw["weights"]  # (layers, heads, q, k)
    layers, heads = weights.shape[:2]
    self_attention = req["mode"] == "self"
    w64 = weights.astype(np.float64)
    entropy = metrics.row_entropy(w64)  # (layers, heads, q) nats
    head_info, pairs = [], []
    for layer in range(layers):
        for head in range(heads):
            summary = metrics.head_summary(w64[layer, head], self_attention)
            info = {"layer": layer, "head": head, **raw["roles"][layer * heads + head], "summary": summary}
            info.setdefault("role", None)  # trained models' heads have no given role
            info.setdefault("description", metrics.describe(summary))
            head_info.append(info)
            pairs.append({"without_self": metrics.top_pairs(w64[layer, head], req["top_k"], False),
                          "with_self": metrics.top_pairs(w64[layer, head], req["top_k"], True)})
    column_total = w64.sum(axis=(0, 1, 2))  # (k,) attention received, over all heads
    overall = {
        "query_tokens": len(raw["query_tokens"]), "key_tokens": len(raw["key_tokens"]),
        "layers": layers, "heads": heads,
        "max_weight": float(w64.max()), "mean_weight": float(w64.mean()),
        "mean_entropy_bits": float(entropy.mean() / math.log(2)),
        "most_attended": int(column_total.argmax()),
    }
    result = {
        "schema": SCHEMA, "ok": True, "version": __version__, "request": req, "model": raw["model"],
        "query_tokens": raw["query_tokens"], "key_tokens": raw["key_tokens"],
        "weights": weights.astype(np.float32),
        "heads": head_info,
        "metrics": {"row_entropy_bits": (entropy / math.log(2)).astype(np.float32),
                    "top_pairs": pairs, "overall": overall},
        "notes": raw.get("notes", []),
    }
    if raw.get("intermediates") is not None:
        result["intermediates"] = raw["intermediates"]
    return result
