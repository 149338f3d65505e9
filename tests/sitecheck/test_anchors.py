"""Every internal link with a #fragment points at an element id that exists on the target page.
Explorer state links (`explorer/#text=...&head=3`) carry page state, not anchors, and are skipped."""
from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import unquote, urldefrag, urlparse

from tests.sitecheck.test_site import SITE, links_of, pages, resolve


class Ids(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("id", "name") and value:
                self.ids.add(value)


_ids: dict = {}


def ids_of(page) -> set[str]:
    if page not in _ids:
        parser = Ids()
        parser.feed(page.read_text(encoding="utf-8"))
        _ids[page] = parser.ids
    return _ids[page]


def test_every_internal_anchor_exists():
    broken = []
    for page in (p for p in pages() if p.name != "404.html" or p.parent != SITE):
        for tag, attr, url in links_of(page):
            if tag != "a" or urlparse(url).scheme or url.startswith(("mailto:", "//")):
                continue
            path, fragment = urldefrag(url)
            fragment = unquote(fragment)
            if not fragment or "=" in fragment:
                continue
            target = resolve(page, path) if path else page
            if target.exists() and fragment not in ids_of(target):
                broken.append(f"{page.relative_to(SITE)}: {url}")
    assert not broken, "\n".join(broken[:40])


def test_references_have_the_anchors_articles_rely_on():
    refs = SITE / "references" / "index.html"
    assert refs.exists(), "the built site has no references page"
    expected = {"vaswani2017", "bahdanau2015", "clark2019", "michel2019", "voita2019", "jain2019",
                "wiegreffe2019", "sundararajan2017", "kovaleva2019", "xiao2023", "child2019",
                "katharopoulos2020", "dao2022", "minilm", "reimers2019", "devlin2019", "vig2019",
                "beltagy2020", "choromanski2021", "allal2025", "marian2018", "su2021", "ainslie2023",
                "olsson2022"}
    missing = expected - ids_of(refs)
    assert not missing, sorted(missing)
    assert not re.search(r"\{:\s*#", refs.read_text(encoding="utf-8")), "an attr_list was not applied"
