"""Attention rollout against plain Python loops, on random attention and through the API."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attnviz import api
from attnviz.analysis.rollout import rollout


def random_attention(seed: int, layers: int, heads: int, n: int, causal: bool = False) -> np.ndarray:
    rng = np.random.default_rng(seed)
    scores = rng.standard_normal((layers, heads, n, n)) * 2
    if causal:
        scores = np.where(np.tril(np.ones((n, n), bool)), scores, -np.inf)
    e = np.exp(scores - scores.max(-1, keepdims=True))
    return (e / e.sum(-1, keepdims=True)).astype(np.float32)


def loops_rollout(a: np.ndarray, head: int | None = None) -> list:
    """R_l = (0.5·A_l + 0.5·I)·R_(l-1), rows renormalised, with A_l the head mean (or one head
    at the last step), by explicit sums."""
    layers, heads, n, _ = a.shape
    below = [[1.0 if i == j else 0.0 for j in range(n)] for i in range(n)]
    out = []
    for layer in range(layers):
        def mixed(h_list):
            m = [[0.5 * sum(float(a[layer, h, i, j]) for h in h_list) / len(h_list) + (0.5 if i == j else 0.0)
                  for j in range(n)] for i in range(n)]
            return [[x / sum(row) for x in row] for row in m]
        product = lambda m: [[sum(m[i][t] * below[t][j] for t in range(n)) for j in range(n)] for i in range(n)]
        if head is not None:
            out.append(product(mixed([head])))
        below = product(mixed(list(range(heads))))
        if head is None:
            out.append(below)
    return out


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**31), st.integers(1, 4), st.integers(1, 3), st.integers(1, 6), st.booleans())
def test_rollout_equals_the_loops(seed, layers, heads, n, causal):
    a = random_attention(seed, layers, heads, n, causal)
    r = rollout(a)
    assert r.shape == (layers, n, n) and r.dtype == np.float32
    np.testing.assert_allclose(r, np.array(loops_rollout(a)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(r.sum(-1), 1, atol=1e-5)  # rows stay distributions
    each = rollout(a, each_head=True)
    assert each.shape == (layers, heads, n, n)
    for h in range(heads):
        np.testing.assert_allclose(each[:, h], np.array(loops_rollout(a, head=h)), rtol=1e-5, atol=1e-6)
    if causal:  # nothing reaches a token from a later one
        assert not np.triu(r, 1).any()


def test_a_fully_masked_row_keeps_its_token():
    a = np.zeros((1, 1, 3, 3), np.float32)
    a[0, 0, 0, 0] = a[0, 0, 2, 1] = 1  # row 1 has nothing to attend to
    r = rollout(a)[0]
    np.testing.assert_allclose(r[1], [0, 1, 0])
    np.testing.assert_allclose(r[2], [0, 0.5, 0.5])


def test_rollout_through_the_api_is_that_of_the_attention_shown():
    r = api.run({"text": "The cat sat on the mat.", "analysis": "rollout", "heads": 4})
    assert r["ok"], r
    np.testing.assert_allclose(r["rollout"], rollout(r["attention"]["self"]["weights"]), atol=1e-6)
    each = api.run({"text": "The cat sat on the mat.", "analysis": "rollout", "heads": 4, "rollout_heads": "each"})
    assert each["rollout"].shape == (1, 4, 7, 7) and each["timings"]["analysis_ms"] >= 0


def test_rollout_of_a_cross_stack_is_a_clear_error():
    r = api.run({"text": "a b", "source": "c d e", "mode": "cross", "analysis": "rollout"})
    assert not r["ok"] and r["error"]["field"] == "stack" and "self-attention" in r["error"]["message"]


@pytest.mark.cpython_only
def test_minilm_rollout_hides_tokens_as_the_attention():
    r = api.run({"text": "The cat sat on the mat.", "model": "minilm", "analysis": "rollout", "hide": [0]})
    assert r["ok"], r
    assert r["rollout"].shape == (6, 9, 9)
    assert not r["rollout"][:, 0].any() and not r["rollout"][:, :, 0].any()
    np.testing.assert_allclose(r["rollout"][:, 1:].sum(-1), 1, atol=1e-5)
