"""Trusted Types: every page requires them for script sinks, our code builds no HTML from strings,
Material's bundle works through the narrow `default` policy (search results keep their highlights),
and hostile text typed anywhere reaches no sink as markup."""
from __future__ import annotations

import re

from tests.e2e.conftest import SITE
from tests.e2e.test_csp import site_pages
from tests.e2e.test_explorer import open_explorer

HOSTILE = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
SINKS = re.compile(r"\.(innerHTML|outerHTML)\s*[+]?=|insertAdjacentHTML|document\.write|createContextualFragment")


def test_every_page_requires_trusted_types():
    for path in site_pages():
        html = (SITE / path / "index.html").read_text()
        policy = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)"', html).group(1)
        directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
        assert directives["require-trusted-types-for"] == "'script'", path
        assert directives["trusted-types"].split() == ["default", "attnviz-inert", "attnviz-script-url"], path
        # the default policy must exist before Material's bundle runs
        assert html.index("js/trusted-types.js") < html.index("assets/javascripts/bundle."), path


def test_our_scripts_write_no_html_from_strings():
    offenders = [f"{p.name}:{n}" for p in (SITE.parent / "site_js").rglob("*.js") if p.name != "trusted-types.js"
                 for n, line in enumerate(p.read_text().splitlines(), 1) if SINKS.search(line)]
    assert not offenders, offenders


def test_sinks_are_guarded_in_the_page(root_server, new_page):
    """Enforcement is on: a string written as HTML is cut down to text, a foreign script URL is refused."""
    page, watch = new_page(root_server.origin)
    page.goto(root_server.url + "learn/")
    page.wait_for_load_state("load")
    outcome = page.evaluate("""(hostile) => {
        const box = document.createElement('div');
        box.innerHTML = hostile;
        document.body.append(box);
        let worker;
        try { new Worker('data:text/javascript,1'); worker = 'started'; } catch (e) { worker = e.name; }
        return {html: box.innerHTML, images: box.querySelectorAll('img,script').length, worker,
                policy: window.trustedTypes.defaultPolicy.name};
    }""", HOSTILE)
    assert outcome["images"] == 0 and "<" not in outcome["html"], outcome
    assert outcome["worker"] == "TypeError", outcome
    page.wait_for_timeout(200)
    assert page.evaluate("window.__pwned") is None


def test_search_highlights_survive_and_hostile_queries_stay_text(root_server, new_page):
    page, watch = new_page(root_server.origin)
    page.goto(root_server.url)
    page.wait_for_selector("[data-attnviz][data-ready='true']", timeout=60_000)
    page.keyboard.press("/")  # Material's shortcut focuses the search box
    page.keyboard.type("softmax")
    page.wait_for_selector(".md-search-result__item mark", timeout=20_000)
    assert page.locator(".md-search-result__item").count() > 1
    page.keyboard.press("Control+A")
    page.keyboard.type(HOSTILE + " softmax")
    page.wait_for_timeout(1500)
    assert page.locator(".md-search-result img, .md-search-result script").count() == 0
    assert page.evaluate("window.__pwned") is None
    watch.assert_clean()


def test_hostile_text_in_the_explorer_is_text(root_server, new_page):
    page, watch = open_explorer(new_page, root_server)
    page.locator("[data-control=text]").fill(HOSTILE)
    page.wait_for_function("() => [...document.querySelectorAll('.av-chip')].some((c) => c.textContent.includes('onerror'))",
                           timeout=30_000)
    assert page.locator(".av-explorer img, .av-explorer script").count() == 0
    assert page.evaluate("window.__pwned") is None
    watch.assert_clean()  # includes Trusted Types violations
