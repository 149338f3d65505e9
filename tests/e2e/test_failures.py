"""Failures a reader can meet: a runtime file missing or damaged, the worker crashing while it
computes. Each gets a clear message naming what broke, Retry recovers, the last good view stays."""
from __future__ import annotations

import pytest

from tests.e2e.conftest import heatmap_pixels

READY = "[data-attnviz='heatmap'][data-ready='true']"
CELLS = "[data-attnviz='heatmap'] .av-heatmap__cells"
# Every widget of the page has drawn (the home page's real model too): nothing left in flight.
ALL_READY = "() => [...document.querySelectorAll('[data-attnviz]')].every((w) => w.dataset.ready === 'true')"
GARBAGE = b"this is not what the lock file promised " * 100


@pytest.mark.parametrize("pattern, named", [
    ("**/pyodide/numpy-*.whl", "numpy (numpy-2.0.2-cp312-cp312-pyodide_2024_0_wasm32.whl) is damaged"),
    ("**/pyodide/pyodide.asm.wasm", "pyodide.asm.wasm could not be compiled"),
], ids=["numpy-wheel", "pyodide-wasm"])
def test_damaged_runtime_file_is_named_and_retry_recovers(root_server, new_page, pattern, named):
    page, watch = new_page(root_server.origin)
    broken = {"on": True}

    def serve(route):
        if broken["on"]:
            route.fulfill(status=200, body=GARBAGE, content_type="application/octet-stream")
        else:
            route.continue_()

    page.context.route(pattern, serve)
    page.goto(root_server.url)
    # Before the fix, a damaged pyodide.asm.wasm left the page "Loading…" forever.
    page.wait_for_selector(".av-status--error", timeout=20_000)
    assert named in page.text_content(".av-status__text")
    assert page.is_visible(".av-status__retry")
    broken["on"] = False
    page.click(".av-status__retry")
    page.wait_for_selector(READY, timeout=60_000)
    assert not page.is_visible(".av-status__retry")
    assert not watch.foreign_requests()


def test_worker_crash_mid_computation_keeps_the_view_and_retry_recomputes(root_server, new_page):
    page, watch = new_page(root_server.origin)
    page.goto(root_server.url)
    page.wait_for_function(ALL_READY, timeout=120_000)
    before = page.eval_on_selector(CELLS, "c => c.toDataURL()")
    (worker,) = [w for w in page.workers if w.url.endswith("/js/worker.js")]
    # The next request makes the worker throw an uncaught error while it is computing.
    worker.evaluate("""() => self.addEventListener('message', (e) => {
        if (e.data.type === 'run') throw new Error('simulated crash');
    })""")
    page.evaluate("""async () => {
        const { getClient } = await import('./js/client.js');
        window.__recomputed = getClient().run({ text: 'A crash must not lose the view.', heads: 8 }, 'crash-test');
    }""")
    page.wait_for_selector(".av-status--error", timeout=20_000)
    message = page.text_content(".av-status__text")
    assert "The computation stopped unexpectedly" in message and "simulated crash" in message, message
    # The last good heatmap is still there, untouched.
    assert page.eval_on_selector(CELLS, "c => c.toDataURL()") == before
    assert heatmap_pixels(page, CELLS)["colours"] > 10
    page.click(".av-status__retry")
    result = page.evaluate("window.__recomputed.then((r) => ({ ok: r.ok, tokens: r.tokens.text.length }))")
    assert result["ok"] and result["tokens"] > 3, result
    page.wait_for_selector(".av-status[data-state='ready']", state="attached")
    assert len([w for w in page.workers if w.url.endswith("/js/worker.js")]) == 1, "the crashed worker is gone"
    assert not watch.foreign_requests()
