"""Checks on the built site/: every internal link and asset resolves, nothing loads from elsewhere,
and the runtime files are the ones the lock file promises."""
from __future__ import annotations

import hashlib
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlparse

import pytest

SITE = Path(__file__).resolve().parents[2] / "site"
# Tags whose URL the browser fetches by itself (an <a href> elsewhere is only a link).
FETCHED = {("script", "src"), ("link", "href"), ("img", "src"), ("iframe", "src"), ("source", "src")}


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.found.append((tag, name, value))


def pages() -> list[Path]:
    if not (SITE / "index.html").exists():
        pytest.fail("The site is not built: run `make site` first.")
    return sorted(SITE.rglob("*.html"))


def links_of(page: Path) -> list[tuple[str, str, str]]:
    parser = Links()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser.found


def resolve(page: Path, url: str) -> Path:
    path = unquote(urlparse(urldefrag(url)[0]).path)
    target = (page.parent / path).resolve()
    return target / "index.html" if target.is_dir() else target


def test_every_internal_link_and_asset_exists():
    broken = []
    # 404.html is served for any missing path, so MkDocs gives it root-based URLs on purpose (set
    # site_url when publishing under a sub-path); every other page must use relative URLs.
    for page in (p for p in pages() if p.name != "404.html" or p.parent != SITE):
        for tag, attr, url in links_of(page):
            parsed = urlparse(url)
            if parsed.scheme or url.startswith(("#", "mailto:", "//")) or not urldefrag(url)[0]:
                continue
            if url.startswith("/"):
                broken.append(f"{page.relative_to(SITE)}: absolute URL {url} breaks under a sub-path")
            elif not resolve(page, url).exists():
                broken.append(f"{page.relative_to(SITE)}: {tag} {attr}={url}")
    assert not broken, "\n".join(broken[:40])


def test_no_asset_is_loaded_from_another_origin():
    remote = [f"{p.relative_to(SITE)}: <{tag} {attr}={url}>" for p in pages()
              for tag, attr, url in links_of(p) if (tag, attr) in FETCHED and re.match(r"^(https?:)?//", url)]
    assert not remote, remote
    for js in list((SITE / "js").rglob("*.js")) + [SITE / "pyodide" / "pyodide.mjs"]:
        assert not re.search(r"""(import|fetch)\s*\(?\s*["']https?://""", js.read_text()), js


def test_runtime_files_match_the_lock():
    lock = json.loads((SITE / "pyodide" / "pyodide-lock.json").read_text())
    assert lock["info"]["version"] == "0.27.7"
    for name in ("numpy", "attnviz"):
        entry = lock["packages"][name]
        wheel = SITE / "pyodide" / entry["file_name"]
        assert hashlib.sha256(wheel.read_bytes()).hexdigest() == entry["sha256"], name
    assert lock["packages"]["numpy"]["version"] == "2.0.2"


def test_test_tools_stay_out_of_the_site():
    """axe-core is a devDependency for the accessibility tests: it must not be published."""
    shipped = [p.relative_to(SITE).as_posix() for p in SITE.rglob("*") if "axe" in p.name.lower()]
    assert not shipped, shipped
    assert not any("axe.run" in p.read_text(errors="ignore") for p in SITE.rglob("*.js")), "axe-core code in site/"
