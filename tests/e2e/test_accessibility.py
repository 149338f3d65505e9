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
# The Explorer after a refusal: the error, and the kept view marked as not of the text.
EXPLORER_ERROR = "explorer/#token=1"  # a view first; then REFUSED_HASH
REFUSED_HASH = "#text=before%00after"  # a control character: refused, with a message
# The question before a big download: articles draw SmolLM2 from the build's answers without it,
# the Explorer's first view of it asks.
EXPLORER_CONSENT = "explorer/#model=smollm2"
# Pages that also run in the dark palette: those with the most of our own colours.
BOTH_SCHEMES = {"", "explorer/", EXPLORER_OPEN, EXPLORER_ERROR, EXPLORER_CONSENT}


def site_pages() -> list[str]:
    """Site-relative URLs of every built page but 404, from the HTML files themselves (the sitemap
    is empty when site_url is unset)."""
    pages = []
    for html in sorted(SITE.rglob("index.html")):
        rel = html.parent.relative_to(SITE).as_posix()
        pages.append("" if rel == "." else rel + "/")
    return pages


def cases() -> list[tuple[str, str]]:
    pages = [*site_pages(), EXPLORER_OPEN, EXPLORER_ERROR, EXPLORER_CONSENT]
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
    """Every widget on the page has drawn (each sets data-ready='true' on its placeholder), or asks
    the reader before a big download (data-waiting='consent': the question is what axe checks)."""
    page.wait_for_function("() => [...document.querySelectorAll('[data-attnviz]')].every((h) => "
                           "h.dataset.ready === 'true' || h.dataset.waiting === 'consent')", timeout=90_000)


def serious_violations(page, axe_source: str) -> list[dict]:
    page.evaluate(axe_source)  # not a <script> tag: the page's CSP would (rightly) block an inline one
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
    if path == EXPLORER_CONSENT:
        page.wait_for_selector("[data-action=consent]")
    if path == EXPLORER_ERROR:  # refuse a text after a good view, so axe sees the error state
        page.evaluate("(h) => { location.hash = h; }", REFUSED_HASH)
        page.wait_for_selector(".av-explorer--stale .av-status--error")
    violations = serious_violations(page, axe_source)
    assert not violations, f"axe on /{path} ({scheme}):\n{describe(violations)}"


# --- The Explorer with the keyboard alone -------------------------------------------------------

HOST = ".av-explorer"
SENTENCE = "Dogs chase cats and cats chase mice."  # 8 tokens


def focus_ring(page) -> str | None:
    """What is wrong with the focused element's focus indicator, or None if it shows one. Only our
    widgets and formulas are checked: Material draws its own (on a label, for its hidden inputs)."""
    return page.evaluate("""() => {
        const e = document.activeElement;
        if (!e.closest('.av-widget, div.arithmatex')) return null;
        const s = getComputedStyle(e), r = e.getBoundingClientRect();
        const ring = (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== 'none';
        const shown = r.width > 0 && r.height > 0;
        return ring && shown ? null : `${e.tagName}.${e.className} [${e.dataset.control || e.textContent.slice(0, 20)}]`
            + ` outline=${s.outlineStyle} ${s.outlineWidth} box-shadow=${s.boxShadow} size=${r.width}x${r.height}`;
    }""")


def tab_to(page, selector: str, key: str = "Tab", limit: int = 60) -> None:
    """Press Tab (or Shift+Tab) until the focus reaches selector; every stop must show its focus."""
    for _ in range(limit):
        page.keyboard.press(key)
        problem = focus_ring(page)
        assert problem is None, f"no visible focus indicator on {problem}"
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{key} never reached {selector}")


def focused(page, selector: str) -> bool:
    return page.evaluate("(s) => document.activeElement.matches(s)", selector)


def hash_has(page, part: str) -> None:
    page.wait_for_function("(p) => location.hash.includes(p)", arg=part)


def live_text(page) -> str:
    return page.locator(f"{HOST} .av-heatmap [aria-live]").inner_text()


def test_explorer_with_the_keyboard_alone(new_page, root_server):
    page, watch = new_page(root_server.origin)
    page.goto(f"{root_server.url}explorer/")
    page.wait_for_selector(f"{HOST}[data-ready='true']", timeout=90_000)

    # Type a new sentence.
    tab_to(page, "[data-control=text]")
    page.keyboard.press("Control+A")
    page.keyboard.type(SENTENCE)
    page.wait_for_selector(f"{HOST}[data-tokens='8']")

    # Four heads instead of eight, then head 2 of them.
    tab_to(page, "[data-control=heads]")
    for _ in range(4):
        page.keyboard.press("ArrowUp")
    hash_has(page, "heads=4")
    page.wait_for_function("() => document.querySelectorAll('[data-control=head] option').length === 4")
    tab_to(page, "[data-control=head]")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    hash_has(page, "head=2")
    assert page.locator(f"{HOST} .av-detail-caption").inner_text().startswith("Head 3")  # index 2, numbered from 1 on screen

    # All heads, then open head 3 from the grid: the focus lands on its heatmap.
    tab_to(page, "[data-control=view]")
    page.keyboard.press("ArrowDown")
    hash_has(page, "view=grid")
    tab_to(page, f"{HOST} .av-thumb[data-head='3']")
    page.keyboard.press("Enter")
    hash_has(page, "head=3")
    assert "view=grid" not in page.evaluate("location.hash")
    assert focused(page, f"{HOST} .av-heatmap__overlay"), "opening a head should focus its heatmap"
    assert focus_ring(page) is None

    # Read cells: down two, right one; up past the top edge stays in row 0; Enter selects row 3.
    for key in ("ArrowDown", "ArrowDown", "ArrowRight"):
        page.keyboard.press(key)
    assert live_text(page).startswith("cats → chase:")
    assert page.locator(f"{HOST} .av-tooltip").is_visible()
    for _ in range(4):
        page.keyboard.press("ArrowUp")
    assert live_text(page).startswith("Dogs → chase:")
    for _ in range(3):
        page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    hash_has(page, "token=3")

    # Back to the token chips with Shift+Tab: one tab stop, the selected chip; End selects the last.
    tab_to(page, f"{HOST} .av-chip[aria-pressed=true]", key="Shift+Tab")
    assert page.evaluate("document.activeElement.textContent").startswith("and")  # token 3
    page.keyboard.press("End")
    hash_has(page, "token=7")
    assert page.locator(f"{HOST} .av-chip").nth(7).get_attribute("aria-pressed") == "true"

    # Step by step: open it, arrows on the view to Softmax, explain a weight from the keyboard,
    # Next to the end, Back once.
    tab_to(page, "[data-control=step]", key="Shift+Tab")
    page.keyboard.press("Space")
    hash_has(page, "step=1")
    title = page.locator(f"{HOST} .av-steps__title")
    tab_to(page, f"{HOST} .av-steps")
    for key in ("ArrowRight",) * 7 + ("ArrowLeft",):
        page.keyboard.press(key)
    assert title.inner_text().startswith("Step 7 of 9: Softmax")
    tab_to(page, f"{HOST} .av-steps canvas[data-matrix=pattern]")
    page.keyboard.press("ArrowDown")
    explain = page.locator(f"{HOST} .av-steps__explain").inner_text()
    assert explain.startswith("“chase” (query 1) → “Dogs” (key 0)") and "÷ √d_k" in explain
    tab_to(page, f"{HOST} .av-steps__nav button:last-child", key="Shift+Tab")
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")
    assert title.inner_text().startswith("Step 9 of 9")
    assert focused(page, f"{HOST} .av-steps"), "the focus should stay in the step view when Next is disabled"
    tab_to(page, f"{HOST} .av-steps__nav button:first-child")
    page.keyboard.press("Space")
    assert title.inner_text().startswith("Step 8 of 9")
    hash_has(page, "stage=7")
    watch.assert_clean()
