"""Material's built-in search runs in the page from the site's own index: no network beyond it."""
from __future__ import annotations


def test_search_finds_articles_offline(new_page, server):
    page, watch = new_page(server.origin)
    page.goto(server.url)
    page.wait_for_load_state("networkidle")
    page.context.set_offline(True)  # everything search needs is already here
    page.keyboard.press("/")  # Material's shortcut focuses the search box
    page.keyboard.type("softmax temperature")
    page.wait_for_selector(".md-search-result__item", timeout=30_000)
    titles = page.locator(".md-search-result__item").all_inner_texts()
    assert len(titles) >= 2 and any("softmax" in t.lower() for t in titles)
    page.context.set_offline(False)
    assert not watch.foreign_requests()
