"""Head-role scores on hand-built attention patterns whose true scores are known, the probe, and
every model's roles through the API."""
from __future__ import annotations

import math

import numpy as np
import pytest

from attnviz import api
from attnviz.analysis import probes
from attnviz.analysis.roles import ABOUT, ROLES, scores

N, START, L = 12, 1, 5  # a probe [CLS] R R [SEP] with R of 5 tokens: 1 + 10 + 1


def pattern(target) -> np.ndarray:
    """(1, 1, N, N) one-hot rows: query i attends to key target(i)."""
    a = np.zeros((1, 1, N, N))
    for i in range(N):
        a[0, 0, i, target(i) % N] = 1
    return a


def one(a: np.ndarray) -> dict[str, float]:
    return {name: float(v[0, 0]) for name, v in scores(a, START, L).items()}


def test_previous_token_head():
    s = one(pattern(lambda i: max(i - 1, 0)))
    assert s["previous_token"] == 1 and s["next_token"] == 0
    assert s["self"] == pytest.approx(1 / N) and s["sink"] == pytest.approx(1 / (N - 1))  # row 0 on itself; row 1 on 0
    assert s["broad"] == 0 and s["duplicate"] == 0 and s["induction"] == 0


def test_next_token_self_and_sink_heads():
    assert one(pattern(lambda i: min(i + 1, N - 1)))["next_token"] == 1
    s = one(pattern(lambda i: i))
    assert s["self"] == 1 and s["previous_token"] == 0 and s["sink"] == 0
    s = one(pattern(lambda i: 0))
    assert s["sink"] == 1 and s["self"] == pytest.approx(1 / N) and s["previous_token"] == pytest.approx(1 / (N - 1))


def test_duplicate_and_induction_heads():
    # second copy: positions START + L .. START + 2L - 1
    second = range(START + L, START + 2 * L)
    dup = one(pattern(lambda i: i - L if i in second else i))
    assert dup["duplicate"] == 1 and dup["induction"] == 0
    ind = one(pattern(lambda i: i - L + 1 if i in second else i))
    assert ind["induction"] == 1 and ind["duplicate"] == 0
    half = 0.5 * pattern(lambda i: i - L if i in second else i) + 0.5 * pattern(lambda i: i - L + 1 if i in second else i)
    assert one(half)["duplicate"] == one(half)["induction"] == 0.5


def test_broad_is_normalised_entropy():
    uniform = np.full((1, 1, N, N), 1 / N)
    assert one(uniform)["broad"] == pytest.approx(1)
    causal = np.tril(np.ones((N, N)))
    causal /= causal.sum(-1, keepdims=True)  # uniform over the keys each row may see
    s = one(causal[None, None])
    assert s["broad"] == pytest.approx(1) and s["next_token"] == 0
    two = np.zeros((1, 1, N, N))
    two[..., 0] = two[..., 1] = 0.5  # every row split over two keys of N
    assert one(two)["broad"] == pytest.approx(math.log(2) / math.log(N))


def test_scores_of_many_heads_at_once():
    a = np.concatenate([pattern(lambda i: max(i - 1, 0)), pattern(lambda i: i)], axis=1)  # (1, 2, N, N)
    s = scores(np.concatenate([a, a[:, ::-1]]), START, L)  # (2, 2, N, N)
    assert set(s) == set(ROLES) == set(ABOUT) and all(v.shape == (2, 2) and v.dtype == np.float32 for v in s.values())
    assert s["previous_token"].tolist() == [[1, 0], [0, 1]]
    np.testing.assert_allclose(s["self"], [[1 / N, 1], [1, 1 / N]], rtol=1e-6)


def test_the_probe_is_seeded_and_repeats():
    a = probes.repeated(list(range(100)), 7, seed=3)
    assert a == probes.repeated(list(range(100)), 7, seed=3) != probes.repeated(list(range(100)), 7, seed=4)
    assert a[:7] == a[7:] and len(set(a[:7])) == 7
    with pytest.raises(ValueError):
        probes.repeated([1, 2], 3)


def test_synthetic_roles_find_the_heads_built_for_them():
    r = api.run({"text": "anything", "analysis": "roles", "heads": 16})
    assert r["ok"], r
    built = [h["role_id"] for h in r["built_roles"]["self"]]
    assert set(r["roles"]) == set(ROLES) and r["roles"]["self"].shape == (1, 16)
    assert built[r["roles_best"]["previous_token"][1]] == "previous"
    assert built[r["roles_best"]["next_token"][1]] == "next"
    assert built[r["roles_best"]["self"][1]] == "self"
    assert built[r["roles_best"]["sink"][1]] == "first"
    assert built[r["roles_best"]["duplicate"][1]] == "meaning"  # the same word in the first copy
    assert r["roles_about"] == ABOUT and r["roles_probe"]["length"] == probes.LENGTH
    assert r["roles_probe"]["tokens"][:probes.LENGTH] == r["roles_probe"]["tokens"][probes.LENGTH:]
    cross = api.run({"text": "a b", "source": "c", "mode": "cross", "analysis": "roles"})
    assert not cross["ok"] and cross["error"]["field"] == "stack"


@pytest.mark.cpython_only
@pytest.mark.parametrize("model, stack, shape", [("minilm", "self", (6, 12)), ("smollm2", "self", (30, 9)),
                                                 ("marian-en-pt", "encoder", (6, 8)), ("marian-pt-en", "encoder", (6, 8))])
def test_real_models_roles(model, stack, shape):
    r = api.run({"text": "The cat sat.", "model": model, "stack": stack, "analysis": "roles", "hide_special": True})
    assert r["ok"], r
    assert all(v.shape == shape and np.all((v >= 0) & (v <= 1)) for v in r["roles"].values())
    if model == "smollm2":  # a causal model never looks ahead; it has induction heads (Olsson et al.)
        assert not r["roles"]["next_token"].any() and r["roles"]["induction"].max() > 0.5
        assert r["roles"]["sink"].max() > 0.9
    if model == "minilm":
        assert r["roles"]["previous_token"].max() > 0.9 and r["roles"]["next_token"].max() > 0.5
