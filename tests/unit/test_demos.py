"""attnviz.demos: the softmax playground and the sqrt(d_k) variance demo."""
from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from attnviz import demos

scores_st = st.lists(st.floats(-50, 50, allow_nan=False), min_size=1, max_size=12)


@settings(max_examples=60, deadline=None)
@given(scores=scores_st, temperature=st.floats(0.05, 10))
def test_softmax_weights_sum_to_one_and_keep_the_order(scores, temperature):
    r = demos.run({"kind": "softmax", "scores": scores, "temperature": temperature})
    assert r["ok"], r
    w = np.array(r["weights"])
    assert abs(w.sum() - 1) < 1e-9 and (w >= 0).all()
    # a larger score never gets a smaller weight
    order = np.argsort(scores, kind="stable")
    assert (np.diff(w[order]) >= -1e-12).all()
    assert 0 <= r["entropy_bits"] <= r["max_entropy_bits"] + 1e-9


def test_softmax_steps_match_a_hand_computation():
    r = demos.run({"kind": "softmax", "scores": [2.0, 1.0, 0.1], "temperature": 1.0})
    e = [math.exp(2.0), math.exp(1.0), math.exp(0.1)]
    expected = [x / sum(e) for x in e]
    np.testing.assert_allclose(r["weights"], expected, rtol=1e-12)
    np.testing.assert_allclose(r["exp"], [x / e[0] for x in e], rtol=1e-12)  # shifted by the max
    assert r["tempered"] == [2.0, 1.0, 0.1]


def test_temperature_sharpens_and_flattens():
    cold = demos.run({"kind": "softmax", "scores": [1.0, 0.5, 0.0], "temperature": 0.05})["weights"]
    hot = demos.run({"kind": "softmax", "scores": [1.0, 0.5, 0.0], "temperature": 10})["weights"]
    assert cold[0] > 0.99
    assert max(hot) - min(hot) < 0.06


def test_variance_grows_with_d_and_scaling_fixes_it():
    r = demos.run({"kind": "variance", "dims": [4, 64, 256], "samples": 4000, "seed": 1})
    for row in r["rows"]:
        assert abs(row["var_raw"] / row["d"] - 1) < 0.15, row["d"]
        assert abs(row["var_scaled"] - 1) < 0.15, row["d"]
        assert sum(row["hist_raw"]) == 4000
    big = r["rows"][-1]
    assert big["max_weight_raw"] > 0.9 > big["max_weight_scaled"]


def test_variance_is_deterministic_for_a_seed():
    req = {"kind": "variance", "dims": [16], "samples": 100, "seed": 3}
    assert demos.run(dict(req)) == demos.run(dict(req))


def test_bad_demo_requests_get_messages():
    cases = [
        ({"kind": "nope"}, "kind", "Unknown demo"),
        ({"kind": "softmax", "scores": []}, "scores", "non-empty list"),
        ({"kind": "softmax", "scores": [1, "2"]}, "scores", "numbers"),
        ({"kind": "softmax", "scores": [1, True]}, "scores", "numbers"),
        ({"kind": "softmax", "scores": [1] * 13}, "scores", "at most 12"),
        ({"kind": "softmax", "scores": [1], "temperature": 0}, "temperature", "between"),
        ({"kind": "softmax", "scores": [1], "extra": 1}, "extra", "Unknown field"),
        ({"kind": "variance", "dims": [0]}, "dims", "whole numbers"),
        ({"kind": "variance", "dims": [8], "samples": 10**9}, "samples", "between"),
    ]
    for request, field, words in cases:
        r = demos.run(request)
        assert r["ok"] is False and r["error"]["field"] == field and words in r["error"]["message"], (request, r)
