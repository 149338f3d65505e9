"""JSON from a model's files (a bundle manifest, a safetensors header, a config), parsed only when
its nesting is shallow. The json module recurses once per level: CPython stops at its recursion
limit, but in Pyodide a few thousand levels overflow WebAssembly's stack first, a fatal error that
kills the worker. Real files nest a handful of levels."""
from __future__ import annotations

import json
import re

import numpy as np

MAX_DEPTH = 32
STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)  # a JSON string, escapes included
NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")


def depth(data: bytes) -> int:
    """How deeply arrays and objects nest in a JSON text (brackets inside strings do not count)."""
    brackets = np.frombuffer(STRING.sub(b"", data).translate(None, NOT_BRACKET), dtype=np.uint8)
    if not len(brackets):
        return 0
    steps = np.where((brackets == ord("[")) | (brackets == ord("{")), 1, -1)
    return int(np.cumsum(steps).max())


def loads(data: bytes | str, max_depth: int = MAX_DEPTH):
    """json.loads, refusing (ValueError) a text nested deeper than max_depth before parsing it."""
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    if depth(raw) > max_depth:
        raise ValueError(f"JSON nested more than {max_depth} levels deep")
    return json.loads(raw)
