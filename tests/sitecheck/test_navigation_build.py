"""What page-to-page navigation needs from the build: one Content-Security-Policy for all pages
(the first page's policy stays in force while others are swapped in, and their inline scripts run
again), and each page with model widgets naming those models early, for their weights to download
beside the runtime."""
from __future__ import annotations

import base64
import hashlib
import json
import re
from html import unescape
from pathlib import Path

import pytest

SITE = Path(__file__).resolve().parents[2] / "site"
POLICY = re.compile(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)"')
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*\btype=\"application/json\")[^>]*>(.*?)</script>", re.S)


def site_pages() -> list[Path]:
    if not (SITE / "index.html").exists():
        pytest.fail("The site is not built: run `make site` first.")
    return [p for p in sorted(SITE.rglob("*.html")) if POLICY.search(p.read_text())]


def test_every_page_has_one_policy_allowing_every_pages_inline_scripts():
    pages = site_pages()
    assert len(pages) > 15
    policies = {POLICY.search(p.read_text()).group(1) for p in pages}
    assert len(policies) == 1, "pages swapped in by instant navigation run under the first page's policy"
    script_src = dict(d.strip().split(" ", 1) for d in policies.pop().split(";"))["script-src"].split()
    for page in pages:
        for body in INLINE_SCRIPT.findall(page.read_text()):
            digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
            assert f"'sha256-{digest}'" in script_src, f"{page}: an inline script the policy would block"


def test_pages_name_the_models_their_widgets_use():
    checked = 0
    for page in site_pages():
        html = page.read_text()
        named = [json.loads(unescape(o)).get("model") for o in re.findall(r"data-attnviz=\"[^\"]*\" data-options='([^']*)'", html)]
        wanted = list(dict.fromkeys(m for m in named if m))
        meta = re.search(r'<meta name="attnviz-models" content="([^"]*)">', html)
        if not wanted:
            assert meta is None, page
            continue
        checked += 1
        assert meta and meta.group(1).split() == wanted, page
        # Before the boot script, which reads it as soon as it runs.
        assert html.index(meta.group(0)) < html.index('/boot.js"'), page
    assert checked >= 3  # the model page and the articles with a real model
