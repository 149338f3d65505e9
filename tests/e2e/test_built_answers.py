"""A first visit draws every widget's first view from the answers the build computed
(attnviz/mkdocs/built_answers.py) before Python has started, those answers are what Python in the
browser computes, and the reader's first change is computed live."""
from __future__ import annotations

import pytest

from tests.e2e.conftest import ARTIFACTS, HeldRequests, PageWatch, heatmap_pixels

# The home page (MiniLM's 72 heads), an article of the built-in model's widgets, and the real-models
# article (MiniLM, SmolLM2 and Marian: the two that ask before downloading wait for the reader).
PAGES = {"home": "", "article": "learn/03-scaled-dot-product/", "models": "learn/08-real-models/"}
DRAWN_OR_ASKING = """() => { const hosts = [...document.querySelectorAll('[data-attnviz]')];
    return hosts.length > 0 && hosts.every((h) => h.dataset.ready === 'true' || h.dataset.waiting === 'consent'); }"""
PYTHON_READY = """async (root) => { const { getClient } = await import(root + 'js/client.js');
    return Boolean(getClient().status.ready); }"""

# Each widget's first requests, answered ahead and then computed by Python: the largest difference
# between the two over every number (arrays included), relative above 1. Timings are allowed to differ.
COMPARE = """async (root) => {
    const { getClient } = await import(root + 'js/client.js');
    const { findAnswer } = await import(root + 'js/kept-answers.js');
    const { modelIndex } = await import(root + 'js/models.js');
    const index = await modelIndex();
    const client = getClient();
    const worst = (a, b) => Math.abs(a - b) / Math.max(1, Math.abs(b));
    function diff(meta, buffers, live, path) {
        if (meta && typeof meta.$array === 'number') {
            const mine = buffers[meta.$array], theirs = live.data;
            if (mine.length !== theirs.length) throw new Error(`${path}: ${mine.length} numbers, not ${theirs.length}`);
            let d = 0;
            for (let i = 0; i < mine.length; i++) {
                if (Number.isFinite(theirs[i]) || Number.isFinite(mine[i])) d = Math.max(d, worst(mine[i], theirs[i]));
            }
            return d;
        }
        if (typeof meta === 'number') return worst(meta, live);
        if (meta && typeof meta === 'object') {
            let d = 0;
            for (const key of Object.keys(meta)) {
                if (key !== 'timings' && key !== 'ms') d = Math.max(d, diff(meta[key], buffers, live[key], `${path}.${key}`));
            }
            return d;
        }
        if (meta !== live) throw new Error(`${path}: ${JSON.stringify(meta)} ahead, ${JSON.stringify(live)} in the browser`);
        return 0;
    }
    const out = [];
    for (const [i, host] of [...document.querySelectorAll('[data-attnviz]')].entries()) {
        const widget = await import(root + `js/widgets/${host.dataset.attnviz}.js`);
        const requests = widget.firstRequests ? widget.firstRequests(JSON.parse(host.dataset.options || '{}'), index) : [];
        for (const [j, request] of requests.entries()) {
            if (request.model && request.model !== 'minilm') continue; // no big download here
            const ahead = await findAnswer(request);
            if (!ahead || !ahead.built) throw new Error(`no answer ahead for ${JSON.stringify(request)}`);
            const channel = `check-${i}-${j}`;
            const first = await client.run(request, channel); // a channel's first ask: the answer ahead
            const live = await client.run(request, channel); // asked again: computed by Python
            if (!first.built || live.kept) throw new Error('the second ask was not computed');
            out.push({ request: JSON.stringify(request), diff: diff(JSON.parse(ahead.meta), ahead.buffers, live, 'result') });
        }
    }
    return out;
}"""


def open_with_python_held(browser, server, path: str):
    """A cold first visit (no service worker, empty caches) with Pyodide's runtime held back."""
    context = browser.new_context(service_workers="block", viewport={"width": 1280, "height": 900})
    held = HeldRequests(context, "**/pyodide.asm.wasm")
    page = context.new_page()
    watch = PageWatch(page, server.origin)
    page.goto(server.url + path)
    page.wait_for_function(DRAWN_OR_ASKING, timeout=30_000)
    assert not page.evaluate(PYTHON_READY, server.url), "Python started although its runtime was held"
    return context, page, watch, held


@pytest.mark.parametrize("name", PAGES)
def test_a_first_visit_draws_every_widget_before_python_starts(server, browser, name):
    context, page, watch, held = open_with_python_held(browser, server, PAGES[name])
    try:
        stats = heatmap_pixels(page)
        assert stats["opaque"] > 0.3 * stats["width"] * stats["height"] and stats["colours"] > 10, stats
        if name == "home":
            assert page.locator("[data-attnviz='model-view'] .av-thumb").count() == 72
            page.screenshot(path=str(ARTIFACTS / "built-answers-home-before-python.png"))
        assert page.locator("[data-attnviz] .av-status").first.inner_text().strip(), "the status line says Python is loading"
        if name == "article":
            # Python comes: the reader's first change is computed, not drawn ahead.
            heatmap = "[data-attnviz='heatmap'] .av-heatmap__cells"
            before = page.eval_on_selector(heatmap, "(c) => c.toDataURL()")
            held.release()
            page.locator("[data-attnviz='heatmap'] input[type=range]").fill("0.2")
            page.wait_for_function(f"""([root, before]) => ({PYTHON_READY})(root).then((ready) => ready
                && document.querySelector("{heatmap}").toDataURL() !== before)""", arg=[server.url, before], timeout=60_000)
        held.release()
        watch.assert_clean()
    finally:
        context.close()


@pytest.mark.parametrize("name", ["home", "article"])
def test_the_answers_ahead_are_what_python_computes_in_the_browser(server, browser, name):
    context, page, watch, held = open_with_python_held(browser, server, PAGES[name])
    try:
        held.release()
        compared = page.evaluate(COMPARE, server.url)
        assert len(compared) >= (1 if name == "home" else 3), compared
        for item in compared:
            # the golden tolerances: CPython's numpy and Pyodide's sum in other orders (tests/pyodide/golden.py)
            assert item["diff"] <= (1e-5 if '"minilm"' in item["request"] else 1e-6), item
        watch.assert_clean()
    finally:
        context.close()


def test_a_big_models_first_view_needs_no_download_and_a_change_asks_first(root_server, new_page):
    """Article 11 draws SmolLM2's heads (a 98 MB download the reader must agree to) from the build's
    answers, downloading nothing and asking nothing; the status says what a change will cost, and
    the first change asks before anything is fetched."""
    page, watch = new_page(root_server.origin)
    fetched = []
    page.context.on("request", lambda r: "/models/smollm2/" in r.url and fetched.append(r.url))
    page.goto(root_server.url + "learn/11-language-model/")
    page.wait_for_function("() => [...document.querySelectorAll('[data-attnviz]')].every((h) => h.dataset.ready === 'true')",
                           timeout=60_000)
    page.wait_for_function(PYTHON_READY, arg=root_server.url, timeout=60_000)
    first = page.locator("[data-attnviz='model-view']").first
    assert first.locator(".av-thumb").count() == 30 * 9
    page.wait_for_function("() => document.querySelector('[data-attnviz] .av-status').textContent.includes('built')")
    assert "98.4 MB" in first.locator(".av-status").inner_text()
    assert page.locator("[data-action=consent]").count() == 0
    first.locator(".av-status").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "built-answers-llm-without-download.png"))
    first.locator("input[type=text], textarea").first.fill("When Mary and John went to the shop, John gave a drink to")
    page.wait_for_selector("[data-action=consent]", timeout=30_000)
    page.click("[data-action=decline]")
    page.wait_for_selector("[data-attnviz='model-view'] .av-status--error", timeout=30_000)
    assert "was not downloaded" in first.locator(".av-status").inner_text()
    assert not [u for u in fetched if "manifest" not in u], fetched
    watch.assert_clean()


def test_a_first_visit_that_asks_python_nothing_still_keeps_a_snapshot(root_server, browser):
    """Every widget of article 3 drew from the build's answers, so the worker gets no request (the
    reader saves data: nothing is prepared for the next pages either): once it has been idle after
    booting it keeps its memory snapshot for the next visit all the same."""
    context = browser.new_context(service_workers="block")
    try:
        page = context.new_page()
        watch = PageWatch(page, root_server.origin)
        page.add_init_script("""(() => { const post = Worker.prototype.postMessage;
            Object.defineProperty(navigator, 'connection', { value: { saveData: true } });
            Worker.prototype.postMessage = function (m, ...rest) { if (m && m.type === 'run') window.__runs = (window.__runs || 0) + 1;
                return post.call(this, m, ...rest); }; })()""")
        page.goto(root_server.url + PAGES["article"])
        page.wait_for_function(DRAWN_OR_ASKING, timeout=60_000)
        page.wait_for_function(PYTHON_READY, arg=root_server.url, timeout=60_000)
        for _ in range(240):
            if page.evaluate("caches.open('attnviz-snapshot').then((c) => c.keys()).then((k) => k.length)") == 1:
                break
            page.wait_for_timeout(250)
        else:
            raise AssertionError("no snapshot was stored")
        assert page.evaluate("window.__runs || 0") == 0, "the worker was asked to compute something"
        watch.assert_clean()
    finally:
        context.close()
