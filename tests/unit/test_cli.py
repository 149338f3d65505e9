"""python -m attnviz: the same contract from a shell."""
from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from attnviz import api, export
from attnviz.formats import gguf, safetensors
from attnviz.formats import shortlist as sl
from attnviz.models.marian import folder_files
from tests.support.tiny_models import TINY_PIECES, model, tiny_llama_file, tiny_model

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


# --- --weights FILE: a damaged model file is a message naming it, never a traceback -----------------

def damaged_weights(tmp_path) -> list[tuple[list[str], str]]:
    """(arguments, the file name the message must give) for damaged files of each reader."""
    llama = tiny_llama_file()
    cases = []

    def file(name: str, data: bytes) -> str:
        path = tmp_path / name
        path.write_bytes(data)
        return str(path)

    for name, data in [("cut.gguf", llama[:len(llama) // 3]), ("magic.gguf", b"GGML" + llama[4:]),
                       ("header.gguf", llama[:8] + struct.pack("<Q", 2**62) + llama[16:]),
                       ("q4k.gguf", gguf.write({}, {"x": (12, (1, 256), bytes(144))}))]:  # a K-quant tensor
        cases.append((["--model", "smollm2", "--weights", file(name, data)], name))
    cases.append((["--model", "smollm2", "--weights", str(tmp_path / "absent.gguf")], "absent.gguf"))
    for key, damage in [("model", lambda d: d[:200]), ("vocab", lambda d: d[:-5]), ("shortlist", lambda d: d + b"!")]:
        folder = tmp_path / f"marian-{key}"
        folder.mkdir()
        paths = folder_files(str(folder), "enpt")
        files = {"model": tiny_model(), "vocab": model(TINY_PIECES), "shortlist": sl.write(2, 4, [[3]] * 12)}
        for k, data in files.items():
            Path(paths[k]).write_bytes(damage(data) if k == key else data)
        cases.append((["--model", "marian-en-pt", "--weights", str(folder)], os.path.basename(paths[key])))
    folder = tmp_path / "minilm"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(safetensors.write(None, {"w": np.zeros(4, np.float32)})[:-3])
    cases.append((["--model", "minilm", "--weights", str(folder)], "model.safetensors"))
    return cases


def test_a_damaged_weights_file_is_named_without_a_traceback(tmp_path):
    messages = []
    for args, name in damaged_weights(tmp_path):
        out = cli("the cat", *args)
        stderr = out.stderr.decode()
        assert out.returncode == 2 and not out.stdout, (args, stderr)
        assert "Traceback" not in stderr and stderr.startswith("attnviz: ") and name in stderr, (args, stderr)
        assert len(stderr.splitlines()) == 1, stderr
        messages.append(stderr)
    # what each says, beyond the name: the kind of damage
    for words in ("runs past the end", "no 'GGUF' magic", "more than fit in the file", "is Q4_K; supported types",
                  "absent.gguf: does not exist", "runs past the end", "not a readable SentencePiece model",
                  "header promises 200 bytes, the file has 201", "is truncated"):
        assert any(words in m for m in messages), (words, messages)


def test_good_tiny_weights_run_through_the_cli(tmp_path):
    path = tmp_path / "tiny.gguf"
    path.write_bytes(tiny_llama_file())
    out = cli("the cat", "--model", "smollm2", "--weights", str(path))
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["attention"]["self"]["weights"]  # (2 layers, 4 heads, 2, 2) of the tiny model
