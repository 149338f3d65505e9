"""Requests whose full results must agree between CPython and Pyodide: to within 1e-6 for the
synthetic model, 1e-5 for MiniLM (relative for numbers above 1; see TOLERANCE). Both runtimes read MiniLM from the same browser
bundle (build/models/minilm, float16 weights): Pyodide at /models/minilm, where the worker writes
it (attnviz.models.minilm.default_source), CPython through weights_dir."""
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
    {"text": "The doctor asked the nurse a question because she was unsure.", "model": "minilm",
     "intermediates": True, "layer": 2, "head": 7},
    {"text": "Unbelievable tokenization, Café 東京!", "model": "minilm", "hide_special": True,
     "merge_subwords": True, "intermediates": True, "layer": 5, "head": 0},
]

# Largest allowed difference per model: (absolute, relative), as in math.isclose. The synthetic
# model computes in float64 until its float32 weights: 1e-6, absolute. MiniLM's forward pass is
# float32 through six layers of 384-wide products, and CPython's numpy sums them with OpenBLAS while
# Pyodide's (no BLAS) sums in another order: the last bits differ. Measured: up to 2e-6 on every
# number of size about 1 (weights, q, k, v, hidden states) and 1.2e-5 on the raw scores Q Kᵀ
# (up to about 30, i.e. 5e-6 relative). So 1e-5, relative for numbers above 1.
TOLERANCE = {"synthetic": (1e-6, 0.0), "minilm": (1e-5, 1e-5)}


def tolerance(request: dict) -> tuple[float, float]:
    return TOLERANCE[request.get("model", "synthetic")]


def as_plain(value):
    """Arrays to nested lists (non-finite entries as 0) so JSON can carry every number."""
    if isinstance(value, np.ndarray):
        return np.where(np.isfinite(value), value, 0).astype(float).tolist()
    if isinstance(value, dict):
        return {k: as_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [as_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def computed(request: dict, weights_dir: str | None = None) -> dict:
    """The result without its timings: how long it took is the one thing allowed to differ."""
    result = api.run(dict(request), weights_dir=weights_dir if request.get("model") == "minilm" else None)
    result.pop("timings", None)
    return result


def run_all(minilm_dir: str | None = None) -> str:
    """minilm_dir: the MiniLM bundle (None: the default place, /models/minilm inside Pyodide)."""
    return json.dumps([as_plain(computed(r, minilm_dir)) for r in GOLDEN_REQUESTS])
