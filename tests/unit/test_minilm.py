"""attnviz.models.minilm against the reference implementation (fixtures from transformers + torch 2.13.0,
made by tools/make_minilm_fixtures.py), plus the views and the weight formats."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from attnviz import api
from attnviz.errors import RequestError
from attnviz.formats import safetensors
from attnviz.layers import erf
from attnviz.models.minilm import WORD_TABLE
from attnviz.tokenizers.wordpiece import WordPiece, basic_words
from attnviz.views import hide_special, merge_subwords

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "minilm"
REFERENCE = json.loads((FIXTURES / "reference.json").read_text(encoding="utf-8"))
ATTENTION = np.load(FIXTURES / "attention.npz")


@pytest.fixture(scope="module")
def tokenizer(minilm_dir):
    return WordPiece.from_file(str(Path(minilm_dir) / "vocab.txt"))


@pytest.mark.parametrize("case", REFERENCE["tokenize"], ids=lambda c: c["text"][:24])
def test_tokenization_equals_the_reference(tokenizer, case):
    pieces = tokenizer.encode(case["text"])
    assert [p.id for p in pieces] == case["ids"]
    assert [p.text for p in pieces] == case["tokens"]


def test_spans_point_at_what_was_typed(tokenizer):
    text = "Tokenization, Café!"
    spans = [(p.text, text[p.start:p.end]) for p in tokenizer.encode(text)]
    assert spans == [("[CLS]", ""), ("token", "Token"), ("##ization", "ization"), (",", ","),
                     ("cafe", "Café"), ("!", "!"), ("[SEP]", "")]


def test_limits_and_empty_text(tokenizer):
    with pytest.raises(RequestError, match="Type some text") as empty:
        tokenizer.encode("   ")
    with pytest.raises(RequestError, match="the limit is 512") as long:
        tokenizer.encode("word " * 600)
    assert empty.value.field == long.value.field == "text"
    assert len(tokenizer.encode("word " * 510)) == 512


@pytest.mark.cpython_only  # the original weights are site-packages files
@pytest.mark.parametrize("index", range(len(REFERENCE["attention_texts"])))
def test_attention_matches_the_reference_within_1e_5(minilm_dir, index):
    r = api.run({"text": REFERENCE["attention_texts"][index], "model": "minilm"}, weights_dir=minilm_dir)
    assert r["ok"], r
    expected = ATTENTION[f"attention_{index}"]
    n = len(r["tokens"]["text"])
    assert [t["id"] for t in r["tokens"]["text"]] == ATTENTION[f"ids_{index}"].tolist()
    assert r["attention"]["self"]["weights"].shape == expected.shape == (6, 12, n, n)
    np.testing.assert_allclose(r["attention"]["self"]["weights"], expected, atol=1e-5, rtol=0)


@pytest.mark.cpython_only
def test_shipped_float16_weights_stay_within_2e_3(minilm_bundle):
    manifest = json.loads((minilm_bundle / "manifest.json").read_text())
    assert manifest["total_bytes"] < 45e6 and manifest["rows"][WORD_TABLE]["rows_per_chunk"] == 256
    for index, text in enumerate(REFERENCE["attention_texts"]):
        r = api.run({"text": text, "model": "minilm"}, weights_dir=str(minilm_bundle))
        assert r["ok"], r
        np.testing.assert_allclose(r["attention"]["self"]["weights"], ATTENTION[f"attention_{index}"], atol=2e-3, rtol=0)


@pytest.mark.cpython_only
def test_contract_for_minilm_views_and_refusals(minilm_dir):
    r = api.run({"text": "Unbelievable tokenization!", "model": "minilm", "hide_special": True,
                 "merge_subwords": True, "intermediates": True, "layer": 5, "head": 11}, weights_dir=minilm_dir)
    assert r["ok"], r
    assert [t["text"] for t in r["tokens"]["text"]] == ["unbelievable", "tokenization", "!"]
    np.testing.assert_allclose(r["attention"]["self"]["weights"].sum(-1), 1, atol=1e-5)
    assert r["trace"]["q"].shape[1] == 32 and len(r["notes"]) == 2
    # the trace stays on the model's own pieces, [CLS] and [SEP] included
    pieces = [t["text"] for t in r["trace_tokens"]["query"]]
    assert pieces[0] == "[CLS]" and pieces[-1] == "[SEP]" and r["trace"]["pattern"].shape == (len(pieces),) * 2
    assert r["built_roles"] == {} and (r["metrics"]["layer"], r["metrics"]["head"]) == (5, 11)
    for request, field in [({"mode": "cross", "source": "x"}, "mode"), ({"layer": 6}, "layer"), ({"head": 12}, "head"),
                           ({"stack": "cross"}, "stack")]:
        bad = api.run({"text": "hi", "model": "minilm", **request}, weights_dir=minilm_dir)
        assert not bad["ok"] and bad["error"]["field"] == field, bad
    r = api.run({"text": "hi", "model": "minilm", "causal": True, "temperature": 2.0}, weights_dir=minilm_dir)
    assert r["ok"] and r["request"]["causal"] is False and r["request"]["temperature"] == 1.0
    assert "The causal mask does not apply to MiniLM-L6; it is left out." in r["notes"]


def test_hide_special_renormalises_rows():
    tokens = [{"text": t, "start": 0, "end": 0, "special": t.startswith("[")} for t in ["[CLS]", "a", "b", "[SEP]"]]
    w = np.array([[0.7, 0.1, 0.1, 0.1], [0.5, 0.25, 0.0, 0.25], [0.1, 0.2, 0.6, 0.1], [0.25] * 4], dtype=np.float32)
    out, kept = hide_special(w, tokens)
    assert [t["text"] for t in kept] == ["a", "b"]
    np.testing.assert_allclose(out, [[1.0, 0.0], [0.25, 0.75]])


def test_merge_subwords_sums_keys_and_averages_queries():
    tokens = [{"text": t, "start": 0, "end": 0, "special": t.startswith("[")} for t in ["[CLS]", "un", "##real", "cat"]]
    w = np.array([[0.4, 0.2, 0.2, 0.2], [0.1, 0.3, 0.5, 0.1], [0.3, 0.3, 0.1, 0.3], [0.25] * 4])
    out, words = merge_subwords(w, tokens)
    assert [t["text"] for t in words] == ["[CLS]", "unreal", "cat"]
    np.testing.assert_allclose(out[0], [0.4, 0.4, 0.2])  # to "unreal": 0.2 + 0.2
    np.testing.assert_allclose(out[1], [(0.1 + 0.3) / 2, (0.8 + 0.4) / 2, (0.1 + 0.3) / 2])  # from: mean
    np.testing.assert_allclose(out.sum(-1), 1)


def test_safetensors_round_trip(tmp_path):
    tensors = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.array([1, 2], dtype=np.int64),
               "c": np.ones((2, 2), dtype=np.float16)}
    safetensors.write(str(tmp_path / "t.safetensors"), tensors)
    back = safetensors.read(str(tmp_path / "t.safetensors"))
    for name, array in tensors.items():
        assert back[name].dtype == array.dtype
        np.testing.assert_array_equal(back[name], array)


def test_erf_is_accurate():
    import math
    x = np.linspace(-6, 6, 2001)
    np.testing.assert_allclose(erf(x), [math.erf(v) for v in x], atol=2e-7)


def test_basic_words_keep_original_spans():
    assert basic_words("Héllo,  東京") == [("hello", 0, 5), (",", 5, 6), ("東", 8, 9), ("京", 9, 10)]
