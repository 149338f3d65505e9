"""The Web Worker's side door into attnviz: JSON in, JSON + float32 buffers out.

The worker calls `handle(request_json)` and gets `(meta_json, arrays)`. Every numpy array in the
result is replaced in the JSON by a reference `{"$array": i, "shape": [...]}` and handed over as a
contiguous float32 array, so large weights cross into JavaScript as typed arrays (one copy out of
the WebAssembly heap, then transferred to the main thread) instead of being JSON-encoded.
"""
from __future__ import annotations

import gc
import json
import math
import traceback
from typing import Any, Callable

import numpy as np

from . import api, models
from .errors import RequestError, error_result


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


def _parsed(request_json: str) -> dict:
    """The request object, or RequestError for text that is not a JSON object."""
    try:
        request = json.loads(request_json)
    except ValueError:
        raise RequestError("The request is not valid JSON.") from None
    if not isinstance(request, dict):
        raise RequestError("The request must be a JSON object.")
    return request


def _answer(work: Callable[[dict], dict], request_json: str) -> dict:
    """Run work on the parsed request. Never raises: bad input is an error result, and a bug is
    an internal error whose traceback goes with it (the worker prints it to the console)."""
    try:
        return work(_parsed(request_json))
    except RequestError as exc:
        return error_result(exc.message, exc.field)
    except MemoryError:  # the WebAssembly heap cannot grow further: the worker starts afresh
        return error_result("There was not enough memory for this request.", "memory")
    except Exception as exc:  # a bug, not bad input: say so rather than kill the worker
        result = error_result(f"Internal error in attnviz: {type(exc).__name__}: {exc}")
        result["traceback"] = traceback.format_exc()
        return result


def packed(result: dict) -> tuple[str, list[np.ndarray]]:
    """A result as the worker sends it: (JSON, the arrays the JSON refers to)."""
    arrays: list[np.ndarray] = []
    meta = split_arrays(result, arrays)
    return json.dumps(meta, ensure_ascii=False, allow_nan=False), arrays


def handle(request_json: str, on_step: Callable[[str, list[np.ndarray]], None] | None = None
           ) -> tuple[str, list[np.ndarray]]:
    """Run one request for the worker: (result JSON, the arrays it refers to). on_step(JSON,
    arrays) receives the result so far between the steps of a model that writes step by step."""
    step = (lambda partial: on_step(*packed(partial))) if on_step is not None else None
    return packed(_answer(lambda request: api.run(request, on_step=step), request_json))


def files_needed(request_json: str) -> str:
    """JSON {ok, files: [{file, bytes, sha256}]}: the model files a request needs beyond its
    bundle's base files (the worker fetches them, then calls handle), or an error result."""
    return json.dumps(_answer(api.files_needed, request_json), ensure_ascii=False)


def unload(name: str) -> None:
    """Free a model for the worker: its weights, remembered tokens and last forward pass."""
    models.unload(name)
    api.forget(name)
    gc.collect()
