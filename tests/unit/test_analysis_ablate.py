"""Ablation: ablating nothing changes nothing, zeroing a head changes only the layers after it,
masking a token reruns the model on the mask token; for every model."""
from __future__ import annotations

import numpy as np
import pytest

from attnviz import api, models
from attnviz.architectures.taps import Taps

SENTENCE = "The cat sat on the mat because it was tired."


def test_taps_that_zero_nothing_change_nothing():
    req = api.run({"text": SENTENCE, "heads": 4})["request"]
    tokens, _ = models.tokenize("synthetic", None, req)
    plain = models.module("synthetic").forward(None, req, tokens, None)
    tapped = models.module("synthetic").forward(None, req, tokens, None, taps=Taps())
    np.testing.assert_array_equal(plain["attention"]["self"]["weights"], tapped["attention"]["self"]["weights"])


def test_ablation_needs_exactly_one_thing_to_change():
    for fields in ({}, {"ablate_token": 1, "ablate_head": True}):
        r = api.run({"text": SENTENCE, "analysis": "ablate", **fields})
        assert not r["ok"] and r["error"]["field"] == "analysis" and "one thing" in r["error"]["message"]
    r = api.run({"text": "a b", "analysis": "ablate", "ablate_token": 2})
    assert not r["ok"] and r["error"]["field"] == "ablate_token"


def test_synthetic_token_and_head_ablation():
    r = api.run({"text": SENTENCE, "analysis": "ablate", "ablate_token": 2, "heads": 4})
    assert r["ok"], r
    a = r["ablate"]
    assert (a["what"], a["token"], a["replaced"], a["replacement"]) == ("token", 2, "sat", "[MASK]")
    after, diff = a["attention"]["self"]["weights"], a["difference"]["self"]
    np.testing.assert_allclose(diff, after - r["attention"]["self"]["weights"], atol=1e-7)
    assert np.abs(diff).max() > 0.01 and np.allclose(after.sum(-1), 1, atol=1e-5)
    head = api.run({"text": SENTENCE, "analysis": "ablate", "ablate_head": True, "head": 1})["ablate"]
    assert head["what"] == "head" and not head["difference"]["self"].any()  # one layer: nothing after it
    assert any("No attention weight changed" in n for n in head["notes"])


@pytest.mark.cpython_only
@pytest.mark.parametrize("model, stack, layer", [("minilm", "self", 2), ("smollm2", "self", 20),
                                                 ("marian-en-pt", "encoder", 3)])
def test_zeroing_a_head_changes_only_later_layers(model, stack, layer):
    request = {"text": SENTENCE, "model": model, "stack": stack, "layer": layer, "head": 1}
    plain = api.run(request)
    r = api.run({**request, "analysis": "ablate", "ablate_head": True})
    assert r["ok"], r
    diff = r["ablate"]["difference"][stack]
    assert not diff[:layer + 1].any()  # the ablated head's own layer and those before it: identical
    assert np.abs(diff[layer + 1:]).max() > 1e-4
    np.testing.assert_array_equal(r["attention"][stack]["weights"], plain["attention"][stack]["weights"])
    if model == "smollm2":
        before, after = r["next_tokens"], r["ablate"]["next_tokens"]
        assert len(after) == 10 and [t["p"] for t in before] != [t["p"] for t in after]
    if model.startswith("marian"):
        assert "text" in r["ablate"]["translation"] and "cross" in r["ablate"]["attention"]


@pytest.mark.cpython_only
@pytest.mark.parametrize("model, replacement", [("minilm", "[MASK]"), ("smollm2", "<|endoftext|>"),
                                                ("marian-en-pt", "<unk>")])
def test_masking_a_token_uses_the_models_own_mask(model, replacement):
    stack = "encoder" if model.startswith("marian") else "self"
    r = api.run({"text": SENTENCE, "model": model, "stack": stack, "analysis": "ablate", "ablate_token": 3})
    assert r["ok"], r
    a = r["ablate"]
    assert a["replacement"] == replacement and a["replaced"] == r["tokens"][a["side"]][3]["text"]
    assert np.abs(a["difference"][stack]).max() > 0.01
    if model == "smollm2":  # causal: queries before the masked token see nothing change
        assert not a["difference"]["self"][:, :, :3].any()


@pytest.mark.cpython_only
def test_ablating_nothing_with_a_zero_head_of_nothing_is_no_change():
    """Taps whose zeroed head is in a stack the model does not have change nothing at all."""
    req = api.run({"text": SENTENCE, "model": "minilm"})["request"]
    weights = models.load("minilm")
    tokens, _ = models.tokenize("minilm", weights, req)
    module = models.module("minilm")
    plain = module.forward(weights, req, tokens, None)
    tapped = module.forward(weights, req, tokens, None, taps=Taps(zero=("cross", 0, 0)))
    np.testing.assert_array_equal(plain["attention"]["self"]["weights"], tapped["attention"]["self"]["weights"])
