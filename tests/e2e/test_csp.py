"""The Content-Security-Policy makes "no third-party requests" a guarantee the browser enforces:
the page draws its heatmap with zero violations, and anything that tries to reach another origin
is blocked and reported; the worker (which a meta tag does not cover) refuses other origins itself."""
from __future__ import annotations

import re

from tests.e2e.conftest import SITE, heatmap_pixels
from tests.support.server import SiteServer

ELSEWHERE = "http://127.0.0.2:9/"  # another origin; nothing listens there
READY = "[data-attnviz='heatmap'][data-ready='true']"


def page_policy() -> str:
    html = (SITE / "index.html").read_text()
    return re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)"', html).group(1)


def test_policy_is_first_in_head_and_strict():
    html = (SITE / "index.html").read_text()
    head = html[html.index("<head>"):]
    # First but for the character set, which loads nothing
    assert re.match(r"<head>\s*(<meta charset=\"utf-8\">\s*)?<meta http-equiv=\"Content-Security-Policy\"", head), \
        "the policy must come first"
    directives = dict(d.strip().split(" ", 1) for d in page_policy().split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["connect-src"] == directives["worker-src"] == directives["font-src"] == "'self'"
    assert directives["img-src"] == "'self' data:"
    assert directives["object-src"] == "'none'"
    for name in ("script-src", "style-src"):
        assert "unsafe-inline" not in directives[name] and "'unsafe-eval'" not in directives[name]


def test_foreign_requests_are_blocked_and_reported(root_server, new_page):
    page, watch = new_page(root_server.origin)
    page.goto(root_server.url)
    page.wait_for_selector(READY, timeout=60_000)
    assert heatmap_pixels(page, "[data-attnviz='heatmap'] .av-heatmap__cells")["colours"] > 10
    watch.assert_clean()  # the page works under the policy with zero violations

    outcome = page.evaluate("""async (url) => {
        const img = new Image();
        const loaded = new Promise((resolve) => { img.onload = () => resolve('loaded'); img.onerror = () => resolve('blocked'); });
        img.src = url + 'pixel.png';
        document.body.append(img);
        let fetched;
        try { await fetch(url + 'beacon'); fetched = 'sent'; } catch (e) { fetched = 'blocked'; }
        return {fetched, img: await loaded};
    }""", ELSEWHERE)
    assert outcome == {"fetched": "blocked", "img": "blocked"}
    # Violation events are queued as tasks: wait for both, not for a guessed time.
    page.wait_for_function("() => (window.__cspViolations || []).length >= 2", timeout=10_000)
    blocked = {(v["directive"], v["blocked"]) for v in watch.csp_violations()}
    assert ("connect-src", ELSEWHERE + "beacon") in blocked
    assert ("img-src", ELSEWHERE + "pixel.png") in blocked
    # Chromium may announce a request it then blocks; none may get further than that.
    tried = {u for u in watch.requests if u.startswith(ELSEWHERE)}
    assert all(f"{u} (csp)" in watch.failed for u in tried), (tried, watch.failed)


def test_worker_refuses_other_origins(root_server, new_page):
    page, watch = new_page(root_server.origin)
    page.goto(root_server.url)
    page.wait_for_selector(READY, timeout=60_000)
    (worker,) = [w for w in page.workers if w.url.endswith("/js/worker.js")]
    message = worker.evaluate("(url) => fetch(url).then(() => 'sent', (e) => e.message)", ELSEWHERE + "from-worker")
    assert message.startswith("Refused to fetch " + ELSEWHERE), message
    assert not any(u.startswith(ELSEWHERE) for u in watch.requests)


def test_worker_runs_under_a_header_policy_with_only_wasm_unsafe_eval(site_dir, browser):
    """Hosts that can send headers should give the worker this policy: Pyodide needs
    'wasm-unsafe-eval' to compile WebAssembly and nothing more ('unsafe-eval' is not needed). The
    policy includes the pages' Trusted Types directives, which then cover the worker too: it needs
    no policy of its own (Pyodide loads by module import and WebAssembly, never from a string)."""
    assert "require-trusted-types-for 'script'" in page_policy()
    policy = page_policy().replace("script-src 'self'", "script-src 'self' 'wasm-unsafe-eval'")
    with SiteServer(site_dir, "/", headers={"Content-Security-Policy": policy}) as server:
        context = browser.new_context()
        page = context.new_page()
        errors = []
        page.on("console", lambda m: m.type in ("error", "warning") and errors.append(m.text))
        page.goto(server.url)
        page.wait_for_selector(READY + ", .av-status--error", timeout=60_000)
        status = page.text_content(".av-status")
        ready = page.get_attribute("[data-attnviz='heatmap']", "data-ready")
        context.close()
    assert ready == "true", f"{status} {errors}"
    assert not [e for e in errors if "Content Security Policy" in e], errors


def site_pages() -> list[str]:
    """Every page of the built site, as a path under its root."""
    return sorted(p.relative_to(SITE).as_posix().removesuffix("index.html") for p in SITE.rglob("index.html"))


ALL_DRAWN_OR_ASKING = """() => [...document.querySelectorAll('[data-attnviz]')]
    .every((w) => w.dataset.ready === 'true' || w.dataset.waiting === 'consent')"""


def test_every_page_works_under_the_policy(root_server, new_page):
    """Each page, with all its widgets drawn (agreeing to every big download they ask for, so the
    real models run under the policy too), raises no violation, no console error, no foreign request."""
    page, watch = new_page(root_server.origin)
    for path in site_pages():
        page.goto(root_server.url + path)
        page.wait_for_function(ALL_DRAWN_OR_ASKING, timeout=120_000)
        for button in page.locator("[data-action=consent]").all():  # one question per model and page
            button.click()
        page.wait_for_function("() => [...document.querySelectorAll('[data-attnviz]')]"
                               ".every((w) => w.dataset.ready === 'true')", timeout=180_000)
        assert page.locator(".av-status--error").count() == 0, path
        try:
            watch.assert_clean()
        except AssertionError as err:
            raise AssertionError(f"{path}: {err}") from None


def test_charset_stays_in_the_first_1024_bytes_of_every_page():
    """Browsers look for the charset in the first 1024 bytes: the policy's hashes and the tags that
    start the worker must never push it further (the build puts it first in <head>)."""
    for path in site_pages():
        html = (SITE / path / "index.html").read_bytes()
        assert 0 < html.find(b'<meta charset="utf-8">') < 1024 - len(b'<meta charset="utf-8">'), path
