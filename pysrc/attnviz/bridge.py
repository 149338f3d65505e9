"""The Web Worker's side door into attnviz: JSON in, JSON + float32 buffers out.

The worker calls `handle(request_json)` and gets `(meta_json, arrays)`. Every numpy array in the
result is replaced in the JSON by a reference `{"$array": i, "shape": [...]}` and handed over as a
contiguous float32 array, so large weights cross into JavaScript as typed arrays (one copy out of
the WebAssembly heap, then transferred to the main thread) instead of being JSON-encoded.
"""
from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from . import api


def split_arrays(value: Any, arrays: list[np.ndarray]) -> Any:
    """Return a JSON-able copy of value with numpy arrays swapped for references into `arrays`."""
    if isinstance(value, np.ndarray):
        arrays.append(np.ascontiguousarray(value, dtype=np.float32))
        return {"$array": len(arrays) - 1, "shape": list(value.shape)}
    if isinstance(value, dict):
        return {str(k): split_arrays(v, arrays) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [split_arrays(v, arrays) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no inf/nan; arrays keep them (they travel as float32)
    return value


def error(message: str, field: str | None = None) -> dict:
    return {"schema": api.SCHEMA, "ok": False, "error": {"field": field, "message": message}}


def handle(request_json: str) -> tuple[str, list[np.ndarray]]:
    """Run one request for the worker. Never raises: failures come back as an error result."""
    try:
        request = json.loads(request_json)
    except ValueError:
        result = error("The request is not valid JSON.")
    else:
        if not isinstance(request, dict):
            result = error("The request must be a JSON object.")
        else:
            try:
                result = api.run(request)
            except Exception as exc:  # a bug, not bad input: say so rather than kill the worker
                result = error(f"Internal error in attnviz: {type(exc).__name__}: {exc}")
    arrays: list[np.ndarray] = []
    meta = split_arrays(result, arrays)
    return json.dumps(meta, ensure_ascii=False, allow_nan=False), arrays


def minilm_files(text: str) -> str:
    """JSON list of the word-embedding chunk files MiniLM needs for text (the worker fetches
    them before calling handle). Text it cannot tokenize needs none: handle reports the error."""
    from . import minilm
    try:
        return json.dumps(minilm.needed_files(text))
    except ValueError:
        return "[]"
