"""A few representative Explorer links from the docs, opened in the browser: the Explorer takes
every value of the link (no "defaults are shown" notice) and shows the head the link names.
What a link should open comes from state.js itself (tests/support/explorer_links.py runs it under Node)."""
from __future__ import annotations

from typing import Callable

import pytest

from tests.e2e.test_explorer import HOST, open_explorer
from tests.support.explorer_links import ExplorerLink, explorer_links

KINDS: dict[str, Callable[[dict], bool]] = {
    "synthetic head with temperature": lambda s: s["model"] == "synthetic" and s["temperature"] != 1,
    "cross-attention": lambda s: s["mode"] == "cross",
    "all-heads grid with causal mask": lambda s: s["view"] == "grid" and s["causal"],
    "MiniLM head": lambda s: s["model"] == "minilm" and s["view"] == "single",
}


def representative(kind: str) -> ExplorerLink:
    """The first link in the docs of a kind."""
    return next(link for link in explorer_links() if KINDS[kind](link.state()))


def expected_caption(link: ExplorerLink) -> str:
    """How the Explorer names the link's head: numbered from 1 on screen, with its layer when the stack has several."""
    s = link.state()
    return f"Layer {s['layer'] + 1}, head {s['head'] + 1}" if link.limits()["layers"] > 1 else f"Head {s['head'] + 1}"


@pytest.mark.parametrize("kind", KINDS)
def test_a_docs_link_opens_without_falling_back(kind, new_page, root_server):
    link = representative(kind)
    s = link.state()
    page, watch = open_explorer(new_page, root_server, f"#{link.hash}")
    notes = page.locator(f"{HOST} .av-explorer__notes").inner_text()
    assert "could not be used" not in notes, f"{link.where}: {notes}"
    assert page.locator("[data-control=head]").input_value() == str(s["head"])
    if s["view"] == "grid":
        assert page.locator(f"{HOST} .av-explorer__grid .av-thumb").count() == link.limits()["heads"]
    else:
        assert page.locator(f"{HOST} .av-detail-caption").inner_text().startswith(expected_caption(link))
    assert page.locator("[data-control=causal]").is_checked() == s["causal"]
    watch.assert_clean()
