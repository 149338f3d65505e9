"""Attention flow against a general maximum-flow solver (networkx, a test-only dependency: these
tests are skipped where it is missing, as inside Pyodide) on the same graph, its size limits, and
inside Pyodide the browser worker's kernel (offered there by tests/pyodide/run.mjs) against numpy's
solver."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attnviz import api
from attnviz.analysis import flow as flow_module
from attnviz.analysis.flow import KERNEL_MAX_WORK, MAX_WORK, attention_flow, kernel_work, max_flows_from, work
from attnviz.analysis.rollout import mixed, rollout


def reference_flow(attention: np.ndarray) -> np.ndarray:
    """Abnar & Zuidema's attention flow with networkx: the graph of 0.5·mean_h A + 0.5·I, a
    maximum flow per (token after layer l, input token), each row divided by its sum."""
    nx = pytest.importorskip("networkx")
    mix = mixed(attention.mean(axis=1))
    layers, n, _ = mix.shape
    graph = nx.DiGraph()
    for m in range(1, layers + 1):
        for k in range(n):
            for k2 in range(n):
                if mix[m - 1, k, k2] > 0:
                    graph.add_edge((m, k), (m - 1, k2), capacity=float(mix[m - 1, k, k2]))
    out = np.zeros((layers, n, n))
    for layer in range(layers):
        for i in range(n):
            for j in range(n):
                out[layer, i, j] = nx.maximum_flow_value(graph, (layer + 1, i), (0, j))
            out[layer, i] /= out[layer, i].sum()
    return out


def softmax_attention(seed: int, layers: int, heads: int, n: int, causal: bool, sharpness: float) -> np.ndarray:
    rng = np.random.default_rng(seed)
    scores = rng.standard_normal((layers, heads, n, n)) * sharpness
    if causal:
        scores = np.where(np.tril(np.ones((n, n), bool)), scores, -np.inf)
    e = np.exp(scores - scores.max(-1, keepdims=True))
    return (e / e.sum(-1, keepdims=True)).astype(np.float32)


@pytest.mark.cpython_only
@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**31), st.integers(1, 4), st.integers(1, 3), st.integers(1, 6), st.booleans(),
       st.sampled_from([0.5, 2.0, 6.0]))
def test_flow_equals_networkx_maximum_flow(seed, layers, heads, n, causal, sharpness):
    a = softmax_attention(seed, layers, heads, n, causal, sharpness)
    ours = attention_flow(a)
    assert ours.shape == (layers, n, n) and ours.dtype == np.float32
    np.testing.assert_allclose(ours, reference_flow(a), atol=2e-6)


@pytest.mark.cpython_only
@pytest.mark.parametrize("causal", [False, True])
def test_flow_of_a_larger_stack_equals_networkx(causal):
    # sources batched together and several sweeps per flow: sizes the small hypothesis cases miss
    a = softmax_attention(7, 5, 2, 12, causal, 3.0)
    np.testing.assert_allclose(attention_flow(a), reference_flow(a), atol=1e-5)


@pytest.mark.cpython_only
def test_flow_of_six_layers_of_sixteen_tokens_equals_networkx():
    # a MiniLM-sized stack: many relabels, returns along reverse edges and batches that shrink
    a = softmax_attention(11, 6, 4, 16, False, 2.0)
    np.testing.assert_allclose(attention_flow(a), reference_flow(a), atol=1e-5)


@pytest.mark.cpython_only
@pytest.mark.parametrize("cells", [1, 300])
def test_problems_on_their_own_tokens_in_small_batches_equal_networkx(monkeypatch, cells):
    # causal: each problem (i, j) keeps tokens j .. i, so sizes differ and batches are padded
    monkeypatch.setattr(flow_module, "BATCH_CELLS", cells)
    a = softmax_attention(5, 4, 2, 8, True, 2.0)
    np.testing.assert_allclose(attention_flow(a), reference_flow(a), atol=1e-5)


@pytest.mark.cpython_only
def test_flow_of_sparse_attention_with_exact_zeros():
    a = np.zeros((3, 1, 5, 5), np.float32)  # one-hot heads: previous token, first token, itself
    for i in range(5):
        a[0, 0, i, max(i - 1, 0)] = a[1, 0, i, 0] = a[2, 0, i, i] = 1
    np.testing.assert_allclose(attention_flow(a), reference_flow(a), atol=1e-7)


def test_one_layer_is_its_own_graph_and_flow_bounds():
    a = softmax_attention(1, 3, 2, 5, False, 2.0)
    f = attention_flow(a)
    np.testing.assert_allclose(f[0], mixed(a.mean(axis=1))[0], rtol=1e-6)  # from layer 1: one edge each
    np.testing.assert_allclose(f.sum(-1), 1, atol=1e-5)
    causal = attention_flow(softmax_attention(2, 3, 2, 5, True, 2.0))
    assert not np.triu(causal, 1).any()  # nothing flows to a later token
    assert rollout(a).shape == f.shape


def test_max_flows_of_a_tiny_graph_by_hand():
    # source -> (a: 0.6, b: 0.4); a -> x 0.5, b -> x 0.5, a -> y 0.1; x -> sink 0.7, y -> sink 1
    graph = [np.array([[[0.5, 0.1], [0.5, 0.0]]])]  # (1, 2, 2): node layer 0 {a, b} -> node layer 1 {x, y}
    sink_caps = np.array([[0.7, 1.0]])
    got = max_flows_from(graph, sink_caps, np.array([[0.6, 0.4]]))
    assert got[0] == pytest.approx(0.8)  # x passes 0.7 of a's 0.5 and b's 0.4; y takes a's 0.1


def test_flow_through_the_api_and_its_limit(monkeypatch):
    r = api.run({"text": "The cat sat on the mat.", "analysis": "flow", "heads": 3})
    assert r["ok"], r
    assert r["flow"].shape == (1, 7, 7)
    assert work(1, 500) == 0  # one layer: each flow is its one edge


def test_past_the_limit_a_clear_error(monkeypatch):
    monkeypatch.setattr(flow_module, "max_tokens", lambda layers: 6)  # whichever solver runs here
    r = api.run({"text": "The cat sat on the mat.", "analysis": "flow"})
    assert not r["ok"] and r["error"]["field"] == "analysis"
    assert "at most 6 tokens" in r["error"]["message"] and "has 7" in r["error"]["message"]


def test_the_limits_of_each_solver():
    # numpy's (CPython): 34 tokens for six layers, 23 for thirty; the browser's kernel: 50 and 40
    assert work(6, 34) <= MAX_WORK < work(6, 35) and work(30, 23) <= MAX_WORK < work(30, 24)
    assert kernel_work(6, 50) <= KERNEL_MAX_WORK < kernel_work(6, 51)
    assert kernel_work(30, 40) <= KERNEL_MAX_WORK < kernel_work(30, 41)
    assert [flow_module.max_tokens(layers, kernel=False) for layers in (6, 30)] == [34, 23]
    assert [flow_module.max_tokens(layers, kernel=True) for layers in (6, 30)] == [50, 40]
    assert flow_module.max_tokens(6) == (50 if flow_module.browser_kernel() else 34)  # the solver here


def browser_kernel_or_skip():
    if flow_module.browser_kernel() is None:
        pytest.skip("no browser kernel here (CPython, or a Pyodide that offers none)")


@pytest.mark.parametrize("causal", [False, True])
def test_the_browser_kernel_gives_numpys_flows(monkeypatch, causal):
    browser_kernel_or_skip()
    a = softmax_attention(3, 6, 3, 14, causal, 3.0)
    fast = attention_flow(a)
    monkeypatch.setattr(flow_module, "browser_kernel", lambda: None)  # numpy's solver
    np.testing.assert_allclose(fast, attention_flow(a), atol=1e-6)


def test_the_browser_kernel_on_batches_of_random_networks():
    browser_kernel_or_skip()
    rng = np.random.default_rng(5)
    for layers, n, batch in ((1, 3, 4), (2, 1, 3), (4, 5, 7), (7, 6, 5)):
        # sparse random capacities (a zero edge is no edge), some problems with nothing to send
        graph = [rng.random((batch, n, n)) * (rng.random((batch, n, n)) < 0.6) for _ in range(layers - 1)]
        sink_caps = rng.random((batch, n)) * (rng.random((batch, n)) < 0.7)
        supply = rng.random((batch, n)) * (rng.random((batch, 1)) < 0.8)
        np.testing.assert_allclose(flow_module._solve(graph, sink_caps, supply),
                                   max_flows_from(graph, sink_caps, supply), atol=1e-12)


@pytest.mark.cpython_only
def test_minilm_flow_of_a_short_sentence():
    r = api.run({"text": "The cat sat.", "model": "minilm", "analysis": "flow", "hide": [0]})
    assert r["ok"], r
    f = r["flow"]
    assert f.shape == (6, 6, 6) and not f[:, :, 0].any() and not f[:, 0].any()  # [CLS] The cat sat . [SEP]
    np.testing.assert_allclose(f[:, 1:].sum(-1), 1, atol=1e-5)
