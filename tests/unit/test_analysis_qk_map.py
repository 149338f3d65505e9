"""The query–key map: PCA by SVD against the covariance's eigenvectors, and the map of every model
built from the head's own queries and keys."""
from __future__ import annotations

import numpy as np
import pytest

from attnviz import api
from attnviz.analysis.qk_map import project, strongest


def test_projection_is_the_top_two_principal_axes():
    rng = np.random.default_rng(0)
    points = rng.standard_normal((40, 6)) @ np.diag([5, 3, 1, 0.5, 0.2, 0.1]) + 7
    coords, explained = project(points)
    centred = points - points.mean(0)
    values, vectors = np.linalg.eigh(centred.T @ centred)  # ascending
    top = vectors[:, ::-1][:, :2]
    for axis in range(2):  # the same axes, up to sign
        ref = centred @ top[:, axis]
        assert min(np.abs(coords[:, axis] - ref).max(), np.abs(coords[:, axis] + ref).max()) < 1e-4
    np.testing.assert_allclose(explained, values[::-1][:2] / values.sum(), rtol=1e-6)
    assert project(np.ones((3, 4)))[1] == [0.0, 0.0]


def test_strongest_pairs():
    p = np.array([[0.1, 0.9], [0.6, 0.4]])
    assert strongest(p, 2) == [(0, 1, pytest.approx(0.9)), (1, 0, pytest.approx(0.6))]


def test_synthetic_map_of_the_text_and_sentences():
    r = api.run({"text": "The cat sat.", "analysis": "qk_map", "head": 2, "sentences": ["A dog ran.", "Birds sing"]})
    assert r["ok"], r
    m = r["qk_map"]
    assert m["sentences"] == ["The cat sat.", "A dog ran.", "Birds sing"]
    assert len(m["tokens"]) == 4 + 4 + 2 and m["queries"].shape == m["keys"].shape == (10, 2)
    assert [t["sentence"] for t in m["tokens"]] == [0] * 4 + [1] * 4 + [2] * 2 and "key_tokens" not in m
    traced = api.run({"text": "A dog ran.", "intermediates": True, "head": 2})["trace"]
    best = strongest(traced["pattern"], 1)[0]
    assert [4 + best[0], 4 + best[1], pytest.approx(best[2])] in m["pairs"]
    assert 0 < sum(m["explained"]) <= 1
    bad = api.run({"text": "a", "analysis": "qk_map", "sentences": ["   "]})
    assert not bad["ok"] and bad["error"]["field"] == "sentences"


@pytest.mark.cpython_only
@pytest.mark.parametrize("model, stack", [("minilm", "self"), ("smollm2", "self"), ("marian-en-pt", "cross")])
def test_real_models_maps(model, stack):
    r = api.run({"text": "The cat sat.", "model": model, "stack": stack, "analysis": "qk_map", "layer": 1,
                 "sentences": ["A dog ran home."]})
    assert r["ok"], r
    m = r["qk_map"]
    assert m["queries"].shape[1] == m["keys"].shape[1] == 2 and np.all(np.isfinite(m["queries"]))
    assert len(m["tokens"]) == len(m["queries"])
    assert len(m.get("key_tokens", m["tokens"])) == len(m["keys"])
    if stack == "cross":
        assert {t["sentence"] for t in m["key_tokens"]} == {0, 1}
