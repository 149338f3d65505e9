"""attnviz.tokenizers.words: spans into the original text, Unicode, and the limits."""
from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attnviz.errors import RequestError
from attnviz.tokenizers.words import MAX_CHARS, MAX_TOKENS, tokenize


def texts(text):
    return [t.text for t in tokenize(text)]


@pytest.mark.parametrize("text, expected", [
    ("The cat sat.", ["The", "cat", "sat", "."]),
    ("don't stop", ["don", "'", "t", "stop"]),
    ("Café naïve", ["Café", "naïve"]),
    ("cafe\u0301 x", ["cafe\u0301", "x"]),  # combining accent stays in its word
    ("東京タワー", ["東", "京", "タ", "ワ", "ー"]),
    ("I 👍🏽 it 👨‍👩‍👧 🇫🇷 1️⃣", ["I", "👍🏽", "it", "👨‍👩‍👧", "🇫🇷", "1️⃣"]),
    ("שלום עולם!", ["שלום", "עולם", "!"]),
    ("a\u200bb\u200fc", ["a", "b", "c"]),  # zero-width space and RTL mark separate
    ("<script>alert(1)</script>", ["<", "script", ">", "alert", "(", "1", ")", "<", "/", "script", ">"]),
    ("3.14 and 2024", ["3", ".", "14", "and", "2024"]),
])
def test_tokens(text, expected):
    assert texts(text) == expected


@settings(max_examples=200, deadline=None)
@given(st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=80))
def test_spans_point_into_the_original_text_in_order(text):
    try:
        tokens = tokenize(text)
    except RequestError as exc:
        assert exc.field == "text" and exc.message
        return
    last = 0
    for tok in tokens:
        assert text[tok.start:tok.end] == tok.text and tok.start >= last and tok.text.strip()
        last = tok.end


@pytest.mark.parametrize("text, message", [
    ("", "Type some text"),
    ("   \n\t", "Type some text"),
    ("\u200b\u200b", "no visible characters"),
    ("a\x00b", "control character (U+0000) at position 2"),
    ("x" * (MAX_CHARS + 1), f"the limit is {MAX_CHARS:,}"),
    ("a " * (MAX_TOKENS + 5), f"{MAX_TOKENS + 5} tokens; the limit is {MAX_TOKENS}"),
])
def test_refused_text_says_why(text, message):
    with pytest.raises(RequestError, match=re.escape(message)):
        tokenize(text)


def test_exactly_the_limit_is_fine():
    assert len(tokenize("a " * MAX_TOKENS)) == MAX_TOKENS
