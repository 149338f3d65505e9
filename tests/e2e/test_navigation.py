"""Page to page without reloading: a reader following links keeps one worker, one Pyodide and one
numpy for the whole visit; each page's widgets paint from that worker, the widgets of the page left
are gone with everything they held (status listeners, window listeners, requests), back and
forward and search work, and a page loaded directly still works alone."""
from __future__ import annotations

from tests.e2e.conftest import heatmap_pixels
from tests.support.browser import without_built_answers

READY = "[data-attnviz][data-ready='true']"
# Every widget host of the page on screen has drawn (hosts of a page being swapped in are new).
ALL_READY = """() => { const hosts = [...document.querySelectorAll('[data-attnviz]')];
    return hosts.length > 0 && hosts.every((h) => h.dataset.ready === 'true') && !document.querySelector('[data-left]'); }"""
# The client's status listeners: one per status line on screen, none left from pages read before.
LISTENERS = """async (root) => { const { getClient } = await import(root + 'js/client.js');
    return [getClient().listeners.size, document.querySelectorAll('.av-status').length]; }"""


class PythonStarts:
    """Counts what a Pyodide start costs: the computation worker, and pyodide.asm.wasm as the page's
    worker fetches it (the service worker's offline copy fetches it once more, in its own right)."""

    def __init__(self, page) -> None:
        self.workers: list[str] = []
        self.wasm: list[str] = []
        page.on("worker", lambda w: w.url.endswith("/js/worker.js") and self.workers.append(w.url))
        page.context.on("request", lambda r: r.url.endswith("/pyodide.asm.wasm") and r.service_worker is None
                        and self.wasm.append(r.url))


def leave_by(page, selector: str) -> None:
    """Click a link and wait until the next page is on screen and all its widgets have drawn."""
    page.evaluate("document.querySelectorAll('[data-attnviz]').forEach((h) => h.dataset.left = '1')")
    page.click(selector)
    page.wait_for_function(ALL_READY, timeout=60_000)


def assert_painted(page) -> None:
    stats = heatmap_pixels(page)
    assert stats["opaque"] > 0.3 * stats["width"] * stats["height"] and stats["colours"] > 10, stats


def open_painted(page, url: str) -> None:
    """Load a page (a full load) and wait until all its widgets have drawn a heatmap."""
    page.goto(url)
    page.wait_for_function(ALL_READY, timeout=60_000)
    assert_painted(page)


def test_three_pages_in_a_row_start_python_once(server, new_page):
    page, watch = new_page(server.origin)
    starts = PythonStarts(page)
    open_painted(page, server.url + "learn/01-what-is-attention/")
    titles = [page.title()]

    # A request made on this page and answered after the reader left is not delivered.
    page.evaluate("""async (root) => {
        const { getClient } = await import(root + 'js/client.js');
        const text = Array.from({length: 300}, (_, i) => 'word' + i).join(' ');
        window.__stale = 'pending';
        getClient().run({text, heads: 8}, 'probe').then(() => { window.__stale = 'delivered'; },
                                                          (e) => { window.__stale = e.constructor.name; });
    }""", server.url)
    leave_by(page, "a.md-footer__link--next")  # 2. Queries, keys, values
    assert_painted(page)
    titles.append(page.title())
    page.wait_for_function("() => window.__stale !== 'pending'", timeout=60_000)
    assert page.evaluate("window.__stale") == "Superseded"

    leave_by(page, "a.md-footer__link--next")  # 3. Scores, scaling, softmax: three widgets
    assert_painted(page)
    assert page.locator(".arithmatex .katex").count() > 5, "formulas of a page swapped in are rendered"
    titles.append(page.title())
    listeners, lines = page.evaluate(LISTENERS, server.url)
    assert listeners == lines, f"{listeners} status listeners for {lines} status lines: the pages left kept theirs"

    page.evaluate("document.querySelectorAll('[data-attnviz]').forEach((h) => h.dataset.left = '1')")
    page.go_back()
    page.wait_for_function(ALL_READY, timeout=60_000)
    assert page.title() == titles[1] and page.url.endswith("/learn/02-queries-keys-values/")
    assert_painted(page)

    assert [t.split(" - ")[0] for t in titles] == ["1. What attention is", "2. Queries, keys, values",
                                                    "3. Scores, scaling, softmax"]
    assert len(starts.workers) == 1, starts.workers
    assert len(starts.wasm) == 1, starts.wasm
    watch.assert_clean()


def test_explorer_left_mid_typing_leaves_the_next_page_alone(root_server, new_page):
    """The Explorer's debounce fires after the reader has left: it must neither compute nor write its
    state into the next page's address, and its hashchange listener is gone with it."""
    page, watch = new_page(root_server.origin)
    starts = PythonStarts(page)
    page.goto(root_server.url)
    page.wait_for_function(ALL_READY, timeout=60_000)
    leave_by(page, "a.md-tabs__link:has-text('Explorer')")
    page.fill("[data-control=text]", "Words typed just before leaving.")
    page.wait_for_function("() => location.hash.includes('leaving') && document.querySelector('.av-chips').textContent.includes('leaving')",
                           timeout=60_000)
    # Type, then leave in the same task: well within the Explorer's 200 ms debounce.
    computes = page.evaluate("""() => {
        const box = document.querySelector('[data-control=text]');
        box.value += ' More';
        box.dispatchEvent(new Event('input', {bubbles: true}));
        [...document.querySelectorAll('a.md-tabs__link')].find((a) => a.textContent.trim() === 'Learn').click();
        return window.__attnvizExplorer.computes;
    }""")
    page.wait_for_function("() => !document.querySelector('.av-explorer') && location.pathname.endsWith('/learn/')")
    page.wait_for_timeout(600)  # past the debounce
    assert page.evaluate("location.hash") == ""
    page.evaluate("location.hash = '#text=Not%20for%20the%20Explorer'")  # its hashchange listener is gone
    page.wait_for_timeout(400)
    assert page.evaluate("window.__attnvizExplorer.computes") == computes

    # Back to the Explorer: its state comes back from the address, from the same worker.
    page.go_back()
    page.go_back()
    page.wait_for_selector(".av-explorer[data-ready='true']", timeout=60_000)
    assert page.input_value("[data-control=text]") == "Words typed just before leaving."
    assert len(starts.workers) == 1 and len(starts.wasm) == 1, (starts.workers, starts.wasm)
    watch.assert_clean()


def test_search_result_opens_in_place(root_server, new_page):
    page, watch = new_page(root_server.origin)
    starts = PythonStarts(page)
    page.goto(root_server.url)
    page.wait_for_function(ALL_READY, timeout=60_000)
    page.keyboard.press("/")
    page.keyboard.type("causal mask")
    page.wait_for_selector(".md-search-result__item", timeout=30_000)
    page.evaluate("document.querySelectorAll('[data-attnviz]').forEach((h) => h.dataset.left = '1')")
    page.click(".md-search-result__item a[href*='04-masking']")
    page.wait_for_function(ALL_READY, timeout=60_000)
    assert "/learn/04-masking/" in page.url
    assert_painted(page)
    assert len(starts.workers) == 1, starts.workers
    watch.assert_clean()


# Whether the client holds a computed answer for each of these requests (as JSON).
PREPARED = """async ([root, wanted]) => { const { getClient } = await import(root + 'js/client.js');
    const prepared = getClient().prepared;
    return wanted.every((key) => prepared.has(key) && prepared.get(key).result); }"""
# Every request the page's own widgets send its worker (not those it prepares for the pages after
# it), as JSON (an init script: from the page's first request on).
ALL_RUNS = """window.__allRuns = []; const post = Worker.prototype.postMessage;
    Worker.prototype.postMessage = function (m, ...rest) {
        if (m && m.type === 'run' && !m.ahead) window.__allRuns.push(JSON.stringify(m.request));
        return post.call(this, m, ...rest); };"""
# From now until every widget of the next page has drawn: the requests the page sends its worker.
RECORD_RUNS = """() => { window.__runs = []; const post = Worker.prototype.postMessage;
    const drawn = () => { const hosts = [...document.querySelectorAll('[data-attnviz]:not([data-left])')];
        return hosts.length > 0 && hosts.every((h) => h.dataset.ready === 'true'); };
    Worker.prototype.postMessage = function (m, ...rest) {
        if (m && m.type === 'run' && !drawn()) window.__runs.push(m.request);
        return post.call(this, m, ...rest); }; }"""
# What every heatmap canvas of the page shows, as PNG addresses.
CANVASES = "() => [...document.querySelectorAll('.av-heatmap__cells')].map((c) => c.toDataURL())"


def test_the_next_page_is_prepared_while_the_reader_reads(server, new_page):
    """While the reader reads a page, its footer's next page gets its widgets' answers computed:
    following the link draws them without asking Python, and they are what a direct load draws.
    (Without the build's answers, which would answer them first: as on a site built without node.)"""
    # What article 3 asks Python for when it is loaded directly, and what it draws then.
    direct, _ = new_page(server.origin)
    without_built_answers(direct.context)
    direct.add_init_script(ALL_RUNS)
    open_painted(direct, server.url + "learn/03-scaled-dot-product/")
    wanted, direct_drawn = direct.evaluate("window.__allRuns"), direct.evaluate(CANVASES)
    assert wanted

    page, watch = new_page(server.origin)
    without_built_answers(page.context)
    open_painted(page, server.url + "learn/02-queries-keys-values/")
    for _ in range(100):  # the previous page's answers may be ready before the next page's
        if page.evaluate(PREPARED, [server.url, wanted]):
            break
        page.wait_for_timeout(100)
    else:
        prepared = page.evaluate("(root) => import(root + 'js/client.js').then((m) => [...m.getClient().prepared.keys()])",
                                 server.url)
        raise AssertionError(f"the next page's answers were not all prepared while the reader read: {prepared}")
    page.evaluate(RECORD_RUNS)
    leave_by(page, "a.md-footer__link--next")  # 3. Scores, scaling, softmax: three widgets
    assert page.url.endswith("/learn/03-scaled-dot-product/")
    assert page.evaluate("window.__runs") == [], "the next page asked Python for answers it had ready"
    assert_painted(page)
    assert page.evaluate(CANVASES) == direct_drawn, "a prepared answer draws what a direct load draws"
    watch.assert_clean()


def test_a_page_loaded_directly_works_alone(server, new_page):
    """A shared link or a reload: the page boots its own worker and draws, as before."""
    page, watch = new_page(server.origin)
    starts = PythonStarts(page)
    open_painted(page, server.url + "learn/04-masking/")
    page.reload()
    page.wait_for_function(ALL_READY, timeout=60_000)
    assert_painted(page)
    assert len(starts.workers) == 2, "a reload is a new document: a new worker"
    watch.assert_clean()
