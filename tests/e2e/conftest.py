"""Fixtures for browser tests: the built site on a local server, Chromium, and a page that records
every request and console error so a test fails on any request leaving the local origin."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from tests.support.browser import launch
from tests.support.server import SiteServer

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "site"
ARTIFACTS = ROOT / "test-artifacts"
SUBPATH = "/attention-visualizer/"


@pytest.fixture(scope="session")
def site_dir() -> Path:
    if not (SITE / "index.html").exists() or not (SITE / "pyodide" / "pyodide.mjs").exists():
        pytest.fail("The site is not built: run `make site` first (make test does).")
    return SITE


@pytest.fixture(scope="session", params=["/", SUBPATH], ids=["root", "subpath"])
def server(request, site_dir):
    with SiteServer(site_dir, request.param) as srv:
        yield srv


@pytest.fixture(scope="session")
def root_server(site_dir):
    with SiteServer(site_dir, "/") as srv:
        yield srv


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as pw:
        b = launch(pw)
        yield b
        b.close()


# Collects the page's Content-Security-Policy violations (init scripts are exempt from the CSP).
CSP_LISTENER = """window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => window.__cspViolations.push(
    {directive: e.effectiveDirective, blocked: e.blockedURI, source: e.sourceFile, line: e.lineNumber}));"""


class PageWatch:
    """Everything a page asked for and complained about."""

    def __init__(self, page, origin: str) -> None:
        self.page = page
        self.origin = origin
        page.add_init_script(CSP_LISTENER)
        self.requests: list[str] = []
        self.console_errors: list[str] = []
        self.failed: list[str] = []
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("console", lambda m: m.type == "error" and self.console_errors.append(m.text))
        page.on("pageerror", lambda e: self.console_errors.append(f"uncaught: {e}"))
        page.on("requestfailed", lambda r: self.failed.append(f"{r.url} ({r.failure})"))
        # Workers' requests go through the context too; route everything to see what leaves.
        page.context.on("request", lambda r: self.requests.append(r.url))

    def foreign_requests(self) -> list[str]:
        return [u for u in self.requests if not (u.startswith(self.origin) or u.startswith("data:") or u.startswith("blob:"))]

    def csp_violations(self) -> list[dict]:
        """Violations reported in the current document."""
        return self.page.evaluate("window.__cspViolations || []")

    def assert_clean(self) -> None:
        assert not self.foreign_requests(), f"requests left the local origin: {self.foreign_requests()}"
        assert not self.console_errors, f"console errors: {self.console_errors}"
        assert not self.csp_violations(), f"Content-Security-Policy violations: {self.csp_violations()}"


@pytest.fixture
def new_page(browser, request):
    """Open pages in a fresh context; returns (page, watch). Saves a screenshot as an artifact."""
    contexts = []

    def open_page(origin: str, viewport=(1280, 900)):
        context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
        contexts.append(context)
        page = context.new_page()
        return page, PageWatch(page, origin)

    yield open_page
    ARTIFACTS.mkdir(exist_ok=True)
    for i, context in enumerate(contexts):
        for j, page in enumerate(context.pages):
            name = f"{request.node.name}-{i}{j}.png".replace("/", "_").replace("[", "-").replace("]", "")
            try:
                page.screenshot(path=str(ARTIFACTS / name), full_page=True)
            except Exception:
                pass
        context.close()


def heatmap_pixels(page, selector: str = ".av-heatmap__cells") -> dict:
    """Colour statistics of a heatmap canvas, read in the page: proves cells were drawn."""
    return page.eval_on_selector(selector, """(c) => {
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        const colours = new Set(); let opaque = 0;
        for (let i = 0; i < d.length; i += 4) {
            if (d[i + 3] > 0) { opaque++; colours.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]); }
        }
        return {width: c.width, height: c.height, opaque, colours: colours.size};
    }""")


os.environ.setdefault("PW_TEST_SCREENSHOT_NO_FONTS_READY", "1")


class HeldRequests:
    """Hold every request matching a pattern (on a page or a whole context) until release():
    a test's way to keep a download from finishing before what it checks has happened."""

    def __init__(self, target, pattern: str) -> None:
        self.target, self.pattern, self.routes = target, pattern, []
        target.route(pattern, lambda route: self.routes.append(route))  # (Playwright wants a Python function)

    def release(self) -> None:
        """Let the held requests go, and any later ones through."""
        self.target.unroute(self.pattern)  # this also lets go of the held ones (Playwright's unroute)
        for route in self.routes:
            try:
                route.continue_()
            except Exception as err:  # already let go by unroute
                if "already handled" not in str(err):
                    raise
