"""attnviz.attention against a naive triple-loop reference, and its mathematical properties."""
from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from attnviz.attention import (attention_weights, causal_mask, merge_heads, multi_head, padding_mask,
                               scaled_dot_product, softmax, split_heads)


def naive_attention(q, k, v, mask, temperature):
    """Loops only: the textbook definition, written to be obviously right."""
    n_q, n_k, d_k, d_v = len(q), len(k), len(q[0]), len(v[0])
    weights = [[0.0] * n_k for _ in range(n_q)]
    out = [[0.0] * d_v for _ in range(n_q)]
    for i in range(n_q):
        scores = []
        for j in range(n_k):
            dot = sum(q[i][t] * k[j][t] for t in range(d_k))
            scores.append(dot / math.sqrt(d_k) / temperature if mask[i][j] else None)
        live = [s for s in scores if s is not None]
        if not live:
            continue
        top = max(live)
        exps = [math.exp(s - top) if s is not None else 0.0 for s in scores]
        total = sum(exps)
        for j in range(n_k):
            weights[i][j] = exps[j] / total
            for t in range(d_v):
                out[i][t] += weights[i][j] * v[j][t]
    return np.array(weights), np.array(out)


def random_case(seed, n_q=5, n_k=7, d_k=4, d_v=3):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n_q, d_k)) * 2, rng.standard_normal((n_k, d_k)) * 2,
            rng.standard_normal((n_k, d_v)), rng.random((n_q, n_k)) > 0.3)


def test_matches_naive_loops_on_random_inputs():
    for seed in range(20):
        q, k, v, mask = random_case(seed, n_q=3 + seed % 5, n_k=2 + seed % 7)
        temperature = 0.3 + seed / 10
        steps = scaled_dot_product(q, k, v, mask, temperature)
        ref_w, ref_out = naive_attention(q.tolist(), k.tolist(), v.tolist(), mask.tolist(), temperature)
        np.testing.assert_allclose(steps.weights, ref_w, atol=1e-12)
        np.testing.assert_allclose(steps.output, ref_out, atol=1e-12)


def test_intermediates_are_the_named_steps():
    q, k, v, mask = random_case(1)
    s = scaled_dot_product(q, k, v, mask, temperature=2.0)
    np.testing.assert_allclose(s.scores, q @ k.T)
    np.testing.assert_allclose(s.scaled, s.scores / 2.0)  # d_k = 4
    np.testing.assert_allclose(s.tempered, s.scaled / 2.0)
    assert np.all(s.masked[~mask] == -np.inf) and np.all(s.masked[mask] == s.tempered[mask])
    np.testing.assert_allclose(s.output, s.weights @ v)


def test_softmax_is_stable_for_huge_scores_and_fully_masked_rows():
    x = np.array([[1000.0, 1001.0, -1000.0], [-np.inf, -np.inf, -np.inf], [5.0, -np.inf, 5.0]])
    w = softmax(x)
    assert np.all(np.isfinite(w))
    np.testing.assert_allclose(w[0], [1 / (1 + math.e), math.e / (1 + math.e), 0], atol=1e-12)
    assert np.all(w[1] == 0)  # nothing to attend to: zeros, not NaN
    np.testing.assert_allclose(w[2], [0.5, 0, 0.5])


@settings(max_examples=60, deadline=None)
@given(n_q=st.integers(1, 9), n_k=st.integers(1, 9), d=st.integers(1, 6), seed=st.integers(0, 10_000),
       temperature=st.floats(0.05, 10), causal=st.booleans())
def test_rows_sum_to_one_and_masked_entries_are_exactly_zero(n_q, n_k, d, seed, temperature, causal):
    q, k, v, mask = random_case(seed, n_q, n_k, d, 2)
    if causal:
        mask = causal_mask(n_q, n_k)
    w = scaled_dot_product(q, k, v, mask, temperature).weights
    assert np.all(w[~mask] == 0.0)
    live = mask.any(axis=1)
    np.testing.assert_allclose(w[live].sum(axis=1), 1.0, atol=1e-9)
    assert np.all(w[~live] == 0.0)


def test_low_temperature_approaches_one_hot_and_high_approaches_uniform():
    q, k, v, _ = random_case(3)
    cold = scaled_dot_product(q, k, v, temperature=1e-4).weights
    hot = scaled_dot_product(q, k, v, temperature=1e6).weights
    argmax = (q @ k.T).argmax(axis=1)
    np.testing.assert_allclose(cold, np.eye(k.shape[0])[argmax], atol=1e-6)
    np.testing.assert_allclose(hot, 1 / k.shape[0], atol=1e-5)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(2, 9), seed=st.integers(0, 10_000))
def test_self_attention_without_positions_is_permutation_equivariant(n, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 6))  # (n, d_model), no position information
    wq, wk, wv, wo = (rng.standard_normal((6, 6)) for _ in range(4))
    perm = rng.permutation(n)
    a = multi_head(x, x, wq, wk, wv, wo, n_heads=2)
    b = multi_head(x[perm], x[perm], wq, wk, wv, wo, n_heads=2)
    np.testing.assert_allclose(b.output, a.output[perm], atol=1e-9)
    np.testing.assert_allclose(b.weights, a.weights[:, perm][:, :, perm], atol=1e-9)


def test_cross_attention_shapes_are_queries_by_keys():
    rng = np.random.default_rng(0)
    x_dec, x_enc = rng.standard_normal((3, 8)), rng.standard_normal((5, 8))  # (q, d), (k, d)
    w = [rng.standard_normal((8, 8)) for _ in range(4)]
    r = multi_head(x_dec, x_enc, *w, n_heads=4)
    assert r.weights.shape == (4, 3, 5) and r.concat.shape == (3, 8) and r.output.shape == (3, 8)


def test_multi_head_equals_each_head_alone_then_concatenated():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 6))
    wq, wk, wv, wo = (rng.standard_normal((6, 6)) for _ in range(4))
    r = multi_head(x, x, wq, wk, wv, wo, n_heads=3, temperature=0.7)
    outputs = []
    for h in range(3):
        cols = slice(2 * h, 2 * h + 2)
        s = scaled_dot_product(x @ wq[:, cols], x @ wk[:, cols], x @ wv[:, cols], temperature=0.7)
        np.testing.assert_allclose(r.weights[h], s.weights, atol=1e-12)
        outputs.append(s.output)
    np.testing.assert_allclose(r.output, np.concatenate(outputs, axis=1) @ wo, atol=1e-12)


def test_split_and_merge_heads_are_inverse():
    x = np.arange(24.0).reshape(4, 6)
    assert split_heads(x, 3).shape == (3, 4, 2)
    np.testing.assert_array_equal(merge_heads(split_heads(x, 3)), x)


def test_masks():
    np.testing.assert_array_equal(causal_mask(3, 3), [[1, 0, 0], [1, 1, 0], [1, 1, 1]])
    np.testing.assert_array_equal(padding_mask(2, np.array([1, 1, 0])), [[1, 1, 0], [1, 1, 0]])
    w = attention_weights(np.ones((1, 2, 3)), np.ones((1, 3, 3)), padding_mask(2, np.array([1, 1, 0])))
    np.testing.assert_allclose(w[0], [[0.5, 0.5, 0], [0.5, 0.5, 0]])
