"""python -m attnviz: the same contract from a shell."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from attnviz import api, export

pytestmark = pytest.mark.cpython_only  # subprocesses


def cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2] / "pysrc")}
    return subprocess.run([sys.executable, "-m", "attnviz", *args], capture_output=True, env=env, timeout=120)


def test_json_is_the_export_document_of_the_same_request():
    out = cli("The cat sat on the mat.", "--heads", "4", "--causal", "--temperature", "0.5")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    expected = export.to_json_document(api.run({"text": "The cat sat on the mat.", "heads": 4, "causal": True,
                                                 "temperature": 0.5, "layer": 0, "head": 0,
                                                 "model": "synthetic", "intermediates": False, "seed": 0,
                                                 "stack": ""}))
    assert doc["options"] == expected["options"] and doc["tokens"] == expected["tokens"]
    np.testing.assert_allclose(doc["attention"]["self"]["weights"], expected["attention"]["self"]["weights"], atol=1e-6)


def test_cross_attention_and_files(tmp_path):
    png, svg, csv = tmp_path / "h.png", tmp_path / "h.svg", tmp_path / "h.csv"
    for fmt, path in (("png", png), ("svg", svg), ("csv", csv)):
        out = cli("le chat", "--source", "the black cat", "--head", "2", "--format", fmt, "-o", str(path))
        assert out.returncode == 0, out.stderr
    assert png.read_bytes()[:4] == b"\x89PNG" and svg.read_text().startswith("<svg")
    assert csv.read_text().splitlines()[0] == "query \\ key,the,black,cat"


def test_bad_input_exits_2_with_the_message():
    out = cli("", "--heads", "3")
    assert out.returncode == 2 and b"Type some text" in out.stderr
    out = cli("hi", "--heads", "40")
    assert out.returncode == 2 and b"from 1 to 16" in out.stderr
    out = cli("le chat", "--source", "the black cat", "--stack", "self")
    assert out.returncode == 2 and b"no 'self' attention" in out.stderr
