"""attnviz.bridge: the worker's JSON + float32 buffer protocol."""
from __future__ import annotations

import json

import numpy as np

from attnviz import bridge


def test_arrays_become_references_and_float32_buffers():
    meta_json, arrays = bridge.handle(json.dumps({"text": "one two three"}))
    meta = json.loads(meta_json)
    assert meta["ok"] is True
    assert meta["schema"] == 2
    ref = meta["attention"]["self"]["weights"]
    assert set(ref) == {"$array", "shape"}
    weights = arrays[ref["$array"]]
    assert weights.dtype == np.float32 and weights.flags.c_contiguous
    assert list(weights.shape) == ref["shape"] and weights.shape[-2:] == (3, 3)
    np.testing.assert_allclose(weights.sum(-1), 1, atol=1e-5)


def test_bad_json_and_non_objects_are_clear_errors():
    for raw, expected in [("{not json", "not valid JSON"), ("[1, 2]", "JSON object")]:
        meta = json.loads(bridge.handle(raw)[0])
        assert meta["ok"] is False and expected in meta["error"]["message"]
        assert meta == {"schema": 2, "ok": False, "error": {"field": None, "message": meta["error"]["message"]}}


def test_non_finite_scalars_are_json_safe():
    arrays: list = []
    out = bridge.split_arrays({"a": float("inf"), "b": np.float32(2.5), "c": [np.zeros(2)]}, arrays)
    assert out == {"a": None, "b": 2.5, "c": [{"$array": 0, "shape": [2]}]}
    json.dumps(out, allow_nan=False)
