"""Accessibility: axe-core on every built page (light and dark palettes where it matters most), and
the Explorer used with the keyboard alone, every focused control showing where the focus is."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.widgets import SITE

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = {"serious", "critical"}
# The Explorer hides its heads grid, step-by-step view and source box by default: open them too.
EXPLORER_OPEN = "explorer/#mode=cross&view=grid&step=1&token=3"
# Pages that also run in the dark palette: those with the most of our own colours.
BOTH_SCHEMES = {"", "explorer/", EXPLORER_OPEN}


def site_pages() -> list[str]:
    """Site-relative URLs of every built page but 404, from the HTML files themselves (the sitemap
    is empty when site_url is unset)."""
    pages = []
    for html in sorted(SITE.rglob("index.html")):
        rel = html.parent.relative_to(SITE).as_posix()
        pages.append("" if rel == "." else rel + "/")
    return pages


def cases() -> list[tuple[str, str]]:
    pages = [*site_pages(), EXPLORER_OPEN]
    return [(p, "light") for p in pages] + [(p, "dark") for p in pages if p in BOTH_SCHEMES]


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE.exists():
        pytest.fail("axe-core is missing: run `make setup` (npm ci installs it).")
    return AXE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def shared_page(browser):
    """One context for every page, so the runtime is downloaded once and pages load from cache."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    # Material keeps the palette it chose in localStorage and prefers it to prefers-color-scheme.
    context.add_init_script("localStorage.clear()")
    yield context.new_page()
    context.close()


def wait_for_widgets(page) -> None:
    """Every widget on the page has drawn (each sets data-ready='true' on its placeholder)."""
    page.wait_for_function("[...document.querySelectorAll('[data-attnviz]')].every((h) => h.dataset.ready === 'true')",
                           timeout=90_000)


def serious_violations(page, axe_source: str) -> list[dict]:
    page.add_script_tag(content=axe_source)
    results = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [v for v in results["violations"] if v["impact"] in BLOCKING]


def describe(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']}")
        lines += [f"    {node['target']}: {node['failureSummary'].splitlines()[-1].strip()}" for node in v["nodes"]]
    return "\n".join(lines)


@pytest.mark.parametrize(("path", "scheme"), cases(), ids=lambda v: v or "home")
def test_page_has_no_serious_axe_violations(shared_page, root_server, axe_source, path: str, scheme: str):
    page = shared_page
    page.emulate_media(color_scheme=scheme)
    page.goto("about:blank")  # a new document even when only the hash differs from the last page
    page.goto(f"{root_server.url}{path}")
    expected = "slate" if scheme == "dark" else "default"
    page.wait_for_function("(s) => document.body.dataset.mdColorScheme === s", arg=expected)
    wait_for_widgets(page)
    violations = serious_violations(page, axe_source)
    assert not violations, f"axe on /{path} ({scheme}):\n{describe(violations)}"
