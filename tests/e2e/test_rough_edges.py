"""The rough edges a reader meets in the Explorer, each checked as a reader would meet it, on a
laptop (1366 × 768) and a phone (390 × 844), with a screenshot of each in test-artifacts/
(edge-*.png): errors that can be read and a kept view marked as not of the text, long text read
as its first tokens, one colour scale for all heads, arcs on long text, step by step under the
heatmap, the PNG export, one tab stop for the token chips, targets on a phone, and what a model
needs when the network is gone."""
from __future__ import annotations

import json
import re
import struct
import urllib.parse

import numpy as np
import pytest

from attnviz import api, models
from tests.e2e.conftest import ARTIFACTS, PageWatch
from tests.e2e.test_explorer import HOST, open_explorer, state, wait_ready
from tests.e2e.widgets import SITE

LAPTOP, PHONE = (1366, 768), (390, 844)
ERROR = f"{HOST} .av-status--error"


@pytest.fixture(scope="module")
def shared_context(browser):
    """One context for the module's pages: the runtime downloads once and later pages boot from the
    HTTP cache (the offline tests, which need a model never downloaded, open their own)."""
    context = browser.new_context(viewport={"width": LAPTOP[0], "height": LAPTOP[1]})
    context.add_init_script("localStorage.clear()")  # Material's palette follows each page's emulation
    yield context
    context.close()


@pytest.fixture
def reader(shared_context):
    """Like conftest's new_page, in the shared context: (page, watch) for an origin and a viewport."""
    pages = []

    def open_page(origin: str, viewport=LAPTOP):
        page = shared_context.new_page()
        page.set_viewport_size({"width": viewport[0], "height": viewport[1]})
        pages.append(page)
        return page, PageWatch(page, origin)

    yield open_page
    for page in pages:
        page.close()


def shot(page, name: str, element: str | None = None) -> None:
    """A screenshot of what the reader sees, with `element` scrolled into view."""
    ARTIFACTS.mkdir(exist_ok=True)
    if element:
        page.locator(element).first.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / f"edge-{name}.png"))


def shot_both(page, name: str, element: str | None = None) -> None:
    """The same view on a laptop, then on a phone (the page relaid out), then back."""
    shot(page, f"{name}-laptop", element)
    page.set_viewport_size({"width": PHONE[0], "height": PHONE[1]})
    page.wait_for_timeout(300)  # the heatmap redraws for its new width
    shot(page, f"{name}-phone", element)
    page.set_viewport_size({"width": LAPTOP[0], "height": LAPTOP[1]})


def words(n: int) -> str:
    return " ".join(f"w{i}" for i in range(n))


def type_text(page, text: str) -> None:
    page.locator("[data-control=text]").fill(text)


def luminance(rgb) -> float:
    def channel(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = rgb
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a, b) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


# The text colour of an element and the colour behind it: its own background blended over its
# ancestors' (the error's tint is translucent), as a reader's eye sees them.
COLOURS = """(sel) => {
    const parse = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
    const node = document.querySelector(sel);
    let bg = [0, 0, 0, 0], layers = [];
    for (let n = node; n; n = n.parentElement) layers.push(parse(getComputedStyle(n).backgroundColor));
    layers.push(parse(getComputedStyle(document.body).backgroundColor));
    let out = [255, 255, 255];
    for (const l of layers.reverse()) {
        const a = l.length > 3 ? l[3] : 1;
        out = out.map((c, i) => c * (1 - a) + l[i] * a);
    }
    return {fg: parse(getComputedStyle(node).color).slice(0, 3), bg: out};
}"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_an_error_is_readable_and_the_kept_view_is_marked_as_not_of_the_text(reader, root_server, scheme):
    page, watch = reader(root_server.origin, LAPTOP)
    page.emulate_media(color_scheme=scheme)  # Material follows the reader's preference
    page.goto(f"{root_server.url}explorer/")
    wait_ready(page)
    page.wait_for_function("(s) => document.body.dataset.mdColorScheme === s", arg="slate" if scheme == "dark" else "default")
    assert page.locator(f"{HOST} [data-action=export-png]").is_enabled()
    type_text(page, "before\x00after")
    page.wait_for_selector(ERROR)
    for part in (f"{HOST} .av-status__text", f"{HOST} .av-explorer__stale"):
        c = page.evaluate(COLOURS, part)
        assert contrast(c["fg"], c["bg"]) >= 4.5, (part, c)
    page.wait_for_selector(f"{HOST}.av-explorer--stale .av-explorer__stale:not([hidden])")
    assert "not of the text above" in page.locator(f"{HOST} .av-explorer__stale").inner_text()
    assert float(page.eval_on_selector(f"{HOST} .av-explorer__main", "m => getComputedStyle(m).opacity")) < 0.6
    for kind in ("png", "svg", "csv", "json"):
        assert page.locator(f"{HOST} [data-action=export-{kind}]").is_disabled()
    shot(page, f"error-{scheme}-laptop", f"{HOST} .av-explorer__stale")
    page.set_viewport_size({"width": PHONE[0], "height": PHONE[1]})
    shot(page, f"error-{scheme}-phone", f"{HOST} .av-explorer__stale")
    type_text(page, "Back to normal.")
    wait_ready(page, 4)
    page.wait_for_function("() => !document.querySelector('.av-explorer').classList.contains('av-explorer--stale')")
    assert page.locator(f"{HOST} .av-explorer__stale").is_hidden()
    assert page.locator(f"{HOST} [data-action=export-png]").is_enabled()
    watch.assert_clean()


def test_long_text_is_offered_its_first_tokens_and_the_counter_shows_the_limit(reader, root_server):
    page, watch = open_explorer(reader, root_server, viewport=LAPTOP)
    counter = page.locator(f"{HOST} .av-token-count")
    assert counter.inner_text() == "11 / 512 tokens"  # the limit is in view before it is reached
    type_text(page, words(600))
    page.wait_for_selector(f"{HOST} .av-status__offer:not([hidden])")
    assert counter.inner_text() == "600 / 512 tokens: over the limit"
    assert "600 tokens; the limit is 512 for Synthetic" in page.locator(ERROR).inner_text()
    shot_both(page, "long-text-refused", f"{HOST} .av-status")
    page.click(f"{HOST} .av-status__offer")
    wait_ready(page, 512)
    assert state(page)["cut"] == "1"  # a link keeps the choice
    assert counter.inner_text() == "512 / 512 tokens (the first: the text is longer)"
    notes = page.locator(f"{HOST} .av-explorer__notes").inner_text()
    assert "Only the first 512 of the text's 600 tokens are read" in notes and "up to “w511”" in notes
    assert page.locator(ERROR).count() == 0
    shot_both(page, "long-text-cut", f"{HOST} .av-explorer__notes")
    watch.assert_clean()


def legend(page) -> str:
    return page.locator(f"{HOST} .av-legend__name").inner_text()


def thumb_brightness(page, head: int) -> float:
    """Mean luminance of a head's thumbnail in the grid."""
    return page.evaluate("""(h) => {
        const c = document.querySelector(`.av-explorer__grid [data-head="${h}"] canvas`);
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let sum = 0;
        for (let i = 0; i < d.length; i += 4) sum += 0.2126 * d[i] + 0.7152 * d[i + 1] + 0.0722 * d[i + 2];
        return sum / (d.length / 4);
    }""", head)


def test_one_colour_scale_for_all_heads(reader, root_server):
    page, watch = open_explorer(reader, root_server, "#head=5", viewport=LAPTOP)
    reference = api.run({"text": "The cat sat on the mat because it was tired.", "head": 5})
    weights = reference["attention"]["self"]["weights"]  # (1, 8, q, k)
    assert legend(page) == f"Colour scale: 0 → {weights[0, 5].max():.3f}, each head's own maximum"
    page.select_option("[data-control=scale]", "one")
    page.wait_for_function("() => location.hash.includes('scale=one')")
    assert legend(page) == "Colour scale: 0 → 1.000, the same for all heads"
    page.select_option("[data-control=scale]", "model")
    page.wait_for_function("() => location.hash.includes('scale=model')")
    assert legend(page) == f"Colour scale: 0 → {weights.max():.3f}, the model's maximum, the same for all heads"
    page.select_option("[data-control=view]", "grid")
    page.wait_for_selector(f"{HOST} .av-explorer__grid .av-thumb")
    grid_scale = page.locator(f"{HOST} .av-explorer__grid-scale").inner_text()
    assert grid_scale == f"Colour scale: 0 → {weights.max():.3f}, the model's maximum, the same for all heads."
    shared = [thumb_brightness(page, h) for h in range(8)]
    shot_both(page, "same-scale-grid", f"{HOST} .av-explorer__grid")
    page.select_option("[data-control=scale]", "head")
    page.wait_for_function("() => !location.hash.includes('scale=')")
    own = [thumb_brightness(page, h) for h in range(8)]
    # On one scale a broad head (its largest weight far below the model's) is darker than on its own.
    broad = int(np.argmin(weights[0].max(axis=(1, 2))))
    assert weights[0, broad].max() < 0.7 * weights.max()
    assert shared[broad] < own[broad] - 5
    # and the sharpest head, whose maximum is the model's, looks the same on both
    sharp = int(np.argmax(weights[0].max(axis=(1, 2))))
    assert shared[sharp] == pytest.approx(own[sharp], abs=1)
    watch.assert_clean()


def test_the_model_view_offers_the_same_scale(reader, root_server):
    from tests.e2e.widgets import page_with_widget
    page, watch = reader(root_server.origin, LAPTOP)
    page.goto(f"{root_server.url}{page_with_widget('model-view')}")
    host = "[data-attnviz=model-view]"
    page.wait_for_function(f"() => document.querySelector('{host}').dataset.ready === 'true'", timeout=90_000)
    page.locator(host).first.locator("[data-control=scale]").select_option("one")
    caption = page.locator(f"{host} .av-model-view__scale").first
    assert caption.inner_text() == "Colour scale of the heads below: 0 → 1.000, the same for all heads."
    assert page.locator(f"{host} .av-legend__name").first.inner_text().startswith("Colour scale: 0 → 1.000, the same")
    shot_both(page, "same-scale-model-view", f"{host} .av-model-view__scale")
    watch.assert_clean()


def test_arcs_on_long_text_go_to_the_strongest_keys_and_scroll_to_the_token(reader, root_server):
    page, watch = open_explorer(reader, root_server, "#" + urllib.parse.urlencode({"text": words(300), "token": 250}),
                                viewport=LAPTOP)
    caption = page.locator(f"{HOST} .av-arcs .av-caption").inner_text()
    assert "arcs to its 16 strongest keys of 300" in caption
    box = page.eval_on_selector(f"{HOST} .av-arcs__scroll", "s => ({left: s.scrollLeft, width: s.clientWidth, "
                                "x: Number(s.querySelector('canvas').dataset.focusX)})")
    assert box["left"] > 0 and box["left"] <= box["x"] <= box["left"] + box["width"], box
    shot_both(page, "arcs-long-text", f"{HOST} .av-arcs")
    watch.assert_clean()


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["laptop", "phone"])
def test_step_by_step_opens_under_the_heatmap_with_token_labels(reader, root_server, viewport):
    page, watch = open_explorer(reader, root_server, viewport=viewport)
    page.check("[data-control=step]")
    page.wait_for_selector(f"{HOST} .av-steps:not([hidden]) canvas[data-matrix]")
    heatmap = page.locator(f"{HOST} .av-explorer__heatmap").bounding_box()
    steps = page.locator(f"{HOST} .av-steps").bounding_box()
    side = page.locator(f"{HOST} .av-explorer__side").bounding_box()
    # right under the heatmap, in its column; on a phone, before the details (the tables)
    assert 0 <= steps["y"] - (heatmap["y"] + heatmap["height"]) < 120
    assert abs(steps["x"] - heatmap["x"]) < 40
    if viewport == PHONE:
        assert steps["y"] < side["y"]
    else:
        assert side["x"] > heatmap["x"] + heatmap["width"]  # the details beside it on a laptop
    # every stage: each matrix of tokens has its token labels (11 tokens: all of them)
    for _ in range(9):
        for fig in page.locator(f"{HOST} .av-steps__mat").all():
            name = fig.locator("canvas[data-matrix]").get_attribute("data-matrix")
            if name == "w_o":
                continue  # dimensions by dimensions: no tokens
            assert fig.locator(".av-steps__rows").get_attribute("data-labels") == "11", name
            if name in ("scores", "scaled", "tempered", "mask", "masked", "pattern"):
                assert fig.locator(".av-steps__cols").get_attribute("data-labels") == "11", name
        if page.locator(f"{HOST} .av-steps button:has-text('Next')").is_disabled():
            break
        if page.locator(f"{HOST} .av-steps__title").inner_text().startswith("Step 8"):
            shot(page, f"steps-{'phone' if viewport == PHONE else 'laptop'}", f"{HOST} .av-steps")
        page.click(f"{HOST} .av-steps button:has-text('Next')")
    watch.assert_clean()


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_the_png_carries_a_title_and_the_legend_and_files_number_from_1(reader, root_server, tmp_path):
    page, watch = open_explorer(reader, root_server, "#head=2&scale=one", viewport=LAPTOP)
    with page.expect_download() as info:
        page.click(f"{HOST} [data-action=export-png]")
    download = info.value
    assert download.suggested_filename == "attention-synthetic-head3.png"  # head index 2: "Head 3" on the page
    path = tmp_path / "head.png"
    download.save_as(path)
    width, height = png_size(path.read_bytes())
    cells = page.eval_on_selector(f"{HOST} .av-heatmap__cells", "c => [c.width, c.height]")
    legend_h = page.eval_on_selector(f"{HOST} .av-legend__bar", "c => c.height")
    assert width >= cells[0] and height >= cells[1] + legend_h + 40  # title and legend beside the cells
    (ARTIFACTS / "edge-export-head3.png").write_bytes(path.read_bytes())
    with page.expect_download() as info:
        page.click(f"{HOST} [data-action=export-svg]")
    svg = open(info.value.path(), encoding="utf-8").read()
    assert info.value.suggested_filename == "attention-synthetic-head3.svg"
    assert "<title>Synthetic head 3 (similar words)</title>" in svg
    assert ">1</text>" in svg  # the top of the scale in use (0 → 1), as on the page
    watch.assert_clean()


def test_the_token_chips_are_one_tab_stop_with_arrow_keys_within(reader, root_server):
    page, watch = open_explorer(reader, root_server, "#token=2", viewport=LAPTOP)
    chips = page.locator(f"{HOST} .av-chip")
    assert chips.evaluate_all("cs => cs.map(c => c.tabIndex)") == [-1, -1, 0] + [-1] * 8
    chips.nth(2).focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => location.hash.includes('token=3')")
    assert page.evaluate("document.activeElement.getAttribute('aria-pressed')") == "true"
    assert page.evaluate("document.activeElement.textContent").startswith("on")
    page.keyboard.press("End")
    page.wait_for_function("() => location.hash.includes('token=10')")
    page.keyboard.press("Home")
    page.wait_for_function("() => !location.hash.includes('token=')|| location.hash.includes('token=0')")
    page.keyboard.press("Tab")  # one press leaves the chips
    assert not page.evaluate("document.activeElement.classList.contains('av-chip')")
    watch.assert_clean()


def test_phone_targets_are_at_least_24_px_and_captions_are_capitalised(reader, root_server):
    page, watch = open_explorer(reader, root_server, "#step=1&view=grid", viewport=PHONE)
    small = page.evaluate("""() => [...document.querySelectorAll(
        '.av-explorer button, .av-explorer select, .av-explorer input[type=checkbox], .av-explorer .av-chip')]
        .filter((e) => e.offsetParent !== null)
        .map((e) => [e.className || e.tagName, e.getBoundingClientRect()])
        .filter(([, r]) => r.width < 24 || r.height < 24).map(([n, r]) => `${n} ${r.width}x${r.height}`)""")
    assert not small, small
    captions = page.locator(f"{HOST} .av-steps__mat figcaption, {HOST} .av-legend__name, {HOST} .av-caption").all_inner_texts()
    lower = [c for c in captions if c and c[0].isalpha() and c[0].islower()]
    assert not lower, lower
    shot(page, "targets-phone", f"{HOST} .av-chips")
    watch.assert_clean()


def test_the_layout_uses_a_laptop_screen(reader, root_server):
    page, watch = open_explorer(reader, root_server, viewport=LAPTOP)
    view = page.locator(f"{HOST} .av-explorer__view").bounding_box()
    panel = page.locator(f"{HOST} .av-explorer__panel").bounding_box()
    assert panel["x"] >= view["x"] + view["width"] - 1  # controls and details beside the heatmap
    assert panel["y"] == pytest.approx(view["y"], abs=2)
    shot_both(page, "layout")
    watch.assert_clean()


def test_offline_a_model_never_downloaded_says_what_it_needs(new_page, root_server):
    index = json.loads((SITE / "models" / "index.json").read_text(encoding="utf-8"))
    entry = next(m for m in index["models"] if m.get("bundle") and m["kind"] == "encoder")  # asked for without consent
    page, watch = open_explorer(new_page, root_server, viewport=LAPTOP)
    page.context.set_offline(True)
    page.select_option("[data-control=model]", entry["name"])
    page.wait_for_selector(ERROR, timeout=60_000)
    message = page.locator(ERROR).inner_text()
    mb = f"{entry['base_bytes'] / 1e6:.1f} MB"
    assert re.search(rf"{re.escape(entry['label'])} needs {re.escape(mb)} to start, and you are offline", message), message
    assert page.locator(f"{HOST} .av-explorer__stale").is_visible()  # the synthetic view stays, marked
    shot_both(page, "offline-never-visited", f"{HOST} .av-status")
    page.context.set_offline(False)
    watch.requests.clear()


def stated_bytes(n: int) -> str:
    """Bytes as the page states them (site_js/bytes.js)."""
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{round(n / 1e3)} kB"


def test_offline_a_model_says_how_much_more_these_words_need(new_page, root_server):
    """MiniLM downloads the word-embedding chunks of a text's pieces: offline, new words need
    chunks it does not have, and the message says how many bytes, counted here from the bundle."""
    first, then = "The cat sat.", "Zygotes juxtapose quixotic xylophones ubiquitously."
    bundle = str(SITE / "models" / "minilm")
    chunks = {}
    for text in (first, then):
        _, _, weights, tokens = api.prepare({"text": text, "model": "minilm"}, bundle)
        chunks[text] = {c["file"]: c["bytes"] for c in models.module("minilm").files_needed(weights, tokens)}
    missing = sum(b for f, b in chunks[then].items() if f not in chunks[first])
    assert missing > 0
    label = models.info("minilm").label
    page, watch = open_explorer(new_page, root_server, "#" + urllib.parse.urlencode({"model": "minilm", "text": first}),
                                viewport=LAPTOP)
    page.context.set_offline(True)
    type_text(page, then)
    page.wait_for_selector(ERROR, timeout=10_000)  # offline fails at once: no retries, no waiting
    message = page.locator(ERROR).inner_text()
    assert f"{label} needs {stated_bytes(missing)} more for these words, and you are offline" in message, message
    shot_both(page, "offline-more-words", f"{HOST} .av-status")
    page.context.set_offline(False)
    type_text(page, first)  # back to words it has: no network needed
    wait_ready(page)
    page.wait_for_function("() => !document.querySelector('.av-explorer').classList.contains('av-explorer--stale')")


def test_an_article_widget_offers_the_first_tokens_too(reader, root_server):
    """The masking widget asks twice (no mask, causal mask): one click answers both."""
    from tests.e2e.widgets import page_with_widget
    page, watch = reader(root_server.origin, LAPTOP)
    page.goto(f"{root_server.url}{page_with_widget('masking')}")
    host = "[data-attnviz=masking]"
    page.wait_for_function(f"() => document.querySelector('{host}').dataset.ready === 'true'", timeout=90_000)
    page.locator(f"{host} input[type=text]").first.fill(words(520))
    offer = page.locator(f"{host} .av-status__offer").first
    offer.wait_for(state="visible", timeout=60_000)
    assert offer.inner_text() == "Use the first 512 tokens"
    offer.click()
    page.wait_for_function(f"""() => [...document.querySelectorAll('{host} .av-heatmap__cells')]
        .every((c) => JSON.parse(c.dataset.geom).rows === 512)""", timeout=60_000)
    assert page.locator(f"{host} .av-status--error").count() == 0
    assert "Only the first 512 of the text's 520 tokens are read" in page.locator(f"{host} .av-status__text").inner_text()
    shot_both(page, "long-text-article-widget", f"{host} .av-status")
    watch.assert_clean()
