"""The data of one attention view: an attnviz result, or any model's attention given as arrays,
shaped as a result (schema 2) the site's widgets read, with the description of every head, and
encoded compactly for the page (the weights as float16 in base64, not JSON numbers)."""
from __future__ import annotations

import base64
import re
from typing import Any, Sequence

import numpy as np

from .. import __version__, metrics
from ..errors import RequestError
from ..export import DOCUMENT_SCHEMA

# The name of the model entry a view of given arrays carries (no model of the registry computed them).
GIVEN = "given"
# Tokens shown as special (not counted by the induction score): [CLS], <s>, <|endoftext|>, ...
SPECIAL = re.compile(r"^(\[[A-Za-z_]+\]|<[^<>\s]+>|<\|[^|]+\|>)$")
# Result fields the view carries besides attention (the trace and timings stay behind).
KEPT = ("tokens", "roles", "notes", "next_tokens", "translation", "generated")


def as_array(value: Any) -> np.ndarray:
    """A torch tensor (any device or dtype), a numpy array or nested lists, as float32 numpy."""
    if not isinstance(value, np.ndarray):
        for step in ("detach", "cpu", "float"):  # torch: off the graph, to the CPU, bfloat16/half -> float32
            if callable(getattr(value, step, None)):
                value = getattr(value, step)()
        if callable(getattr(value, "numpy", None)):
            value = value.numpy()
    try:
        return np.asarray(value, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise RequestError("Attention must be shaped (layers, [batch,] heads, queries, keys): numbers in arrays, "
                           f"tensors or a tuple of them ({exc}).", "attention") from exc


def attention_stack(attentions: Any, batch: int = 0) -> np.ndarray:
    """(layers, heads, q, k) from what a model returns: transformers' `outputs.attentions` (a tuple
    of (batch, heads, q, k) per layer), or one array shaped (layers, [batch,] heads, q, k),
    (heads, q, k) or (q, k)."""
    if isinstance(attentions, (tuple, list)) and attentions and not np.isscalar(attentions[0]) \
            and np.ndim(as_array(attentions[0])) >= 3:
        layers = [as_array(a) for a in attentions]
        if len({a.shape for a in layers}) != 1:
            raise RequestError(f"The layers' attention shapes differ: {sorted({a.shape for a in layers})}.", "attention")
        stacked = np.stack(layers)  # (layers, [batch,] heads, q, k)
    else:
        stacked = as_array(attentions)
    if stacked.ndim == 5:
        if not 0 <= batch < stacked.shape[1]:
            raise RequestError(f"batch={batch} is out of range: the attention holds {stacked.shape[1]} sequences.", "batch")
        stacked = stacked[:, batch]
    elif stacked.ndim == 3:
        stacked = stacked[None]
    elif stacked.ndim == 2:
        stacked = stacked[None, None]
    if stacked.ndim != 4 or 0 in stacked.shape:
        raise RequestError(f"Attention must be shaped (layers, [batch,] heads, queries, keys); got {stacked.shape}.", "attention")
    if not np.all(np.isfinite(stacked)) or stacked.min() < 0:
        raise RequestError("Attention weights must be finite and not negative (softmax outputs, not scores).", "attention")
    return np.ascontiguousarray(stacked)


def token_list(tokens: Sequence[str], count: int, side: str) -> list[dict]:
    """Token dicts as results have them, from a list of strings that must match the attention."""
    if isinstance(tokens, str) or not all(isinstance(t, str) for t in tokens):
        raise RequestError(f"The {side} tokens must be a list of strings (e.g. tokenizer.convert_ids_to_tokens(ids)).", side)
    if len(tokens) != count:
        raise RequestError(f"{len(tokens)} {side} tokens for attention over {count} positions.", side)
    return [{"text": t, "start": None, "end": None, "special": bool(SPECIAL.match(t))} for t in tokens]


def from_arrays(attentions: Any, tokens: Sequence[str], source_tokens: Sequence[str] | None = None, *,
                label: str = "Attention", batch: int = 0) -> dict:
    """A result-shaped view of given attention: self-attention over tokens, or, with source_tokens,
    cross-attention from tokens (queries) to source_tokens (keys and values)."""
    weights = attention_stack(attentions, batch)  # (layers, heads, q, k)
    layers, heads, q, k = weights.shape
    if source_tokens is None:
        if q != k:
            raise RequestError(f"Self-attention must be square; got {q} queries × {k} keys. Give the source "
                               "tokens for cross-attention.", "attention")
        tokens_by_side = {"text": token_list(tokens, q, "text")}
        stack, key_side = "self", "text"
    else:
        tokens_by_side = {"text": token_list(tokens, q, "text"), "source": token_list(source_tokens, k, "source")}
        stack, key_side = "cross", "source"
    text = " ".join(tokens)
    model = {"name": GIVEN, "label": label, "kind": "given", "layers": layers, "heads": heads, "kv_heads": heads,
             "stacks": [stack], "named_heads": [], "options": []}
    return {"schema": 2, "ok": True, "version": __version__,
            "request": {"text": text, "model": GIVEN, "stack": stack, "layer": 0, "head": 0},
            "model": model, "tokens": tokens_by_side,
            "attention": {stack: {"weights": weights, "query": "text", "key": key_side}},
            "roles": {}, "notes": []}


def overview(stack: dict, tokens: dict) -> dict:
    """The numbers of every head the model view shows (api.overview, for a result without them)."""
    from ..api import overview as api_overview
    return api_overview(stack, tokens)


def descriptions(stack: dict) -> list[str]:
    """What each head does, in words (metrics.describe), layer by layer: (layers * heads) strings."""
    weights = stack["weights"]  # (layers, heads, q, k)
    self_attention = stack["query"] == stack["key"]
    return [metrics.describe(metrics.head_summary(weights[l, h], self_attention), self_attention)
            for l in range(weights.shape[0]) for h in range(weights.shape[1])]


def view_result(result: dict) -> dict:
    """What the page needs of a result (an attnviz result or from_arrays'), with every head described
    and the model entry the widgets look up (its display options are for the worker: none here)."""
    model = {**result["model"], "options": []}
    attention = result["attention"]
    out = {"schema": result.get("schema", 2), "ok": True, "version": result.get("version", __version__),
           "request": {"text": result["request"]["text"], "model": model["name"], "stack": result["request"]["stack"],
                       "layer": 0, "head": 0},
           "model": model, "attention": attention, "timings": {"model_ms": 0},
           "overview": result.get("overview") or {name: overview(s, result["tokens"]) for name, s in attention.items()},
           "descriptions": {name: descriptions(s) for name, s in attention.items()},
           "schema_doc": DOCUMENT_SCHEMA}
    out.update({key: result[key] for key in KEPT if key in result})
    out.setdefault("roles", {})
    out.setdefault("notes", [])
    return out


def encode(value: Any, half: bool = False) -> Any:
    """JSON-ready: arrays as {"$f16" | "$f32": base64 of little-endian values, "shape"} (attention
    weights as float16, the small overview arrays as float32); numpy scalars as numbers."""
    if isinstance(value, np.ndarray):
        kind = "$f16" if half else "$f32"
        data = np.ascontiguousarray(value, dtype="<f2" if half else "<f4")
        return {kind: base64.b64encode(data.tobytes()).decode("ascii"), "shape": list(value.shape)}
    if isinstance(value, dict):
        return {k: encode(v, half or k == "weights") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode(v, half) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def model_index(result: dict) -> dict:
    """The one-model index the widgets read (the site's is written at build time)."""
    return {"format": "attnviz-model-index", "result_schema": DOCUMENT_SCHEMA, "models": [result["model"]]}
