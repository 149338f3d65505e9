"""Every analysis through the contract: any request gets a result or a clear error, the browser
learns every file an analysis needs before it runs, and the CLI's --analysis."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attnviz import api, export, models
from attnviz.request import ANALYSES

WORD_TABLE = "embeddings.word_embeddings.weight"


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(ANALYSES), st.text("ab .", min_size=1, max_size=12), st.integers(1, 4), st.booleans(),
       st.sampled_from(["self", "cross"]), st.lists(st.integers(0, 6), max_size=3), st.integers(-1, 6),
       st.booleans(), st.integers(0, 6), st.integers(0, 6), st.sampled_from(["mean", "each"]))
def test_any_analysis_request_gets_a_result_or_a_clear_error(analysis, text, heads, causal, mode, hide, token,
                                                             head, query, key, rollout_heads):
    request = {"text": text, "heads": heads, "causal": causal, "mode": mode, "source": "x y", "hide": hide,
               "analysis": analysis, "ablate_token": token, "ablate_head": head, "query": query, "key": key,
               "rollout_heads": rollout_heads, "head": heads - 1, "sentences": ["b a"]}
    r = api.run(request)
    if r["ok"]:
        assert analysis in r or (analysis == "roles" and "roles" in r)
        assert r["timings"]["analysis_ms"] >= 0
        json.dumps(export.to_json_document(r))  # the document holds it, as plain JSON
        for value in r.values():
            if isinstance(value, np.ndarray):
                assert np.all(np.isfinite(value))
    else:
        assert r["error"]["field"] in ("stack", "analysis", "hide", "ablate_token", "query", "key", "text",
                                       "sentences", "source"), r
        assert 10 < len(r["error"]["message"]) < 300


def test_unknown_analysis_and_hyphenated_names():
    r = api.run({"text": "a b", "analysis": "saliency"})
    assert not r["ok"] and r["error"]["field"] == "analysis" and "rollout" in r["error"]["message"]
    r = api.run({"text": "a b", "analysis": "value-norm"})
    assert r["ok"] and r["request"]["analysis"] == "value_norm" and r["value_norm"].shape == (1, 8, 2, 2)
    r = api.run({"text": "a b", "rollout_heads": "some"})
    assert not r["ok"] and r["error"]["field"] == "rollout_heads"


def test_the_export_schema_names_every_analysis():
    doc = export.to_json_document(api.run({"text": "a b", "analysis": "rollout"}))
    assert set(ANALYSES) <= set(doc["schema_doc"]) and "rollout" in doc and "[layer][query][key]" in doc["schema_doc"]["rollout"]


@pytest.mark.cpython_only
@pytest.mark.parametrize("analysis, fields", [("roles", {}), ("ablate", {"ablate_token": 2}),
                                              ("qk_map", {"sentences": ["Zebras graze quietly."]})])
def test_the_browser_fetches_what_an_analysis_reads(browser, analysis, fields):
    request = {"text": "The cat sat.", "model": "minilm", "analysis": analysis, **fields}
    answer = api.files_needed(request)
    assert answer["ok"], answer
    table = browser["rows"][WORD_TABLE]
    weights = models.load("minilm")
    module = models.module("minilm")
    req = api.prepare(request)[0]
    from attnviz import analysis as analyses
    own, _ = models.tokenize("minilm", weights, req)
    lists = [own] + analyses.tokens_needed(req, module, weights, own)
    ids = {t["id"] for tokens in lists for side in tokens.values() for t in side}
    assert len(lists) > 1
    assert sorted(f["file"] for f in answer["files"]) == sorted(table["chunks"][c]["file"]
                                                                for c in {i // table["rows_per_chunk"] for i in ids})
    assert api.run(request)["ok"]


@pytest.mark.cpython_only
def test_cli_analysis():
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2] / "pysrc")}
    out = subprocess.run([sys.executable, "-m", "attnviz", "The cat sat on the mat.", "--heads", "2",
                          "--analysis", "qk-map", "--sentence", "A dog ran.", "--hide", "0,2"],
                         capture_output=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["options"]["analysis"] == "qk_map" and doc["options"]["hide"] == [0, 2]
    assert doc["qk_map"]["sentences"] == ["The cat sat on the mat.", "A dog ran."]
    bad = subprocess.run([sys.executable, "-m", "attnviz", "a", "--analysis", "flow", "--source", "b"],
                         capture_output=True, env=env, timeout=120)
    assert bad.returncode == 2 and b"self-attention" in bad.stderr
