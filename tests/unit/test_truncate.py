"""Text past a model's limit (ModelInfo.max_tokens): refused with an offer (error.too_long), or,
with `truncate`, read as its first tokens with a note. For every model of the registry, the cut
result is checked against the model run on a text short enough to need no cut."""
from __future__ import annotations

import numpy as np
import pytest

from attnviz import api, models
from tests.unit.test_models import needs_weights

WORD = "word"
# name -> (an extra request, special tokens kept before and after the text's pieces)
SHAPES = {
    "synthetic": ({}, 0, 0),
    "minilm": ({}, 1, 1),                                  # [CLS] ... [SEP]
    "smollm2": ({"generate": 1}, 0, 0),                    # room is kept for the generated tokens
    "marian-en-pt": ({"target": "Palavra.", "stack": "encoder"}, 0, 1),  # ... </s>
}


def params() -> list:
    return [pytest.param(name, marks=[pytest.mark.cpython_only] if models.info(name).bundle else [])
            for name in SHAPES]


def long_text(n_words: int) -> str:
    return " ".join([WORD] * n_words)


def room_of(name: str, extra: dict) -> int:
    return models.info(name).max_tokens - extra.get("generate", 0)


@pytest.mark.parametrize("name", params())
def test_too_long_is_refused_with_an_offer(name):
    needs_weights(name)
    extra, _, _ = SHAPES[name]
    room = room_of(name, extra)
    r = api.run({"text": long_text(room + 40), "model": name, **extra})
    assert not r["ok"] and r["error"]["field"] == "text"
    too_long = r["error"]["too_long"]
    assert too_long["limit"] == room and too_long["tokens"] > room
    assert f"the limit is {room} for {models.info(name).label}" in r["error"]["message"]
    assert f"use its first {room}" in r["error"]["message"]


@pytest.mark.parametrize("name", params())
def test_truncate_reads_the_first_tokens_as_a_short_text_would(name):
    """The cut result equals the model on the words that fit: same tokens, same attention."""
    needs_weights(name)
    extra, start, end = SHAPES[name]
    room = room_of(name, extra)
    cut = api.run({"text": long_text(room + 40), "model": name, "truncate": True, **extra})
    assert cut["ok"], cut
    side = "source" if name.startswith("marian") else "text"
    read = lambda r: [t for t in r["tokens"][side] if not t.get("generated")]  # noqa: E731 (an LLM adds its own)
    pieces = read(cut)
    assert len(pieces) == room
    # the words that fit: every word is one token in each of these vocabularies (checked below)
    fits = api.run({"text": long_text(room - start - end), "model": name, **extra})
    assert fits["ok"], fits
    assert [(t["text"], t.get("id")) for t in pieces] == [(t["text"], t.get("id")) for t in read(fits)]
    stack = cut["request"]["stack"]
    np.testing.assert_allclose(cut["attention"][stack]["weights"].astype(np.float64),
                               fits["attention"][stack]["weights"].astype(np.float64), atol=2e-5)
    note = next(n for n in cut["notes"] if n.startswith("Only the first"))
    assert f"first {room} of the text's" in note and models.info(name).label in note
    assert not any(n.startswith("Only the first") for n in fits["notes"])


def test_truncate_cuts_a_cross_source_too():
    limit = models.info("synthetic").max_tokens
    r = api.run({"text": long_text(limit + 3), "mode": "cross", "source": long_text(limit + 9), "truncate": True})
    assert r["ok"] and len(r["tokens"]["text"]) == len(r["tokens"]["source"]) == limit
    assert r["attention"]["cross"]["weights"].shape == (1, 8, limit, limit)
    assert sum(n.startswith("Only the first") for n in r["notes"]) == 2
    assert any("source text's" in n for n in r["notes"])
    refused = api.run({"text": "a b", "mode": "cross", "source": long_text(limit + 1)})
    assert refused["error"]["field"] == "source" and refused["error"]["too_long"] == {"tokens": limit + 1, "limit": limit}


def test_the_note_names_the_last_token_read_and_where_it_ends():
    limit = models.info("synthetic").max_tokens
    text = " ".join(f"w{i}" for i in range(limit + 5))
    r = api.run({"text": text, "truncate": True})
    last = r["tokens"]["text"][-1]
    assert last["text"] == f"w{limit - 1}" and text[:last["end"]].endswith(f" w{limit - 1}")
    assert f"up to “w{limit - 1}”, character {last['end']:,}." in r["notes"][-1]


def test_text_within_the_limit_is_untouched_by_truncate():
    a = api.run({"text": "The cat sat.", "truncate": True})
    b = api.run({"text": "The cat sat."})
    assert a["tokens"] == b["tokens"] and a["notes"] == b["notes"]
    assert np.array_equal(a["attention"]["self"]["weights"], b["attention"]["self"]["weights"])


def test_truncate_must_be_true_or_false():
    r = api.run({"text": "a", "truncate": 1})
    assert r["error"] == {"field": "truncate", "message": "'truncate' must be true or false, not a whole number."}


@pytest.mark.cpython_only  # reads the command line's output
def test_the_command_line_reads_the_first_tokens_when_asked(capsys):
    from attnviz.__main__ import main
    limit = models.info("synthetic").max_tokens
    assert main([long_text(limit + 1), "--format", "csv"]) == 2
    assert "use its first 512. (--truncate reads them)" in capsys.readouterr().err
    assert main([long_text(limit + 1), "--truncate", "--format", "csv"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert len(rows) == 1 + limit  # the header, then one row per query token read
