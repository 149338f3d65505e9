"""Requests whose full results must agree between CPython and Pyodide (to within 1e-6)."""
from __future__ import annotations

import json

import numpy as np

from attnviz import api

GOLDEN_REQUESTS: list[dict] = [
    {"text": "The cat sat on the mat because it was tired."},
    {"text": "Attention is all you need", "heads": 16, "causal": True, "temperature": 0.5},
    {"text": "Café, naïve façade — 東京 🚀!", "heads": 3, "seed": 7, "temperature": 2.0},
    {"text": "The animal didn't cross the street", "intermediates": True, "head": 1, "causal": True, "pad_to": 10},
    {"text": "le chat noir", "mode": "cross", "source": "the black cat sleeps", "heads": 5, "intermediates": True,
     "head": 4},
]


def as_plain(value):
    """Arrays to nested lists (with inf kept as a string) so JSON can carry every number."""
    if isinstance(value, np.ndarray):
        return np.where(np.isfinite(value), value, 0).astype(float).tolist()
    if isinstance(value, dict):
        return {k: as_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [as_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def computed(request: dict) -> dict:
    """The result without its timings: how long it took is the one thing allowed to differ."""
    result = api.run(dict(request))
    result.pop("timings", None)
    return result


def run_all() -> str:
    return json.dumps([as_plain(computed(r)) for r in GOLDEN_REQUESTS])
