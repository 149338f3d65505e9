"""The causal language model in the browser, as a reader meets it: the page asks before its 98 MB
download and fetches nothing until the reader agrees; then the Explorer draws its causal heatmap,
its next-token prediction, and each generated token's row as it is written; declining leaves the
page working. (The CSP test also runs every page's SmolLM2 widgets.)"""
from __future__ import annotations

from tests.e2e.conftest import heatmap_pixels

HOST = ".av-explorer"
URL = "explorer/#model=smollm2&text=The%20capital%20of%20France%20is&generate=5"
# The chip counts the Explorer draws, in order: one draw per partial result, then the final one.
WATCH_TOKENS = """() => { window.__tokens = []; new MutationObserver(() => {
  const n = document.querySelector('.av-explorer').dataset.tokens;
  if (n && window.__tokens[window.__tokens.length - 1] !== n) window.__tokens.push(n);
}).observe(document.querySelector('.av-explorer'), { attributes: true, attributeFilter: ['data-tokens'] }); }"""


def test_asks_first_then_shows_each_generated_token_as_it_is_written(new_page, root_server):
    page, watch = new_page(root_server.origin)
    model_requests = []
    page.on("request", lambda r: "/models/smollm2/" in r.url and model_requests.append(r.url))
    page.goto(root_server.url + URL)
    page.wait_for_selector(f"{HOST} [data-action=consent]", timeout=90_000)
    assert "98.4 MB" in page.locator(f"{HOST} .av-consent").inner_text()
    assert model_requests == []  # nothing downloaded before the reader agrees
    page.evaluate(WATCH_TOKENS)
    page.click(f"{HOST} [data-action=consent]")
    page.wait_for_function("() => document.querySelector('.av-explorer').dataset.tokens === '10'", timeout=120_000)
    assert page.evaluate("window.__tokens") == ["6", "7", "8", "9", "10"]  # 5 prompt tokens, then one per new token
    assert "Generated: “ Paris.\n\nThe”" in page.locator(f"{HOST} .av-explorer__notes").text_content()
    assert page.locator(f"{HOST} .av-next li").count() == 10  # the top 10 after the last generated token
    pixels = heatmap_pixels(page, f"{HOST} .av-heatmap__cells")
    assert pixels["colours"] > 8
    watch.assert_clean()


def test_declining_the_download_leaves_the_page_working(new_page, root_server):
    page, watch = new_page(root_server.origin)
    page.goto(root_server.url + URL)
    page.wait_for_selector(f"{HOST} [data-action=decline]", timeout=90_000)
    page.click(f"{HOST} [data-action=decline]")
    page.wait_for_selector(f"{HOST} .av-status--error", timeout=30_000)
    assert "was not downloaded" in page.locator(f"{HOST} .av-status").inner_text()
    page.select_option("[data-control=model]", "synthetic")
    page.wait_for_function("() => document.querySelector('.av-explorer').dataset.ready === 'true'", timeout=60_000)
    assert page.locator(f"{HOST} .av-status--error").count() == 0
    watch.assert_clean()
