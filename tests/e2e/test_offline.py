"""Offline revisits: the first visit leaves a service worker with the whole site precached (and
MiniLM's weights in their own cache); with the network off, a reload still works fully; a new
build replaces the old caches."""
from __future__ import annotations

import shutil

from attnviz.mkdocs import hooks as mkdocs_hooks
from tests.e2e.conftest import heatmap_pixels
from tests.e2e.test_minilm import open_minilm
from tests.support.server import SiteServer

READY = "[data-attnviz='heatmap'][data-ready='true']"
# Every widget has drawn: on the home page that includes the real model leading it.
ALL_READY = "() => [...document.querySelectorAll('[data-attnviz]')].every((w) => w.dataset.ready === 'true')"
EXPLORER_READY = "() => document.querySelector('.av-explorer')?.dataset.ready === 'true'"


def wait_for_offline_copy(page) -> list[str]:
    """Wait until the service worker has installed (its precache complete) and controls the page;
    returns the names of the caches."""
    page.wait_for_function("() => navigator.serviceWorker.ready.then(() => true)", timeout=60_000)  # never forever
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=60_000)
    return page.evaluate("caches.keys()")


def test_reload_and_new_pages_work_with_the_network_off(new_page, server):
    page, watch = new_page(server.origin)
    page.goto(server.url)
    page.wait_for_function(ALL_READY, timeout=120_000)
    assert any(name.startswith("attnviz-site-") for name in wait_for_offline_copy(page))

    page.context.set_offline(True)
    page.reload()
    page.wait_for_function(ALL_READY, timeout=120_000)  # the home page's real model too, from its cache
    assert heatmap_pixels(page, "[data-attnviz='heatmap'] .av-heatmap__cells")["colours"] > 10
    assert heatmap_pixels(page, "[data-attnviz='model-view'] .av-heatmap__cells")["colours"] > 10
    # A page this visit never opened comes from the precache too, with its Python and numpy.
    page.goto(server.url + "explorer/#text=Offline%20and%20still%20computing.")
    page.wait_for_function(EXPLORER_READY, timeout=60_000)
    chips = page.locator(".av-explorer .av-chip").all_inner_texts()
    assert chips[0].startswith("Offline") and chips[1].startswith("and"), chips
    page.goto(server.url + "learn/03-scaled-dot-product/")
    assert page.locator("h1").inner_text().strip()
    page.wait_for_function(ALL_READY, timeout=60_000)  # its first views from the build's answers, precached
    page.context.set_offline(False)
    watch.assert_clean()


def test_minilm_works_offline_after_one_online_use(new_page, root_server):
    page, watch = new_page(root_server.origin)
    text = "The weights stay on this machine."
    open_minilm(page, root_server, text)
    wait_for_offline_copy(page)
    page.context.set_offline(True)
    page.reload()
    open_minilm(page, root_server, text)
    assert heatmap_pixels(page, ".av-explorer .av-heatmap__cells")["colours"] > 10
    page.context.set_offline(False)
    watch.assert_clean()


def test_a_new_build_replaces_the_old_caches(new_page, site_dir, tmp_path):
    copy = tmp_path / "site"
    shutil.copytree(site_dir, copy, ignore=shutil.ignore_patterns("models"))
    with SiteServer(copy, "/") as server:
        page, watch = new_page(server.origin)
        page.goto(server.url + "learn/")
        (old,) = [n for n in wait_for_offline_copy(page) if n.startswith("attnviz-site-")]

        # A new build: one page changes, and so does the service worker's version.
        page_file = copy / "learn" / "index.html"
        page_file.write_text(page_file.read_text().replace("</h1>", " (new build)</h1>", 1))
        version = mkdocs_hooks.write_service_worker(copy)
        assert "attnviz-site-" + version != old

        page.reload()  # a navigation makes the browser look for a new sw.js
        page.wait_for_function("(v) => caches.keys().then((k) => k.includes('attnviz-site-' + v))", arg=version,
                               timeout=60_000)
        page.wait_for_function("(old) => caches.keys().then((k) => !k.includes(old))", arg=old, timeout=60_000)
        page.context.set_offline(True)
        page.reload()
        assert "(new build)" in page.locator("h1").inner_text()
        page.context.set_offline(False)
        watch.assert_clean()
