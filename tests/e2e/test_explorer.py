"""The Explorer in a real browser: every control, what it draws, the URL, the exports, compared
with attnviz run in CPython on the same request."""
from __future__ import annotations

import json
import urllib.parse

import numpy as np
import pytest

from attnviz import api, export
from tests.e2e.conftest import heatmap_pixels
from tests.e2e.widgets import cell_colours

HOST = ".av-explorer"


def open_explorer(new_page, server, hash_: str = "", viewport=(1280, 900)):
    page, watch = new_page(server.origin, viewport)
    page.goto(f"{server.url}explorer/{hash_}")
    wait_ready(page)
    return page, watch


def wait_ready(page, tokens: int | None = None):
    page.wait_for_function("(n) => { const h = document.querySelector('.av-explorer');"
                           " return h && h.dataset.ready === 'true' && (n === null || h.dataset.tokens === String(n)); }",
                           arg=tokens, timeout=90_000)


def computes(page) -> int:
    return page.evaluate("window.__attnvizExplorer.computes")


def state(page) -> dict:
    return dict(urllib.parse.parse_qsl(page.evaluate("location.hash").lstrip("#")))


def test_default_view_draws_the_heatmap_with_roles(new_page, server):
    page, watch = open_explorer(new_page, server)
    px = heatmap_pixels(page, f"{HOST} .av-heatmap__cells")
    assert px["opaque"] > 10_000 and px["colours"] > 8
    assert page.locator(f"{HOST} .av-chip").count() == 11
    assert "previous token" in page.locator(f"{HOST} .av-detail-caption").inner_text()
    assert page.locator("[data-control=head] option").count() == 8
    watch.assert_clean()


def test_typing_recomputes_and_keeps_the_state_in_the_url(new_page, root_server):
    page, watch = open_explorer(new_page, root_server)
    box = page.locator("[data-control=text]")
    box.fill("")
    box.press_sequentially("Tiny text here", delay=20)
    wait_ready(page, 3)
    assert [c.split("\n")[0] for c in page.locator(f"{HOST} .av-chip").all_inner_texts()] == ["Tiny0", "text1", "here2"]
    assert state(page)["text"] == "Tiny text here"
    watch.assert_clean()


def test_heads_grid_and_opening_a_head(new_page, root_server):
    page, watch = open_explorer(new_page, root_server, "#heads=4")
    page.select_option("[data-control=view]", "grid")
    page.wait_for_selector(f"{HOST} .av-explorer__grid .av-thumb")
    thumbs = page.locator(f"{HOST} .av-explorer__grid .av-thumb")
    assert thumbs.count() == 4
    assert thumbs.nth(2).inner_text().split() == ["3", "similar", "words"]  # numbered from 1 on screen
    thumbs.nth(3).click()
    page.wait_for_function("() => location.hash.includes('head=3')")  # the hash keeps the 0-based index
    assert state(page).get("view") is None  # back to the single head (the default)
    assert page.locator(f"{HOST} .av-detail-caption").inner_text().startswith("Head 4 — first token")
    assert page.locator("[data-control=head] option:checked").inner_text() == "4: first token (sink)"
    watch.assert_clean()


def test_causal_mask_blanks_the_upper_triangle(new_page, root_server):
    page, watch = open_explorer(new_page, root_server, "#head=1")
    before = computes(page)
    page.check("[data-control=causal]")
    page.wait_for_function("(n) => window.__attnvizExplorer.computes > n", arg=before)
    colours = cell_colours(page, HOST)
    dark = tuple(colours[0][5])
    n = len(colours)
    assert all(tuple(colours[i][j]) == dark for i in range(n) for j in range(i + 1, n))
    assert state(page)["causal"] == "1"
    watch.assert_clean()


def test_temperature_flattens_and_sharpens(new_page, root_server):
    page, _ = open_explorer(new_page, root_server)

    def entropy_at(t: float) -> float:
        before = computes(page)
        page.eval_on_selector("[data-control=temperature]", "(s, v) => { s.value = v; s.dispatchEvent(new Event('input')); }", str(t))
        page.wait_for_function("(n) => window.__attnvizExplorer.computes > n", arg=before)
        return float(page.locator("[data-stat='Mean entropy']").inner_text().split()[0])

    assert entropy_at(0.2) < entropy_at(1) < entropy_at(4)
    assert state(page)["temperature"] == "4"


def test_cross_attention_uses_the_source_for_keys(new_page, root_server):
    page, watch = open_explorer(new_page, root_server)
    page.select_option("[data-control=mode]", "cross")
    page.fill("[data-control=source]", "one two three four five six")
    page.wait_for_function("() => document.querySelector('.av-heatmap__cells').dataset.geom.includes('\"cols\":6')")
    geom = json.loads(page.get_attribute(f"{HOST} .av-heatmap__cells", "data-geom"))
    assert (geom["rows"], geom["cols"]) == (11, 6)
    assert "queries × 6 keys" in page.locator("[data-stat=Tokens]").inner_text()
    watch.assert_clean()


def test_hover_tooltip_names_query_key_weight_and_rank(new_page, root_server):
    page, _ = open_explorer(new_page, root_server)
    geom = json.loads(page.get_attribute(f"{HOST} .av-heatmap__cells", "data-geom"))
    box = page.locator(f"{HOST} .av-heatmap__overlay").bounding_box()
    page.mouse.move(box["x"] + geom["left"] + 0.5 * geom["cell"], box["y"] + geom["top"] + 1.5 * geom["cell"])
    tip = page.locator(f"{HOST} .av-tooltip")
    assert tip.is_visible()
    text = tip.inner_text()
    assert text.startswith("cat → The: 0.") and "rank 1 of 11" in text  # previous-token head


def test_selecting_a_token_shows_its_arcs_and_top_keys(new_page, root_server):
    page, watch = open_explorer(new_page, root_server)
    page.locator(f"{HOST} .av-chip").nth(7).click()
    page.wait_for_function("() => location.hash.includes('token=7')")
    assert "“it” (position 7)" in page.locator(f"{HOST} .av-arcs .av-caption").inner_text()
    assert page.locator(f"{HOST} .av-topkeys li").first.inner_text().startswith("because")  # the token before
    assert heatmap_pixels(page, f"{HOST} .av-arcs canvas")["opaque"] > 500
    watch.assert_clean()


def test_top_pairs_can_include_self(new_page, root_server):
    page, _ = open_explorer(new_page, root_server, "#head=1")  # the self head
    first_row = lambda: page.locator(f"{HOST} .av-pairs tr").nth(1).inner_text().split("\t")  # noqa: E731
    q, k, _ = first_row()
    assert q.split(" #")[1] != k.split(" #")[1]
    page.check("[data-control=self]")
    page.wait_for_function("() => location.hash.includes('self=1')")
    q, k, _ = first_row()
    assert q.split(" #")[1] == k.split(" #")[1]


def test_step_by_step_walks_and_explains_a_weight(new_page, root_server):
    page, watch = open_explorer(new_page, root_server, "#step=1")
    page.wait_for_selector(".av-steps canvas[data-matrix=x_query]")
    assert "Step 1 of 9" in page.locator(".av-steps__title").inner_text()
    # KaTeX loads with the step view (no page loads it before) and typesets its formula.
    page.wait_for_selector(".av-steps .katex-html", timeout=10_000)
    page.click(".av-steps__nav button:has-text('Next')")
    assert page.locator(".av-steps canvas[data-matrix]").count() == 3  # Q, K, V
    page.focus(".av-steps")
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    assert "Softmax" in page.locator(".av-steps__title").inner_text()
    assert state(page)["stage"] == "6"
    canvas = page.locator(".av-steps canvas[data-matrix=pattern]")
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.5 / 11, box["y"] + box["height"] * 1.5 / 11)
    explain = page.locator(".av-steps__explain").inner_text()
    assert "“cat” (query 1) → “The” (key 0)" in explain and "q·k" in explain and "÷ √d_k" in explain
    line = [l for l in explain.splitlines() if l.startswith("weight")][0]
    ours, theirs = float(line.split("= ")[-1].split()[0]), float(line.split("attnviz: ")[1].rstrip(")"))
    assert abs(ours - theirs) < 1e-3
    watch.assert_clean()


def test_a_broken_url_falls_back_and_says_so_and_text_is_never_html(new_page, root_server):
    hostile = urllib.parse.quote("<img src=x onerror=window.__pwned=1><script>window.__pwned=2</script>")
    page, watch = open_explorer(new_page, root_server, f"#text={hostile}&heads=abc&temperature=99&view=3d&token=9999")
    notes = page.locator(f"{HOST} .av-explorer__notes").inner_text()
    for field in ("heads", "temperature", "view", "token"):
        assert field in notes
    assert page.evaluate("window.__pwned") is None
    assert page.locator(f"{HOST} .av-chip").first.inner_text().startswith("<")
    assert page.locator(f"{HOST} img").count() == 0
    watch.assert_clean()


def test_exports_match_attnviz_in_cpython(new_page, root_server, tmp_path):
    text = 'Say "hi" & <go> now'
    page, watch = open_explorer(new_page, root_server, f"#text={urllib.parse.quote(text)}&heads=3&head=2&causal=1&temperature=0.7")
    saved = {}
    for kind in ("json", "csv", "svg", "png"):
        with page.expect_download() as info:
            page.click(f"[data-action=export-{kind}]")
        path = tmp_path / info.value.suggested_filename
        info.value.save_as(path)
        saved[kind] = path
    reference = export.to_json_document(api.run({"text": text, "heads": 3, "head": 2, "causal": True,
                                                 "temperature": 0.7, "layer": 0}))
    doc = json.loads(saved["json"].read_text())
    assert list(doc) == list(reference)  # the same document, key for key, as the CLI's JSON export
    assert doc["options"] == reference["options"] and doc["tokens"] == reference["tokens"]
    assert doc["schema_doc"] == reference["schema_doc"]
    np.testing.assert_allclose(doc["attention"]["self"]["weights"], reference["attention"]["self"]["weights"], atol=1e-6)
    assert [h["role"] for h in doc["built_roles"]["self"]] == [h["role"] for h in reference["built_roles"]["self"]]
    np.testing.assert_allclose(doc["metrics"]["row_entropy_bits"], reference["metrics"]["row_entropy_bits"], atol=1e-5)
    ref_result = api.run({"text": text, "heads": 3, "head": 2, "causal": True, "temperature": 0.7})
    assert saved["csv"].read_text() == export.to_csv(ref_result)
    assert saved["csv"].name == "attention-synthetic-head3.csv"  # numbered from 1, as on the page
    svg = saved["svg"].read_text()
    n = len(reference["tokens"]["text"])
    assert svg.startswith("<svg") and "&lt;" in svg and "<go>" not in svg and svg.count("<rect") == n ** 2 + 64
    assert "Synthetic head 3 (" in svg  # the title numbers the head as the page does
    assert saved["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    watch.assert_clean()


def test_keyboard_reads_cells_aloud(new_page, root_server):
    page, _ = open_explorer(new_page, root_server)
    page.focus(f"{HOST} .av-heatmap__overlay")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowRight")
    assert page.locator(f"{HOST} .av-heatmap [aria-live]").inner_text().startswith("cat → cat:")
    page.keyboard.press("Enter")
    page.wait_for_function("() => location.hash.includes('token=1')")


def test_phone_sized_screen_keeps_the_page_from_overflowing(new_page, root_server):
    page, watch = open_explorer(new_page, root_server, viewport=(390, 844))
    assert page.evaluate("document.documentElement.scrollWidth") <= 392
    assert heatmap_pixels(page, f"{HOST} .av-heatmap__cells")["opaque"] > 5_000
    watch.assert_clean()


@pytest.mark.parametrize("scheme", ["dark"])
def test_follows_the_dark_palette(new_page, root_server, scheme):
    page, _ = new_page(root_server.origin)
    page.emulate_media(color_scheme=scheme)
    page.goto(f"{root_server.url}explorer/")
    wait_ready(page)
    label = page.eval_on_selector(f"{HOST} .av-heatmap", "e => getComputedStyle(e).color")
    assert label != "rgba(0, 0, 0, 0.87)"  # light text on the dark palette


def test_colour_by_row_maximum_makes_every_row_reach_the_top_colour(new_page, root_server):
    page, _ = open_explorer(new_page, root_server, "#head=5")  # a broad head: flat rows
    top = (252, 231, 33)  # viridis at 1 (our fit)

    def rows_reaching_top() -> int:
        return sum(any(max(abs(a - b) for a, b in zip(c, top)) < 4 for c in row) for row in cell_colours(page, HOST))

    assert rows_reaching_top() < 11
    page.select_option("[data-control=scale]", "row")
    page.wait_for_function("() => document.querySelector('.av-explorer .av-legend__name').textContent.includes('row')")
    assert state(page)["rowscale"] == "1"  # links keep their old name for it
    assert rows_reaching_top() == 11
