"""Answers computed when the site is built: each widget's first view, drawn on a first visit
before Python has started in the reader's browser.

A widget opens with requests that depend only on its options: each widget module's
`firstRequests(options, index)` says which, and the widget sends exactly those. The build asks
node for them (first_requests.mjs runs the widgets' own code), computes each answer with attnviz
in CPython from the same model bundles the browser downloads, and writes it to
site/answers/<sha256 of the request's JSON>.bin in the form the browser keeps answers in
(site_js/kept-answers.js: `pack`). The page looks a widget's first request up there and draws at
once; Python, starting meanwhile, computes every change the reader makes. CPython's answers agree
with Pyodide's to the golden tolerances (tests/pyodide/golden.py), far below what a colour shows.

Answers are cached by the build's answers hash (hooks.answers_build_hash: the runtime with attnviz,
the model index), so a rebuild computes only requests it has not seen. Nothing here is required:
without node, or for a request that fails, the widget computes its view in the browser as before.
"""
from __future__ import annotations

import json
import logging
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np

from .. import api, models
from ..bridge import packed
from ..notebook.assets import web_dir

log = logging.getLogger("mkdocs.plugins.attnviz")

SCRIPT = Path(__file__).with_name("first_requests.mjs")
# As kept-answers.js's MAX_ANSWER_BYTES: a bigger answer is computed in the browser instead.
MAX_BYTES = 2 ** 21


def first_requests(widgets: list[dict], index: dict) -> list[dict]:
    """[{hash, request}]: every widget's first requests, each once, from the widgets' own code."""
    node = shutil.which("node")
    if node is None or not widgets:
        if widgets:
            log.info("attnviz: node is not on PATH, so the widgets' first views are computed in the browser")
        return []
    done = subprocess.run([node, str(SCRIPT), str(web_dir())], input=json.dumps({"widgets": widgets, "index": index}),
                          capture_output=True, text=True, encoding="utf-8", timeout=120)
    if done.stderr:
        log.warning("attnviz: %s", done.stderr.strip())
    if done.returncode != 0:
        return []
    return json.loads(done.stdout)


def pack(meta: str, arrays: list[np.ndarray], ms: float) -> bytes:
    """One answer as bytes, as kept-answers.js's `pack`: a 4-byte length, the header's JSON
    ({meta, ms, lengths}), padding to 4 bytes, then each array's float32s (little-endian)."""
    floats = [np.ascontiguousarray(a, dtype="<f4").ravel() for a in arrays]
    header = json.dumps({"meta": meta, "ms": ms, "lengths": [f.size for f in floats]},
                        ensure_ascii=False, separators=(",", ":")).encode()
    padding = b"\0" * ((4 - len(header) % 4) % 4)
    return b"".join([len(header).to_bytes(4, "little"), header, padding, *(f.tobytes() for f in floats)])


def answer(request: dict, models_dir: Path) -> bytes | None:
    """The packed answer to a request, or None when it is not a good one (an error, too big)."""
    try:
        bundle = models.info(request.get("model", "synthetic")).bundle
        weights_dir = str(models_dir / bundle) if bundle else None
        start = time.perf_counter()
        result = api.run(dict(request), weights_dir=weights_dir)
        ms = (time.perf_counter() - start) * 1000
    except Exception as exc:  # a model not in this build, a request the widget will be told about
        log.info("attnviz: no answer ahead for %s: %s", json.dumps(request)[:120], exc)
        return None
    if not result.get("ok"):
        return None
    body = pack(*packed(result), round(ms, 1))
    return body if len(body) <= MAX_BYTES else None


def build(site: Path, widgets: list[dict], models_dir: Path, index: Path, cache: Path) -> list[str]:
    """Write the answers of every widget's first requests to site/answers/; returns their hashes.
    cache: this build's folder of answers (named by the answers hash), kept between builds."""
    cache.mkdir(parents=True, exist_ok=True)
    for old in cache.parent.iterdir():  # answers of other builds' code or models
        if old != cache and old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
    out = site / "answers"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    written = []
    for item in first_requests(widgets, json.loads(index.read_text())):
        kept = cache / f"{item['hash']}.bin"
        if not kept.exists():
            body = answer(item["request"], models_dir)
            if body is None:
                continue
            kept.write_bytes(body)
        shutil.copyfile(kept, out / kept.name)
        written.append(item["hash"])
    return written
