"""The MkDocs plugin in other people's sites: two throwaway sites, the default theme and Material,
with `plugins: [attnviz]` and a ```attnviz block, built in a temporary folder and opened in
Chromium: the widget paints, no request leaves the site, no CSP violation, no console error, and
a reload with the network off works (the service worker).
The default-theme site takes Pyodide from PyPI (no node_modules), as a site without npm would."""
from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.e2e.conftest import heatmap_pixels
from tests.support.server import SiteServer

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "build"

PAGE = textwrap.dedent('''\
    # Attention in my course

    A heatmap from a fenced block:

    ```attnviz
    widget: heatmap
    text: The teacher read the book because it was due.
    heads: 4
    control: head
    ```

    And the lowest-level form, a placeholder:

    <div data-attnviz="masking" data-options='{"text": "One two three four"}'></div>

    How to write one (shown, not run):

    ````markdown
    ```attnviz
    widget: heatmap
    ```
    ````
    ''')


def build_site(tmp: Path, theme: str, plugin: str) -> Path:
    (tmp / "docs").mkdir(parents=True)
    (tmp / "docs" / "index.md").write_text(PAGE)
    (tmp / "mkdocs.yml").write_text(f"site_name: Course notes\ntheme:\n  name: {theme}\nplugins:\n  - search\n{plugin}")
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict"], cwd=tmp, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    return tmp / "site"


@pytest.fixture(scope="module", params=["mkdocs", "material"])
def other_site(request, tmp_path_factory) -> tuple[str, Path]:
    theme = request.param
    tmp = tmp_path_factory.mktemp(f"site-{theme}")
    cache = tmp / "cache"
    if theme == "mkdocs":
        # No node_modules: Pyodide's core files come from the pinned PyPI package (already downloaded here).
        carrier = BUILD / "cache" / "numpy-source"
        if not carrier.is_dir():
            pytest.fail("build/cache/numpy-source is missing: run `make site` first.")
        shutil.copytree(carrier, cache / "cache" / "numpy-source")
        plugin = f"  - attnviz:\n      cache_dir: {cache}\n      pyodide: no-npm-here\n"
    else:
        # The runtime this repository already assembled (Pyodide from npm), copied: a fast build.
        shutil.copytree(BUILD / "runtime-base", cache / "runtime-base")
        plugin = f"  - attnviz:\n      cache_dir: {cache}\n      pyodide: {ROOT / 'node_modules' / 'pyodide'}\n"
    return theme, build_site(tmp, theme, plugin)


def test_widgets_in_another_site(other_site, new_page):
    theme, site = other_site
    index = (site / "index.html").read_text()
    assert 'data-attnviz="heatmap"' in index and "```attnviz" in index.replace("&#96;", "`"), \
        "the block became a widget; the one inside the example fence stayed text"
    assert '<meta http-equiv="Content-Security-Policy"' in index
    assert (site / "sw.js").is_file() and (site / "pyodide" / "pyodide.mjs").is_file()
    assert not (site / "js" / "notebook").exists(), "the notebook view is not served"
    with SiteServer(site, "/") as server:
        page, watch = new_page(server.origin)
        page.goto(server.url)
        page.wait_for_selector("[data-attnviz='heatmap'][data-ready='true']", timeout=60000)
        page.wait_for_selector("[data-attnviz='masking'][data-ready='true']", timeout=30000)
        stats = heatmap_pixels(page, "[data-attnviz='heatmap'] .av-heatmap__cells")
        assert stats["opaque"] > 1000 and stats["colours"] > 4, stats
        # The head picker recomputes nothing but redraws: the widget is live, not a picture.
        before = page.locator("[data-attnviz='heatmap'] .av-caption").text_content()
        page.select_option("[data-attnviz='heatmap'] select", index=2)
        page.wait_for_function(f"document.querySelector(\"[data-attnviz='heatmap'] .av-caption\").textContent !== {before!r}")
        watch.assert_clean()
        assert not watch.failed, watch.failed
        # Offline, as on this site: once the service worker has the site, a reload works with no network.
        assert page.evaluate("async () => Boolean(await navigator.serviceWorker.ready)")
        page.wait_for_function("caches.keys().then(k => k.length > 0)", timeout=30000)
        page.context.set_offline(True)
        page.reload()
        page.wait_for_selector("[data-attnviz='heatmap'][data-ready='true']", timeout=60000)
        assert heatmap_pixels(page, "[data-attnviz='heatmap'] .av-heatmap__cells")["colours"] > 4
