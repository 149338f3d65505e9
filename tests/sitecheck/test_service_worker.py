"""The service worker's build record in site/sw.js: what it precaches is exactly the site's files
(checked by sha256), minus the model weights (their own cache) and the lazily cached extras."""
from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

SITE = Path(__file__).resolve().parents[2] / "site"


def build_record() -> dict:
    source = (SITE / "sw.js").read_text()
    start = source.index("const BUILD = ") + len("const BUILD = ")
    return json.JSONDecoder().raw_decode(source[start:])[0]


def file_for(url: str) -> Path:
    return SITE / (url.removeprefix("./") + "index.html" if url == "./" or url.endswith("/") else url)


def test_every_precached_file_matches_its_integrity():
    record = build_record()
    for entry in record["precache"]:
        digest = hashlib.sha256(file_for(entry["url"]).read_bytes()).digest()
        assert entry["integrity"] == "sha256-" + base64.b64encode(digest).decode(), entry["url"]


def test_the_runtime_and_every_page_are_precached_and_the_model_is_not():
    urls = {e["url"] for e in build_record()["precache"]}
    for needed in ("./", "explorer/", "js/worker.js", "pyodide/pyodide.asm.wasm", "pyodide/python_stdlib.zip",
                   "pyodide/pyodide-lock.json", "pyodide/attnviz-0.1.0-cp312-none-any.whl"):
        assert needed in urls
    assert any(u.startswith("pyodide/numpy-") for u in urls)
    assert len([u for u in urls if u.startswith("answers/")]) == len(list((SITE / "answers").iterdir())) > 0  # offline first views
    pages = {p.relative_to(SITE).as_posix().removesuffix("index.html") or "./" for p in SITE.rglob("index.html")}
    assert pages <= urls
    assert not [u for u in urls if u.startswith("models/") or u == "sw.js"]
