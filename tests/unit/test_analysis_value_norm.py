"""Value-weighted attention ‖α_ij · v_j W_O^h‖ against explicit sums over the dimensions."""
from __future__ import annotations

import math

import numpy as np
import pytest

from attnviz import api
from attnviz.analysis.value_norm import value_norms
from attnviz.architectures import synthetic as net
from attnviz.architectures.taps import Taps, heads_of_in_out, heads_of_out_in

SENTENCE = "The cat sat on the mat because it was tired."


def explicit(alpha: float, v: np.ndarray, w_o_head: np.ndarray) -> float:
    """‖α · v W_O^h‖ by sums: moved_m = Σ_d α v_d W[d, m], then the root of Σ_m moved_m²."""
    d_head, d_model = w_o_head.shape
    moved = [sum(alpha * float(v[d]) * float(w_o_head[d, m]) for d in range(d_head)) for m in range(d_model)]
    return math.sqrt(sum(x * x for x in moved))


def test_value_norms_equal_the_sums():
    rng = np.random.default_rng(0)
    layers, heads, q, k, d_head, d_model = 2, 3, 4, 5, 6, 7
    a = rng.random((layers, heads, q, k)).astype(np.float32)
    values = [rng.standard_normal((heads, k, d_head)).astype(np.float32) for _ in range(layers)]
    w_o = [rng.standard_normal((heads, d_head, d_model)).astype(np.float32) for _ in range(layers)]
    out = value_norms(a, values, w_o)
    assert out.shape == (layers, heads, q, k) and out.dtype == np.float32
    for l in range(layers):
        for h in range(heads):
            for i in range(q):
                for j in range(k):
                    assert out[l, h, i, j] == pytest.approx(explicit(a[l, h, i, j], values[l][h, j], w_o[l][h]), rel=1e-5)


def test_per_head_slices_of_w_o_are_the_columns_each_head_writes_through():
    rng = np.random.default_rng(1)
    heads, d_head, d_model = 3, 4, 5
    concat = rng.standard_normal((2, heads * d_head))
    w_in_out = rng.standard_normal((heads * d_head, d_model))  # concat @ w
    per_head = heads_of_in_out(w_in_out, heads)
    parts = sum(concat[:, h * d_head:(h + 1) * d_head] @ per_head[h] for h in range(heads))
    np.testing.assert_allclose(parts, concat @ w_in_out)
    w_out_in = np.ascontiguousarray(w_in_out.T)  # weight files: (out, in)
    np.testing.assert_allclose(heads_of_out_in(w_out_in, heads), per_head)


def test_synthetic_value_norms_use_its_own_values_and_output_projection():
    r = api.run({"text": SENTENCE, "heads": 3, "analysis": "value_norm"})
    assert r["ok"], r
    layer = net.build_layer(3, 0)
    x = net.embed(r["tokens"]["text"], 0)
    a = r["attention"]["self"]["weights"]
    for h in range(3):
        cols = slice(h * net.D_HEAD, (h + 1) * net.D_HEAD)
        v = x @ layer.w_v[:, cols]  # (k, d_head)
        for i, j in ((0, 0), (3, 1), (10, 9)):
            want = explicit(float(a[0, h, i, j]), v[j], layer.w_o[cols])
            assert r["value_norm"][0, h, i, j] == pytest.approx(want, rel=1e-4)


def test_taps_that_record_change_nothing():
    plain = api.run({"text": SENTENCE, "model": "synthetic"})
    from attnviz.models import synthetic
    taps = Taps(record=True)
    raw = synthetic.forward(None, plain["request"], {"text": plain["tokens"]["text"]}, None, taps=taps)
    np.testing.assert_array_equal(raw["attention"]["self"]["weights"], plain["attention"]["self"]["weights"])
    assert taps.values[("self", 0)].shape == (8, 11, net.D_HEAD) and taps.w_o[("self", 0)].shape == (8, net.D_HEAD, 64)


@pytest.mark.cpython_only
@pytest.mark.parametrize("model, stack, shape", [("minilm", "self", (6, 12, 13, 13)), ("smollm2", "self", (30, 9, 11, 11)),
                                                 ("marian-en-pt", "encoder", (6, 8, 12, 12))])
def test_real_models_value_norms(model, stack, shape):
    r = api.run({"text": SENTENCE, "model": model, "stack": stack, "analysis": "value_norm"})
    assert r["ok"], r
    v = r["value_norm"]
    assert v.shape == shape and np.all(np.isfinite(v)) and np.all(v >= 0)
    a = r["attention"][stack]["weights"]
    assert np.array_equal(v == 0, a == 0)  # zero exactly where the attention is (a causal mask)
    seen = a > 1e-4  # where v / α is well defined in float32
    ratio = np.where(seen, v / np.where(seen, a, 1), 0)  # ‖v_j W_O^h‖: the same for every query
    size = ratio.max(axis=2, keepdims=True)
    np.testing.assert_allclose(np.where(seen, ratio, size), np.broadcast_to(size, ratio.shape), rtol=2e-3)


@pytest.mark.cpython_only
def test_value_norm_asks_for_hide_instead_of_a_token_view():
    r = api.run({"text": SENTENCE, "model": "minilm", "hide_special": True, "analysis": "value_norm"})
    assert not r["ok"] and r["error"]["field"] == "hide_special" and "'hide'" in r["error"]["message"]
