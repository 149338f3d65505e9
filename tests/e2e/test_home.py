"""The home page boots Pyodide in a worker and draws a real heatmap, at the root and under a sub-path;
it leads with a real model's attention, live, shows a gallery of the site's views and a path for
each kind of reader, and its loading line counts the model's weights downloading beside Python."""
from __future__ import annotations

import json
import re

from tests.e2e.conftest import SITE, HeldRequests, heatmap_pixels

HEATMAP = "[data-attnviz='heatmap']"
MODEL_VIEW = "[data-attnviz='model-view']"
# Every text the status lines show while the page loads (set before the page's scripts run).
STATUS_TEXTS = """window.__statusTexts = [];
new MutationObserver(() => document.querySelectorAll('.av-status__text').forEach((e) => {
    const t = e.textContent; if (t && window.__statusTexts.at(-1) !== t) window.__statusTexts.push(t);
})).observe(document, {subtree: true, childList: true, characterData: true});"""


def test_home_page_draws_heatmap_offline(server, new_page):
    page, watch = new_page(server.origin)
    page.goto(server.url)
    page.wait_for_selector("[data-attnviz='heatmap'][data-ready='true']", timeout=60_000)
    stats = heatmap_pixels(page, HEATMAP + " .av-heatmap__cells")
    assert stats["width"] > 100 and stats["height"] > 100
    assert stats["opaque"] > 0.3 * stats["width"] * stats["height"], stats
    assert stats["colours"] > 10, f"a heatmap has many colours, got {stats}"
    caption = page.text_content(HEATMAP + " .av-caption")
    assert caption.startswith("Head 2: self")  # index 1 in the options, numbered from 1 on screen
    # The worker's downloads all came from this server, under the site's own path.
    assert any(u.startswith(server.url + "pyodide/") and u.endswith(".wasm") for u in watch.requests)
    watch.assert_clean()


def test_head_picker_redraws(root_server, new_page):
    page, watch = new_page(root_server.origin)
    page.goto(root_server.url)
    page.wait_for_selector("[data-attnviz='heatmap'][data-ready='true']", timeout=60_000)
    before = page.eval_on_selector(HEATMAP + " .av-heatmap__cells", "c => c.toDataURL()")
    page.select_option("[data-attnviz='heatmap'] select", "0")
    page.wait_for_function("(s) => document.querySelector(s).textContent.startsWith('Head 1: previous token')",
                           arg=HEATMAP + " .av-caption")
    after = page.eval_on_selector(HEATMAP + " .av-heatmap__cells", "c => c.toDataURL()")
    assert before != after
    watch.assert_clean()


def open_with_a_missing_runtime_file(page, url: str) -> dict:
    """Open the page while Python's standard library answers 404; returns the switch that mends it
    ({"on": False}: later requests get the file)."""
    broken = {"on": True}

    def maybe_break(route):
        if broken["on"]:
            route.fulfill(status=404, body="gone")
        else:
            route.continue_()

    page.context.route("**/pyodide/python_stdlib.zip", maybe_break)
    page.goto(url)
    return broken


def test_missing_runtime_file_shows_error_and_retry_recovers(root_server, new_page):
    page, watch = new_page(root_server.origin)
    broken = open_with_a_missing_runtime_file(page, root_server.url)
    page.wait_for_selector(".av-status--error", timeout=60_000)
    assert "python_stdlib.zip" in page.text_content(".av-status")
    broken["on"] = False
    page.click(".av-status__retry")
    page.wait_for_selector("[data-attnviz='heatmap'][data-ready='true']", timeout=60_000)
    assert page.locator(".av-status--error").count() == 0, "the recovered page still shows the error"
    assert not watch.foreign_requests()


def test_retry_on_one_widget_clears_the_failure_from_every_widget(root_server, new_page):
    """The worker's failure shows on both widgets' lines; Retry on the heatmap's (the second line,
    as when the model view mounted after the failure) takes it off the model view's too, at once,
    and both widgets then draw."""
    page, watch = new_page(root_server.origin)
    broken = open_with_a_missing_runtime_file(page, root_server.url)
    page.wait_for_function("() => document.querySelectorAll('[data-attnviz] .av-status--error').length === 2", timeout=60_000)
    for widget in (MODEL_VIEW, HEATMAP):
        assert "python_stdlib.zip" in page.text_content(widget + " .av-status")
    broken["on"] = False
    page.click(HEATMAP + " .av-status__retry")
    # The Retry restarted the worker for every widget: no line says it failed, nor offers Retry.
    assert page.locator(".av-status--error").count() == 0, "a line still shows the failure the Retry ended"
    assert not page.is_visible(MODEL_VIEW + " .av-status__retry")
    assert page.get_attribute(MODEL_VIEW + " .av-status", "data-state") == "loading"
    page.wait_for_selector(HEATMAP + "[data-ready='true']", timeout=60_000)
    assert page.locator(".av-status--error").count() == 0
    page.wait_for_selector(MODEL_VIEW + "[data-ready='true']", timeout=120_000)
    assert page.locator(".av-status--error").count() == 0
    assert not watch.foreign_requests()


def test_home_leads_with_a_live_real_model_and_its_weights_load_beside_python(root_server, new_page):
    page, watch = new_page(root_server.origin)
    page.add_init_script(STATUS_TEXTS)
    # The weights are held until a status line has shown them: on a fast machine their download
    # could otherwise end before the widgets (and their status lines) are on the page.
    held = HeldRequests(page, "**/models/minilm/*.bin")
    page.goto(root_server.url)
    # The first thing in the article is the real model's view, and it computes here.
    first = page.eval_on_selector("article [data-attnviz]", "e => e.dataset.attnviz")
    assert first == "model-view"
    page.wait_for_function("() => window.__statusTexts.some((t) => t.includes('weights)'))", timeout=60_000)
    held.release()
    page.wait_for_selector(MODEL_VIEW + "[data-ready='true']", timeout=120_000)
    assert page.locator(MODEL_VIEW + " .av-thumb").count() == 72  # 6 layers x 12 heads
    assert heatmap_pixels(page, MODEL_VIEW + " .av-heatmap__cells")["colours"] > 10
    # While Python loaded, the line counted the model's weights too: "x MB of y MB (with ...'s weights)".
    texts = page.evaluate("window.__statusTexts")
    both = [t for t in texts if t.startswith("Loading:") and "weights)" in t]
    assert both, texts
    # The total is the runtime's bytes (the build writes them into status.js) and the model's base files.
    runtime = int(re.search(r'Number\("(\d+)"\)', (SITE / "js" / "status.js").read_text()).group(1))
    index = json.loads(re.search(r"const BUILT_IN = (.*?);\n", (SITE / "js" / "models.js").read_text(), re.S).group(1))
    (model,) = re.findall(r'<meta name="attnviz-models" content="([^"]+)">', (SITE / "index.html").read_text())
    base = next(m["base_bytes"] for m in index["models"] if m["name"] == model)
    assert all(t.split(" of ")[1].startswith(f"{(runtime + base) / 1e6:.1f} MB") for t in both), both
    watch.assert_clean()


def test_home_gallery_and_reader_paths(root_server, new_page):
    page, watch = new_page(root_server.origin)
    page.goto(root_server.url)
    images = page.locator(".av-gallery img")
    assert images.count() >= 4
    for i in range(images.count()):
        image = images.nth(i)
        image.scroll_into_view_if_needed()
        page.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=image.element_handle())
        assert image.get_attribute("alt")
        assert image.get_attribute("src").startswith(root_server.url + "assets/gallery/")  # our own pictures
    paths = page.locator("article li strong").all_inner_texts()
    assert [p.split()[0] for p in paths] == ["Learning", "Teaching", "Researching"], paths
    page.wait_for_selector(HEATMAP + "[data-ready='true']", timeout=120_000)
    watch.assert_clean()
