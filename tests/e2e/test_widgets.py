"""The articles' live widgets, each on the page where it is published."""
from __future__ import annotations

import re

from tests.e2e.widgets import cell_colours, page_with_widget

VIRIDIS_ZERO = (68, 1, 84)  # the colour of weight 0 (approximately; the LUT's first entry)


def ready(page, name: str, timeout: int = 60_000) -> str:
    selector = f"[data-attnviz='{name}']"
    page.wait_for_selector(f"{selector}[data-ready='true']", timeout=timeout)
    return selector


def near(colour, target, tol=12) -> bool:
    return all(abs(a - b) <= tol for a, b in zip(colour, target))


def test_softmax_playground(root_server, new_page):
    page, watch = new_page(root_server.origin)
    page.goto(root_server.url + page_with_widget("softmax"))
    w = ready(page, "softmax")
    probs = [float(x) for x in page.locator(f"{w} tr").nth(4).locator("td").all_text_contents()[1:]]
    assert abs(sum(probs) - 1) < 2e-3 and probs == sorted(probs, reverse=True)
    page.locator(f"{w} input[type=range]").fill("0.05")
    page.wait_for_function(f"() => document.querySelector(\"{w} tr:nth-child(5) td:nth-child(2)\").textContent === '1.0000'")
    assert "bits" in page.text_content(f"{w} .av-caption")
    page.locator(f"{w} input[type=number]").first.fill("")
    page.wait_for_selector(f"{w} .av-status--error")
    assert "must be a number" in page.text_content(f"{w} .av-status")
    watch.assert_clean()


def test_variance_demo(root_server, new_page):
    page, watch = new_page(root_server.origin)
    page.goto(root_server.url + page_with_widget("variance"))
    w = ready(page, "variance")
    rows = page.locator(f"{w} tr").all()[1:]
    cells = [r.locator("td").all_text_contents() for r in rows]
    dims = [int(c[0]) for c in cells]
    raw = [float(c[1]) for c in cells]
    scaled = [float(c[2]) for c in cells]
    assert raw == sorted(raw) and all(0.7 < r / d < 1.3 for r, d in zip(raw, dims))
    assert all(0.8 < s < 1.2 for s in scaled)
    page.click(f"{w} button:has-text('Sample again')")
    page.wait_for_selector(f"{w}[data-seed='1']")
    watch.assert_clean()


def test_masking_before_after(root_server, new_page):
    page, watch = new_page(root_server.origin)
    page.goto(root_server.url + page_with_widget("masking"))
    w = ready(page, "masking")
    open_cells, causal_cells = cell_colours(page, w, 0), cell_colours(page, w, 1)
    n = len(causal_cells)
    above = [(r, c) for r in range(n) for c in range(n) if c > r]
    assert all(near(causal_cells[r][c], VIRIDIS_ZERO) for r, c in above), "causal mask leaks into the future"
    assert not all(near(open_cells[r][c], VIRIDIS_ZERO) for r, c in above), "unmasked head never looks ahead"
    watch.assert_clean()


def test_cross_attention_is_rectangular(root_server, new_page):
    page, watch = new_page(root_server.origin)
    page.goto(root_server.url + page_with_widget("cross"))
    w = ready(page, "cross")
    boxes = page.locator(f"{w} input[type=text]")
    boxes.nth(0).fill("Bonjour le monde")
    boxes.nth(1).fill("Hello to the whole wide world")
    page.wait_for_function(f"() => document.querySelector(\"{w} .av-caption\").textContent.startsWith('3 query tokens × 6 key tokens')")
    cells = cell_colours(page, w)
    assert len(cells) == 3 and len(cells[0]) == 6
    watch.assert_clean()


def article_heatmap(page, server, control: str) -> str:
    """Open the first article with a compact heatmap whose one control is `control`; its selector."""
    option = f'"control": "{control}"'
    page.goto(server.url + page_with_widget("heatmap", option, under="learn"))
    selector = f"[data-attnviz='heatmap'][data-options*='{option}']"
    page.wait_for_selector(f"{selector}[data-ready='true']", timeout=60_000)
    return selector


def canvas_image(page, widget: str) -> str:
    return page.eval_on_selector(f"{widget} .av-heatmap__cells", "c => c.toDataURL()")


def wait_redrawn(page, widget: str, before: str) -> str:
    """Wait until the widget's heatmap differs from `before` (computes are asynchronous)."""
    page.wait_for_function("([sel, before]) => document.querySelector(sel + ' .av-heatmap__cells').toDataURL() !== before",
                           arg=[widget, before], timeout=30_000)
    return canvas_image(page, widget)


def largest_weight(page, widget: str) -> float:
    """The top of the colour scale, which the legend states: the heatmap's largest weight."""
    legend = page.inner_text(f"{widget} .av-legend__name")  # "Colour scale: 0 → 0.734, each head's own maximum"
    return float(re.match(r"Colour scale: 0 → ([\d.]+)", legend).group(1))


def upper_triangle(cells) -> list:
    return [cells[r][c] for r in range(len(cells)) for c in range(len(cells)) if c > r]


def test_heatmap_head_control_redraws_and_renames(root_server, new_page):
    page, watch = new_page(root_server.origin)
    w = article_heatmap(page, root_server, "head")
    names = page.locator(f"{w} select option").all_inner_texts()
    assert names[:2] == ["1: previous token", "2: self"] and len(names) == 8  # numbered from 1
    before = canvas_image(page, w)
    page.select_option(f"{w} select", "5")
    after = wait_redrawn(page, w, before)
    assert page.text_content(f"{w} .av-caption").startswith("Head 6: broad")
    page.select_option(f"{w} select", "0")
    wait_redrawn(page, w, after)
    assert page.text_content(f"{w} .av-caption").startswith("Head 1: previous token")
    watch.assert_clean()


def test_heatmap_temperature_control_sharpens_without_changing_the_head(root_server, new_page):
    page, watch = new_page(root_server.origin)
    w = article_heatmap(page, root_server, "temperature")
    caption = page.text_content(f"{w} .av-caption")
    before, top = canvas_image(page, w), largest_weight(page, w)
    page.eval_on_selector(f"{w} input[type=range]", "(s) => { s.value = '0.1'; s.dispatchEvent(new Event('input')); }")
    wait_redrawn(page, w, before)
    assert page.text_content(f"{w} label").strip() == "Temperature T = 0.1"
    assert page.text_content(f"{w} .av-caption") == caption  # same head, same role
    assert largest_weight(page, w) > 2 * top  # a cooler softmax concentrates each row
    watch.assert_clean()


def test_heatmap_causal_control_masks_and_unmasks(root_server, new_page):
    page, watch = new_page(root_server.origin)
    w = article_heatmap(page, root_server, "causal")
    box = page.locator(f"{w} input[type=checkbox]")
    assert box.is_checked()
    assert all(near(c, VIRIDIS_ZERO) for c in upper_triangle(cell_colours(page, w)))
    before = canvas_image(page, w)
    box.uncheck()
    after = wait_redrawn(page, w, before)
    assert not all(near(c, VIRIDIS_ZERO) for c in upper_triangle(cell_colours(page, w)))
    box.check()
    assert wait_redrawn(page, w, after) == before  # the same request draws the same pixels
    assert page.text_content(f"{w} .av-caption").startswith("Head 3: similar words")
    watch.assert_clean()
