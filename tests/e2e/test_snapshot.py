"""Revisits from a memory snapshot, in Chromium: a first visit keeps a snapshot of Python's memory
in the Cache API once the page is idle; a new tab restores it and paints the same heatmap; every
way a snapshot can be wrong falls back to the normal boot, which still paints."""
from __future__ import annotations

import time

import pytest

from tests.e2e.conftest import ARTIFACTS, PageWatch, heatmap_pixels

READY = "[data-attnviz='heatmap'][data-ready='true']"

# In the page (whose CSP forbids eval): the stored snapshot with one byte of memory flipped, or
# one field of its description set, written back with the site's own pack/unpack.
REWRITE = """async ([url, [path, value]]) => {
    const s = await import(url + 'js/snapshot.js');
    const cache = await caches.open('attnviz-snapshot');
    const [key] = await cache.keys();
    const { meta, heap } = s.unpack(new Uint8Array(await (await cache.match(key)).arrayBuffer()));
    const copy = heap.slice();
    if (path === 'flip') copy[copy.length - value] ^= 0xff;
    else path.slice(0, -1).reduce((o, k) => o[k], meta)[path.at(-1)] = value;
    await cache.put(key, new Response(s.pack(meta, copy)));
}"""


# kept-answers.js as if nothing were kept: every heatmap here is drawn by the Python under test (a
# restored one, or one booted after a bad snapshot), not from an answer kept by the visit before.
NOTHING_KEPT = """export const ANSWERS_BUILD = "none";
export async function findAnswer() { return null; }
export async function keepAnswer() {}"""


@pytest.fixture(scope="module")
def context(browser):
    """One browser profile for the module: its Cache API outlives each page, as across tabs."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    ctx.route("**/js/kept-answers.js", lambda route: route.fulfill(body=NOTHING_KEPT, content_type="text/javascript"))
    yield ctx
    ctx.close()


def visit(context, server, path: str = "learn/01-what-is-attention/", ready: str = READY) -> tuple:
    """Open a page (an article whose widgets all use the built-in model) in a new tab; wait for its
    first heatmap. Returns (page, watch, timings)."""
    page = context.new_page()
    watch = PageWatch(page, server.origin)
    page.goto(server.url + path)
    page.wait_for_selector(ready, timeout=90_000)
    timings = page.evaluate("(url) => import(url + 'js/client.js').then((m) => m.getClient().status.timings)", server.url)
    return page, watch, timings


def stored_snapshots(page) -> int:
    return page.evaluate("caches.open('attnviz-snapshot').then((c) => c.keys()).then((k) => k.length)")


def wait_for_snapshot(page, timeout_s: float = 60) -> None:
    """Wait until the worker has stored a snapshot (it does once the page has been idle a second)."""
    deadline = time.monotonic() + timeout_s
    while stored_snapshots(page) != 1:
        assert time.monotonic() < deadline, "no snapshot was stored"
        page.wait_for_timeout(250)


def drawn(page) -> tuple[str, str]:
    return page.text_content(".av-caption"), page.eval_on_selector(".av-heatmap__cells", "c => c.toDataURL()")


def test_first_visit_keeps_a_snapshot_and_a_new_tab_restores_it(context, root_server):
    first, watch, timings = visit(context, root_server)
    assert timings["snapshot"] == "none"
    wait_for_snapshot(first)
    before = drawn(first)
    watch.assert_clean()
    first.close()

    again, watch, timings = visit(context, root_server)
    assert timings["snapshot"] == "restored", timings
    assert drawn(again) == before, "the restored runtime drew another heatmap"
    stats = heatmap_pixels(again)
    assert stats["colours"] > 10 and stats["opaque"] > 0.3 * stats["width"] * stats["height"], stats
    # Python keeps working after a restore: another head is computed, not just shown.
    again.select_option("[data-attnviz='heatmap'] select", "0")
    again.wait_for_function("() => document.querySelector('.av-caption').textContent.startsWith('Head 1: previous token')")
    ARTIFACTS.mkdir(exist_ok=True)
    again.screenshot(path=str(ARTIFACTS / "snapshot-restored-home.png"))
    watch.assert_clean()
    again.close()


def test_a_page_opening_with_a_real_model_keeps_a_snapshot_from_before_its_weights(context, root_server):
    """The home page runs MiniLM, whose weights grow Python's memory past what a snapshot keeps
    (MAX_HEAP_BYTES): the snapshot is taken just before they load, and a revisit restores it and
    loads them into the restored runtime."""
    model_ready = "[data-attnviz='model-view'][data-ready='true']"
    first, watch, timings = visit(context, root_server, "", model_ready)
    first.evaluate("caches.delete('attnviz-snapshot')")  # the earlier tests' snapshot (of the same build)
    first.close()
    first, watch, timings = visit(context, root_server, "", model_ready)
    assert timings["snapshot"] == "none"
    wait_for_snapshot(first)
    heap = first.evaluate("(url) => import(url + 'js/snapshot.js').then(async (s) => "
                          "[s.unpack(await s.loadStored()).heap.length, s.MAX_HEAP_BYTES])", root_server.url)
    assert heap[0] <= heap[1], heap
    watch.assert_clean()
    first.close()

    again, watch, timings = visit(context, root_server, "", model_ready)
    assert timings["snapshot"] == "restored", timings
    stats = heatmap_pixels(again, "[data-attnviz='model-view'] canvas")
    assert stats["colours"] > 10, stats
    ARTIFACTS.mkdir(exist_ok=True)
    again.screenshot(path=str(ARTIFACTS / "snapshot-restored-home-minilm.png"))
    watch.assert_clean()
    again.close()


# Each way a stored snapshot can be wrong, as a change to its description or bytes.
FAILURES = {
    "corrupt-bytes": (("flip", 4096), "damaged"),
    "wrong-build": ((["build"], "0" * 32), "another build"),
    "pyodide-version": ((["pyodide"], "0.27.6"), "Pyodide 0.27.7"),
    "check-fails": ((["check"], "0" * 64), "different answer"),
    "exception-in-restore": ((["dynlibs", 0, "name"], "/lib/python3.12/site-packages/gone.so"), "file_packager"),  # Pyodide: no such library
}


@pytest.mark.parametrize("failure", list(FAILURES))
def test_a_bad_snapshot_falls_back_to_the_normal_boot(context, root_server, failure):
    change, reason = FAILURES[failure]
    page, _, _ = visit(context, root_server)
    wait_for_snapshot(page)
    page.evaluate(REWRITE, [root_server.url, change])
    expected = drawn(page)
    page.close()

    page, watch, timings = visit(context, root_server)
    assert timings["snapshot"].startswith("failed: ") and reason in timings["snapshot"], timings
    assert drawn(page) == expected
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"snapshot-fallback-{failure}.png"))
    # The bad snapshot is gone, and the normal boot keeps a good one for the next visit.
    wait_for_snapshot(page)
    assert not [e for e in watch.console_errors if "snapshot" not in e], watch.console_errors
    page.close()
    page, _, timings = visit(context, root_server)
    assert timings["snapshot"] == "restored", timings
    page.close()
