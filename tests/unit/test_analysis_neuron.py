"""The neuron view: its product sums to the head's score in the trace, the score scaled and
softmaxed over the row is the weight the heatmap shows, and a rotary model's q and k are the
unrotated ones turned by their positions."""
from __future__ import annotations

import math

import numpy as np
import pytest

from attnviz import api
from attnviz.attention import softmax
from attnviz.layers import apply_rope, rope_angles

SENTENCE = "The cat sat on the mat because it was tired."


def check(request: dict) -> dict:
    r = api.run({**request, "analysis": "neuron"})
    assert r["ok"], r
    traced = api.run({**request, "intermediates": True})
    n, t = r["neuron"], traced["trace"]
    i, j = n["query"], n["key"]
    d = n["q"].shape[0]
    assert n["q"].shape == n["k"].shape == n["product"].shape == (d,)
    np.testing.assert_allclose(n["q"], t["q"][i], rtol=1e-6)
    np.testing.assert_allclose(n["k"], t["k"][j], rtol=1e-6)
    assert n["product"].tolist() == pytest.approx([float(a) * float(b) for a, b in zip(n["q"], n["k"])], rel=1e-6)
    assert n["score"] == pytest.approx(sum(float(a) * float(b) for a, b in zip(n["q"], n["k"])), rel=1e-9)
    assert n["score"] == pytest.approx(float(t["scores"][i, j]), rel=1e-4, abs=1e-4)  # the head's score
    assert n["scaled"] == pytest.approx(n["score"] / math.sqrt(d))
    # the row of scaled scores, masked and softmaxed, gives the weight the heatmap shows
    row = np.array([float(np.dot(t["q"][i].astype(np.float64), t["k"][c])) for c in range(t["k"].shape[0])])
    row = np.where(t["mask"][i] > 0, row / math.sqrt(d) / n["temperature"], -np.inf)
    weights = r["attention"][r["request"]["stack"]]["weights"][r["request"]["layer"], r["request"]["head"]]
    assert softmax(row)[j] == pytest.approx(float(weights[i, j]), rel=1e-4, abs=1e-6) == n["weight"]
    return n


def test_synthetic_neuron_view():
    n = check({"text": SENTENCE, "head": 3, "query": 5, "key": 2, "temperature": 0.5})
    assert n["rotary"] is False and n["tokens"] == {"query": "mat", "key": "sat"} and n["temperature"] == 0.5


def test_positions_past_the_text_are_clear_errors():
    r = api.run({"text": "a b c", "analysis": "neuron", "query": 3})
    assert not r["ok"] and r["error"]["field"] == "query" and "3 query tokens" in r["error"]["message"]
    r = api.run({"text": "a b c", "source": "d e", "mode": "cross", "analysis": "neuron", "key": 2})
    assert not r["ok"] and r["error"]["field"] == "key"


@pytest.mark.cpython_only
def test_minilm_neuron_view():
    check({"text": SENTENCE, "model": "minilm", "layer": 2, "head": 5, "query": 4, "key": 7})


@pytest.mark.cpython_only
def test_marian_neuron_view_of_both_stacks():
    check({"text": SENTENCE, "model": "marian-en-pt", "stack": "encoder", "layer": 5, "head": 1, "query": 2, "key": 9})
    check({"text": SENTENCE, "model": "marian-en-pt", "stack": "cross", "layer": 1, "head": 0, "query": 1, "key": 1})


@pytest.mark.cpython_only
def test_smollm2_neuron_view_is_after_rotation():
    n = check({"text": SENTENCE, "model": "smollm2", "layer": 4, "head": 7, "query": 8, "key": 3})
    assert n["rotary"] and n["q_unrotated"].shape == n["k_unrotated"].shape == (64,) and "rotat" in n["about"]
    cos, sin = rope_angles(9, 64, 100000.0)  # SmolLM2's rotary base
    np.testing.assert_allclose(apply_rope(n["q_unrotated"][None, None], cos[8:9], sin[8:9])[0, 0], n["q"], atol=1e-4)
    np.testing.assert_allclose(apply_rope(n["k_unrotated"][None, None], cos[3:4], sin[3:4])[0, 0], n["k"], atol=1e-4)
    # the unrotated vectors' product is not the score: the rotation matters
    assert abs(float(np.dot(n["q_unrotated"], n["k_unrotated"])) - n["score"]) > 1e-2
    masked = api.run({"text": SENTENCE, "model": "smollm2", "analysis": "neuron", "query": 2, "key": 5})["neuron"]
    assert masked["masked"] and masked["weight"] == 0
