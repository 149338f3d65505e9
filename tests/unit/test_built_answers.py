"""Answers the build computes ahead (attnviz/mkdocs/built_answers.py): the widgets found in a page,
their first requests by the widgets' own code (node), the stored form the browser reads
(kept-answers.js's unpack), and the cache between builds."""
from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mkdocs")  # not inside Pyodide

from attnviz import bridge  # noqa: E402
from attnviz.mkdocs import built_answers, hooks  # noqa: E402
from attnviz.notebook.assets import web_dir  # noqa: E402

pytestmark = pytest.mark.cpython_only
NODE = shutil.which("node")
needs_node = pytest.mark.skipif(NODE is None, reason="node runs the widgets' code")
INDEX = {"format": "attnviz-model-index", "models": []}


def js_hash(request: dict) -> str:
    """The sha256 of the request as JSON.stringify writes it (no spaces, non-ASCII as is)."""
    return hashlib.sha256(json.dumps(request, separators=(",", ":"), ensure_ascii=False).encode()).hexdigest()


def test_widgets_are_read_from_the_page_in_order():
    html = ("""<div data-attnviz="heatmap" data-options='{"text": "It&#39;s &lt;b&gt;", "head": 2}'></div>"""
            """<p>x</p><div data-attnviz="explorer"></div>"""
            """<div data-attnviz="softmax" data-options='not json'></div>"""
            """<div data-attnviz="variance" data-options='[1, 2]'></div>""")
    assert hooks.widgets_of(html) == [
        {"kind": "heatmap", "options": {"text": "It's <b>", "head": 2}},
        {"kind": "explorer", "options": {}},
    ]


@needs_node
def test_first_requests_come_from_the_widgets_own_code():
    widgets = [
        {"kind": "heatmap", "options": {"text": "Café 東京 🚀", "head": 3, "control": "temperature"}},
        {"kind": "masking", "options": {"text": "a b c"}},
        {"kind": "heatmap", "options": {"text": "Café 東京 🚀", "head": 5}},  # the same request: once
        {"kind": "explorer", "options": {}},  # its view lives in the address: none
        {"kind": "../../etc/passwd", "options": {}},  # not a widget's name: none
        {"kind": "no-such-widget", "options": {}},
    ]
    found = built_answers.first_requests(widgets, INDEX)
    requests = [item["request"] for item in found]
    assert requests == [
        {"text": "Café 東京 🚀", "heads": 8, "causal": False, "temperature": 1},
        {"text": "a b c", "heads": 8},
        {"text": "a b c", "heads": 8, "causal": True},
    ]
    assert [item["hash"] for item in found] == [js_hash(r) for r in requests]


def unpacked_by_the_browser_code(path: Path) -> dict:
    """kept-answers.js's unpack on the file, run by node: the header and every float."""
    script = (f"import {{ unpack }} from {json.dumps((web_dir() / 'kept-answers.js').as_uri())};"
              "import { readFileSync } from 'node:fs';"
              "const b = readFileSync(process.argv[1]);"
              "const a = unpack(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));"
              "console.log(JSON.stringify({ meta: a.meta, ms: a.ms, arrays: a.buffers.map((x) => Array.from(x)) }));")
    done = subprocess.run([NODE, "--input-type=module", "-e", script, str(path)], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


@needs_node
@pytest.mark.parametrize("header_pad", [0, 1, 2, 3])
def test_the_stored_form_is_what_the_browser_reads(tmp_path, header_pad):
    meta = json.dumps({"ok": True, "text": "é" + "x" * header_pad, "w": {"$array": 0, "shape": [2, 3]}}, ensure_ascii=False)
    arrays = [np.arange(6, dtype=np.float32).reshape(2, 3) / 7, np.array([-1.5, np.inf], dtype=np.float64)]
    path = tmp_path / "answer.bin"
    path.write_bytes(built_answers.pack(meta, arrays, 12.5))
    read = unpacked_by_the_browser_code(path)
    assert read["meta"] == meta and read["ms"] == 12.5
    assert np.allclose(read["arrays"][0], arrays[0].ravel(), atol=0)
    assert read["arrays"][1][0] == -1.5 and read["arrays"][1][1] is None  # JSON writes Infinity as null


def test_an_answer_is_the_workers_answer(tmp_path):
    request = {"text": "The cat sat on the mat.", "heads": 4}
    body = built_answers.answer(request, tmp_path)
    meta, arrays = bridge.handle(json.dumps(request))
    length = int.from_bytes(body[:4], "little")
    header = json.loads(body[4:4 + length])
    ours, theirs = json.loads(header["meta"]), json.loads(meta)
    ours.pop("timings"), theirs.pop("timings")
    assert ours == theirs
    assert header["lengths"] == [a.size for a in arrays]


def test_no_answer_for_a_refused_request_or_one_too_big(tmp_path, monkeypatch):
    assert built_answers.answer({"text": ""}, tmp_path) is None  # refused: the widget says why, live
    assert built_answers.answer({"text": "hi", "model": "no-such-model"}, tmp_path) is None
    monkeypatch.setattr(built_answers, "MAX_BYTES", 1000)
    assert built_answers.answer({"text": "The cat sat on the mat.", "heads": 8}, tmp_path) is None


@needs_node
def test_a_rebuild_reuses_the_cache_and_drops_other_builds(tmp_path, monkeypatch):
    index = tmp_path / "index.json"
    index.write_text(json.dumps(INDEX))
    site, cache = tmp_path / "site", tmp_path / "answers" / "build-2"
    (tmp_path / "answers" / "build-1").mkdir(parents=True)
    widgets = [{"kind": "heatmap", "options": {"text": "One two three."}}, {"kind": "softmax", "options": {"scores": [1, 2]}}]
    written = built_answers.build(site, widgets, tmp_path, index, cache)
    assert len(written) == 2
    assert sorted(p.name for p in (site / "answers").iterdir()) == sorted(f"{h}.bin" for h in written)
    assert not (tmp_path / "answers" / "build-1").exists()

    def not_again(*_):
        raise AssertionError("computed again although cached")
    monkeypatch.setattr(built_answers, "answer", not_again)
    assert built_answers.build(site, widgets, tmp_path, index, cache) == written
