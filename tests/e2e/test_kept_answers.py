"""Answers kept between visits (site_js/kept-answers.js): a page read again in a new tab draws its
widgets' first views from the answers kept on the first visit, before Python has started, and they
are what Python draws; the reader's first change is then computed as always."""
from __future__ import annotations

from tests.e2e.conftest import HeldRequests, PageWatch
from tests.e2e.test_navigation import ALL_READY, CANVASES, assert_painted, open_painted
from tests.support.browser import without_built_answers

PAGE = "learn/03-scaled-dot-product/"  # three widgets: the variance table, softmax and a heatmap
# How many answers this build keeps, read from the Cache API.
KEPT = """async (root) => { const { ANSWERS_BUILD } = await import(root + 'js/kept-answers.js');
    const name = 'attnviz-answers-' + ANSWERS_BUILD;
    return (await caches.keys()).includes(name) ? (await (await caches.open(name)).keys()).length : 0; }"""
PYTHON_READY = """async (root) => { const { getClient } = await import(root + 'js/client.js');
    return Boolean(getClient().status.ready); }"""


def test_a_page_read_again_draws_kept_answers_before_python_starts(server, browser):
    # No service worker: it would serve the runtime from its own cache, past the route that holds it.
    context = browser.new_context(service_workers="block")
    without_built_answers(context)  # the first visit's answers are Python's, and kept
    try:
        check_kept_answers(server, context)
    finally:
        context.close()


def check_kept_answers(server, context) -> None:
    page = context.new_page()
    watch = PageWatch(page, server.origin)
    open_painted(page, server.url + PAGE)
    shown = page.evaluate(CANVASES)
    widgets = page.locator("[data-attnviz]").count()
    page.wait_for_function(f"(root) => ({KEPT})(root).then((n) => n >= {widgets})", arg=server.url, timeout=30_000)

    # A new tab, with the runtime held back: nothing Python computes can reach the page.
    held = HeldRequests(context, "**/pyodide.asm.wasm")
    again = page.context.new_page()
    again_watch = PageWatch(again, server.origin)
    again.goto(server.url + PAGE)
    again.wait_for_function(ALL_READY, timeout=30_000)
    assert not again.evaluate(PYTHON_READY, server.url), "Python started although its runtime was held"
    assert_painted(again)
    assert again.evaluate(CANVASES) == shown, "a kept answer draws what Python drew"
    cells = again.locator("[data-attnviz='variance'] td").all_text_contents()
    assert cells == page.locator("[data-attnviz='variance'] td").all_text_contents()

    # Python comes: the reader's first change is computed.
    for _ in range(300):
        if held.routes:
            break
        again.wait_for_timeout(100)
    assert held.routes, "the worker never asked for the runtime"
    held.release()
    heatmap = "[data-attnviz='heatmap']"
    again.locator(f"{heatmap} input[type=range]").fill("0.2")
    again.wait_for_function(f"""([root, before]) => ({PYTHON_READY})(root).then((ready) => ready
        && document.querySelector("{heatmap} .av-heatmap__cells").toDataURL() !== before)""",
                            arg=[server.url, shown[0]], timeout=60_000)
    watch.assert_clean()
    again_watch.assert_clean()
