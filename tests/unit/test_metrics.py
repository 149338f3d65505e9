"""attnviz.metrics on hand-made weights whose answers are known."""
from __future__ import annotations

import math

import numpy as np

from attnviz import metrics


def test_entropy_of_one_hot_and_uniform_rows():
    w = np.array([[1.0, 0, 0, 0], [0.25, 0.25, 0.25, 0.25], [0, 0, 0, 0]])
    np.testing.assert_allclose(metrics.row_entropy(w), [0, math.log(4), 0])


def test_top_pairs_skip_the_diagonal_unless_asked():
    w = np.array([[0.9, 0.1, 0.0], [0.6, 0.3, 0.1], [0.2, 0.7, 0.1]])
    assert metrics.top_pairs(w, 2) == [(2, 1, 0.7), (1, 0, 0.6)]
    assert metrics.top_pairs(w, 2, include_diagonal=True) == [(0, 0, 0.9), (2, 1, 0.7)]
    assert len(metrics.top_pairs(w, 100, include_diagonal=True)) == 9


def test_head_summary_of_a_previous_token_head():
    n = 6
    w = np.zeros((n, n))
    w[0, 0] = 1
    w[np.arange(1, n), np.arange(n - 1)] = 1  # every token attends to the one before
    s = metrics.head_summary(w)
    assert s["diagonal_share"] == 1 / n and s["max_weight"] == 1 and s["entropy_bits"] == 0
    np.testing.assert_allclose(s["mean_offset"], -5 / 6)
    np.testing.assert_allclose(s["mean_distance"], 5 / 6)
    assert s["most_attended"] == 0  # column 0 gets rows 0 and 1
    assert metrics.describe(s) == "Mostly attends to the previous token."


def test_describe_broad_and_sink_heads():
    uniform = np.full((5, 5), 0.2)
    assert "broadly" in metrics.describe(metrics.head_summary(uniform))
    sink = np.zeros((5, 5))
    sink[:, 2] = 1
    s = metrics.head_summary(sink)
    assert s["most_attended"] == 2 and s["most_attended_share"] == 1
    assert "one token" in metrics.describe(s)
