"""The built site answers every widget's first requests ahead (attnviz/mkdocs/built_answers.py):
on a first visit each widget but the Explorer draws before Python has started."""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from attnviz import api, models
from attnviz.mkdocs import built_answers, hooks
from tests.pyodide.golden import as_plain

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "site"
INDEX = ROOT / "build" / "models" / "index.json"


def built_list() -> list[str]:
    """The hashes the build wrote into js/kept-answers.js."""
    found = re.search(r"const BUILT = new Set\((\[[^\]]*\])\);", (SITE / "js" / "kept-answers.js").read_text())
    assert found, "the build did not write its answers' list into kept-answers.js"
    return json.loads(found.group(1))


def site_widgets() -> list[dict]:
    return [w for page in sorted(SITE.rglob("*.html")) for w in hooks.widgets_of(page.read_text())]


def test_every_widget_but_the_explorer_is_answered_ahead():
    widgets = site_widgets()
    assert len(widgets) > 25
    wanted = built_answers.first_requests(widgets, json.loads(INDEX.read_text()))
    built = built_list()
    missing = [w["request"] for w in wanted if w["hash"] not in built]
    assert not missing, f"no answer ahead for {missing}"
    assert sorted(built) == sorted(p.stem for p in (SITE / "answers").iterdir())
    kinds = {w["kind"] for w in widgets}
    assert {"heatmap", "masking", "softmax", "variance", "cross", "model-view", "head-view", "analysis"} <= kinds
    # one request per widget (two for masking's pair), less those asked twice on the site
    assert len(wanted) >= len({json.dumps(w, sort_keys=True) for w in widgets if w["kind"] != "explorer"})


def test_an_answer_ahead_is_what_attnviz_computes():
    """The attention of every built-in model's and MiniLM's answer, read back as the browser reads it."""
    checked = 0
    for item in built_answers.first_requests(site_widgets(), json.loads(INDEX.read_text())):
        request = item["request"]
        if request.get("model") not in (None, "minilm") or "analysis" in request or "kind" in request:
            continue
        checked += 1
        body = (SITE / "answers" / f"{item['hash']}.bin").read_bytes()
        length = int.from_bytes(body[:4], "little")
        header = json.loads(body[4:4 + length])
        start = 4 + length + (4 - length % 4) % 4
        floats = np.frombuffer(body, dtype="<f4", offset=start)
        bundle = models.info(item["request"].get("model", "synthetic")).bundle
        fresh = api.run(dict(item["request"]), weights_dir=str(INDEX.parent / bundle) if bundle else None)
        weights = fresh["attention"][fresh["request"]["stack"]]["weights"]
        meta = json.loads(header["meta"])
        ref = meta["attention"][meta["request"]["stack"]]["weights"]
        offset = sum(header["lengths"][:ref["$array"]])
        stored = floats[offset:offset + header["lengths"][ref["$array"]]].reshape(ref["shape"])
        np.testing.assert_allclose(stored, as_plain(weights), atol=1e-6)
    assert checked >= 10
