"""The home page boots Pyodide in a worker and draws a real heatmap, at the root and under a sub-path."""
from __future__ import annotations

from tests.e2e.conftest import heatmap_pixels


def test_home_page_draws_heatmap_offline(server, new_page):
    page, watch = new_page(server.origin)
    page.goto(server.url)
    page.wait_for_selector("[data-attnviz='heatmap'][data-ready='true']", timeout=60_000)
    stats = heatmap_pixels(page)
    assert stats["width"] > 100 and stats["height"] > 100
    assert stats["opaque"] > 0.3 * stats["width"] * stats["height"], stats
    assert stats["colours"] > 10, f"a heatmap has many colours, got {stats}"
    caption = page.text_content(".av-caption")
    assert caption.startswith("Head 2: self")  # index 1 in the options, numbered from 1 on screen
    # The worker's downloads all came from this server, under the site's own path.
    assert any(u.startswith(server.url + "pyodide/") and u.endswith(".wasm") for u in watch.requests)
    watch.assert_clean()


def test_head_picker_redraws(root_server, new_page):
    page, watch = new_page(root_server.origin)
    page.goto(root_server.url)
    page.wait_for_selector("[data-attnviz='heatmap'][data-ready='true']", timeout=60_000)
    before = page.eval_on_selector(".av-heatmap__cells", "c => c.toDataURL()")
    page.select_option("[data-attnviz='heatmap'] select", "0")
    page.wait_for_function("() => document.querySelector('.av-caption').textContent.startsWith('Head 1: previous token')")
    after = page.eval_on_selector(".av-heatmap__cells", "c => c.toDataURL()")
    assert before != after
    watch.assert_clean()


def test_missing_runtime_file_shows_error_and_retry_recovers(root_server, new_page):
    page, watch = new_page(root_server.origin)
    broken = {"on": True}

    def maybe_break(route):
        if broken["on"]:
            route.fulfill(status=404, body="gone")
        else:
            route.continue_()

    page.context.route("**/pyodide/python_stdlib.zip", maybe_break)
    page.goto(root_server.url)
    page.wait_for_selector(".av-status--error", timeout=60_000)
    assert "python_stdlib.zip" in page.text_content(".av-status")
    broken["on"] = False
    page.click(".av-status__retry")
    page.wait_for_selector("[data-attnviz='heatmap'][data-ready='true']", timeout=60_000)
    assert page.locator(".av-status--error").count() == 0, "the recovered page still shows the error"
    assert not watch.foreign_requests()
