"""Hostile and odd input at the contract (attnviz.api), the one door every page goes through:
refused input gets a message naming the problem, odd but valid text keeps every character where
the user typed it, and markup is just text."""
from __future__ import annotations

import json

import numpy as np
import pytest

from attnviz import api, bridge

REFUSED = [
    # (what, request, field, words the message must contain)
    ("empty", {"text": ""}, "text", "Type some text"),
    ("whitespace only", {"text": " \n\t\u3000 "}, "text", "Type some text"),
    ("invisible only", {"text": "\u200b\u200d\ufeff"}, "text", "no visible characters"),
    ("100,000 characters", {"text": "x " * 50_000}, "text", "100,000 characters long; the limit is 10,000"),
    ("NUL", {"text": "before\x00after"}, "text", "control character (U+0000) at position 7"),
    ("escape sequence", {"text": "red \x1b[31m text"}, "text", "control character (U+001B)"),
    ("too many tokens", {"text": "a " * 600}, "text", "600 tokens; the limit is 512"),
    ("cross, empty source", {"text": "hello there", "mode": "cross", "source": ""}, "source", "needs a source text"),
    ("cross, blank source", {"text": "hello there", "mode": "cross", "source": "  \n"}, "source", "needs a source text"),
    ("cross, NUL in source", {"text": "hi", "mode": "cross", "source": "a\x00"}, "source", "U+0000"),
    ("text not a string", {"text": ["<script>"]}, "text", "must be"),
    ("head count as text", {"text": "hi", "heads": "8; drop table"}, "heads", "not text"),
    ("enormous head count", {"text": "hi", "heads": 10**18}, "heads", "from 1 to 16"),
    ("temperature not finite", {"text": "hi", "temperature": float("inf")}, "temperature", "temperature"),
]


@pytest.mark.parametrize("request_, field, words", [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED])
def test_refused_input_names_the_problem(request_, field, words):
    result = api.run(request_)
    error = {"field": field, "message": result["error"]["message"]}
    if "too_long" in result["error"]:  # text past the limit: the page is told how far, to offer the first tokens
        error["too_long"] = {"tokens": 600, "limit": 512}
    assert result == {"schema": 3, "ok": False, "error": error}
    assert words.lower() in result["error"]["message"].lower(), result["error"]["message"]


ODD = [
    ("emoji sequences", "👨‍👩‍👧‍👦 met 🇯🇵 and 👍🏽 at 1️⃣", ["👨‍👩‍👧‍👦", "met", "🇯🇵", "and", "👍🏽", "at", "1️⃣"]),
    ("CJK", "東京は大きい", ["東", "京", "は", "大", "き", "い"]),
    ("Arabic, right to left", "مرحبا بالعالم", ["مرحبا", "بالعالم"]),
    ("Hebrew mixed with Latin", "שלום world", ["שלום", "world"]),
    ("combining marks", "e\u0301te\u0301 cafe\u0301", ["e\u0301te\u0301", "cafe\u0301"]),
    ("zero-width space between words", "zero\u200bwidth", ["zero", "width"]),
    ("direction marks", "\u202eabc\u202c def", ["abc", "def"]),
    ("HTML and script", '<b>bold</b><script>alert("x")</script>',
     ["<", "b", ">", "bold", "<", "/", "b", ">", "<", "script", ">", "alert", "(", '"', "x", '"', ")",
      "<", "/", "script", ">"]),
]


@pytest.mark.parametrize("text, expected", [o[1:] for o in ODD], ids=[o[0] for o in ODD])
def test_odd_text_keeps_every_character_where_it_was_typed(text, expected):
    result = api.run({"text": text, "heads": 4})
    assert result["ok"], result.get("error")
    tokens = result["tokens"]["text"]
    assert [t["text"] for t in tokens] == expected
    for t in tokens:
        assert text[t["start"]:t["end"]] == t["text"]
    weights = result["attention"]["self"]["weights"]  # (layers, heads, q, k)
    assert np.isfinite(weights).all()
    np.testing.assert_allclose(weights.sum(-1), 1, atol=1e-5)


def test_markup_is_data_in_the_json_the_page_receives():
    """The page gets token text as JSON strings (through the bridge, as the worker does); nothing
    in attnviz escapes it or turns it into markup: the page sets it as text, never as HTML."""
    text = '<img src=x onerror="alert(1)"> & </script>'
    meta_json, _ = bridge.handle(json.dumps({"text": text}))
    meta = json.loads(meta_json)
    assert meta["ok"], meta
    tokens = meta["tokens"]["text"]
    assert "".join(t["text"] for t in tokens) == text.replace(" ", "")
    assert all(text[t["start"]:t["end"]] == t["text"] for t in tokens)
    for entity in ("&lt;", "&gt;", "&amp;", "&quot;", "&#"):  # no HTML escaping on the way
        assert entity not in meta_json
    assert '"<"' in meta_json and '"&"' in meta_json


def test_a_refused_request_leaves_the_next_one_unaffected():
    good = {"text": "The cat sat.", "heads": 2}
    before = api.run(good)["attention"]["self"]["weights"].copy()
    for _, request_, _, _ in REFUSED:
        api.run(request_)
    np.testing.assert_array_equal(api.run(good)["attention"]["self"]["weights"], before)
