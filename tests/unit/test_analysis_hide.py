"""Hiding any tokens: hidden rows and columns become 0, every other row sums to 1 again, and what
was 0 (a causal mask) stays 0; for every model."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attnviz import api
from attnviz.views import hide_positions

SENTENCE = "The cat sat on the mat because it was tired."


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**31), st.integers(2, 7), st.data())
def test_hidden_rows_and_columns_are_zero_and_rows_sum_to_one(seed, n, data):
    rng = np.random.default_rng(seed)
    a = rng.random((2, n, n)) * np.tril(np.ones((n, n)))  # causal: zeros above the diagonal
    a /= a.sum(-1, keepdims=True)
    hidden = sorted(data.draw(st.sets(st.integers(0, n - 1), max_size=n - 1)))
    out = hide_positions(a, hidden, hidden)
    assert out.shape == a.shape and out.dtype == np.float32
    assert not out[..., hidden].any() and not out[..., hidden, :].any()
    assert not np.triu(out, 1).any()  # masked entries stay 0
    kept = [i for i in range(n) if i not in hidden]
    for i in kept:
        row = a[:, i, [j for j in kept]]
        live = row.sum(-1) > 0
        np.testing.assert_allclose(out[:, i].sum(-1), live.astype(float), atol=1e-6)
        for b in np.flatnonzero(live):  # the kept keys keep their proportions
            np.testing.assert_allclose(out[b, i, kept], row[b] / row[b].sum(), rtol=1e-5, atol=1e-7)


def test_synthetic_causal_hide_through_the_api():
    r = api.run({"text": SENTENCE, "causal": True, "hide": [0, 4]})
    assert r["ok"], r
    w = r["attention"]["self"]["weights"]
    assert w.shape == (1, 8, 11, 11) and not w[..., [0, 4]].any() and not w[..., [0, 4], :].any()
    assert not np.triu(w, 1).any()
    sums = w.sum(-1)[0]  # (heads, q)
    np.testing.assert_allclose(np.delete(sums, [0, 4], axis=1), 1, atol=1e-5)
    assert [t.get("hidden", False) for t in r["tokens"]["text"]][:5] == [True, False, False, False, True]
    assert any("hidden" in note for note in r["notes"])


def test_a_hidden_position_past_the_text_is_a_clear_error():
    r = api.run({"text": "a b c", "hide": [3]})
    assert not r["ok"] and r["error"]["field"] == "hide" and "3 tokens" in r["error"]["message"]
    r = api.run({"text": "a b c", "hide": ["x"]})
    assert not r["ok"] and r["error"]["field"] == "hide"


def test_cross_attention_hides_source_columns():
    r = api.run({"text": "a b", "source": "c d e", "mode": "cross", "hide": [1]})
    w = r["attention"]["cross"]["weights"]
    assert not w[..., 1].any() and np.allclose(w.sum(-1), 1, atol=1e-5)
    assert r["tokens"]["source"][1]["hidden"] and "hidden" not in r["tokens"]["text"][1]


@pytest.mark.cpython_only
@pytest.mark.parametrize("model, stack", [("minilm", "self"), ("smollm2", "self"), ("marian-en-pt", "encoder"),
                                          ("marian-en-pt", "cross")])
def test_real_models_hide_any_token(model, stack):
    r = api.run({"text": SENTENCE, "model": model, "stack": stack, "hide": [0, 2]})
    assert r["ok"], r
    side = r["attention"][stack]["key"]
    assert [i for i, t in enumerate(r["tokens"][side]) if t.get("hidden")] == [0, 2]
    for name, s in r["attention"].items():
        w = s["weights"]
        if s["key"] == side:
            assert not w[..., [0, 2]].any()
        if s["query"] == side:
            assert not w[..., [0, 2], :].any()
        live = w.sum(-1)
        assert np.all((np.abs(live - 1) < 1e-4) | (live == 0))
    if model == "smollm2":
        assert not np.triu(r["attention"]["self"]["weights"], 1).any()
