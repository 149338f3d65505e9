"""The Explorer's analyses in the browser, as a reader meets them: each view paints, the numbers it
shows are the ones attnviz computes for the same request (asked again through the page's own worker),
the page logs no error and the Content-Security-Policy sees no violation. One page per model for the
whole module (the model loads once); a screenshot of every view goes to test-artifacts/."""
from __future__ import annotations

import json
import re
import urllib.parse
from pathlib import Path

import numpy as np
import pytest

from attnviz.analysis.flow import attention_flow
from tests.e2e.conftest import ARTIFACTS, PageWatch, heatmap_pixels

HOST = ".av-explorer"
PANEL = ".av-analysis .av-analysis__view:not([hidden])"  # the view on screen (others stay, hidden)
SENTENCE = "The cat sat on the mat because it was tired."

# The site's scripts, from the page's own module tag (pages sit at different depths).
JS = "new URL('.', document.querySelector('script[src$=\"js/mount.js\"]').src).href"
# Runs a request through the page's worker client: the numbers the Explorer drew must be these.
API_JS = """async ([request, pick]) => {
  const { getClient } = await import(new URL("client.js", JSROOT).href);
  const r = await getClient().run(request, "test-analysis");
  if (!r.ok) throw new Error(r.error.message);
  const plain = (x) => x && x.data && x.shape ? {shape: x.shape, data: Array.from(x.data)} : x;
  const out = {};
  for (const path of pick) {
    let v = r;
    for (const key of path.split(".")) v = v === undefined ? undefined : v[key];
    out[path] = v && typeof v === "object" && !Array.isArray(v) && !(v.data && v.shape)
      ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)])) : plain(v);
  }
  return out;
}"""


def at(t: dict, *index: int) -> float:
    """t[index] of a {shape, data} array (row-major)."""
    flat = 0
    for i, n in zip(index, t["shape"]):
        flat = flat * n + i
    return t["data"][flat]


def api(page, request: dict, *pick: str) -> dict:
    return page.evaluate(API_JS.replace("JSROOT", JS), [request, list(pick)])


class Explorer:
    """One Explorer page for a model: set its link, wait for the analysis it asks for."""

    def __init__(self, page, watch: PageWatch, server, model: str) -> None:
        self.page, self.watch, self.server, self.model = page, watch, server, model

    def open(self, hash_: str, analysis: str = "") -> None:
        before = self.page.evaluate("window.__attnvizExplorer ? window.__attnvizExplorer.computes : -1")
        url = f"{self.server.url}explorer/#model={self.model}&{hash_}"
        if before < 0:
            self.page.goto(url)
        else:
            # With instant navigation a new address can swap the page in again (Material answers the
            # hash change's popstate), which mounts a new Explorer whose count starts at 0: mark the
            # one on screen, and take either its next result or a new Explorer's first.
            self.page.evaluate("(h) => { window.__attnvizExplorer.old = true; location.hash = h; }", url.split("#", 1)[1])
        self.page.wait_for_function(
            """([before, analysis]) => { const h = document.querySelector('.av-explorer');
               const p = document.querySelector('.av-analysis'), t = window.__attnvizExplorer;
               return h && h.dataset.ready === 'true' && (t.old ? t.computes > before : t.computes > 0)
                 && (!analysis || (p && p.dataset.analysis === analysis)); }""",
            arg=[before, analysis], timeout=180_000)

    def request(self) -> dict:
        """The request the Explorer sends for its state (state.js's own requestFor)."""
        return self.page.evaluate("""async () => {
          const s = await import(new URL("explorer/state.js", JSROOT).href);
          const m = await import(new URL("models.js", JSROOT).href);
          const { state } = s.fromHash(location.hash);
          return s.requestFor(state, m.findModel(await m.modelIndex(), state.model));
        }""".replace("JSROOT", JS))

    def shot(self, name: str, selector: str = HOST) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.locator(selector).first.screenshot(path=str(ARTIFACTS / f"analysis-{name}.png"))

    def cell_tooltip(self, host: str, row: int, col: int) -> str:
        """Hover the centre of a cell of the heatmap inside `host`: the tooltip's text."""
        geom = json.loads(self.page.locator(f"{host} .av-heatmap__cells").first.get_attribute("data-geom"))
        overlay = self.page.locator(f"{host} .av-heatmap__overlay").first
        overlay.scroll_into_view_if_needed()
        box = overlay.bounding_box()
        self.page.mouse.move(box["x"] + geom["left"] + (col + 0.5) * geom["cell"],
                             box["y"] + geom["top"] + (row + 0.5) * geom["cell"])
        return self.page.locator(f"{host} .av-tooltip").first.inner_text()


def explorer_for(browser, root_server, model: str, consent: bool = False):
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    watch = PageWatch(page, root_server.origin)
    explorer = Explorer(page, watch, root_server, model)
    if consent:  # the page asks before a large download: agree, as a reader would
        page.goto(f"{root_server.url}explorer/#model={model}&text={urllib.parse.quote(SENTENCE)}")
        page.wait_for_selector(f"{HOST} [data-action=consent]", timeout=90_000)
        page.click(f"{HOST} [data-action=consent]")
        page.wait_for_function("() => document.querySelector('.av-explorer').dataset.ready === 'true'", timeout=180_000)
    return context, explorer


@pytest.fixture(scope="module")
def minilm(browser, root_server):
    context, explorer = explorer_for(browser, root_server, "minilm")
    yield explorer
    context.close()


def text(s: str = SENTENCE) -> str:
    return f"text={urllib.parse.quote(s)}"


def test_head_roles_grid_and_the_best_head(minilm):
    minilm.open(f"{text()}&analysis=roles", "roles")
    r = api(minilm.page, minilm.request(), "roles", "roles_about", "roles_best")
    cards = minilm.page.locator(f"{PANEL} .av-roles__card")
    assert cards.count() == len(r["roles"]) == 7
    for name, scores in r["roles"].items():
        card = minilm.page.locator(f"{PANEL} .av-roles__card[data-role={name}]")
        assert r["roles_about"][name] in card.inner_text()
        layer, head = r["roles_best"][name]
        assert at(scores, layer, head) == max(scores["data"])  # attnviz's best head has the top score
        button = card.locator(".av-roles__best")
        assert (int(button.get_attribute("data-layer")), int(button.get_attribute("data-head"))) == (layer, head)
        assert float(button.get_attribute("data-score")) == pytest.approx(at(scores, layer, head), abs=1e-6)
        assert heatmap_pixels(minilm.page, f"{PANEL} .av-roles__card[data-role={name}] .av-heatmap__cells")["opaque"] > 500
    # A cell's tooltip is its score.
    prev = r["roles"]["previous_token"]
    assert f"{at(prev, 2, 5):.4f}" in minilm.cell_tooltip(f"{PANEL} .av-roles__card[data-role=previous_token]", 2, 5)
    minilm.shot("roles")
    # "Show the best head" opens it: the hash and the caption say which.
    button = minilm.page.locator(f"{PANEL} .av-roles__card[data-role=previous_token] .av-roles__best")
    layer, head = int(button.get_attribute("data-layer")), int(button.get_attribute("data-head"))
    button.click()
    minilm.page.wait_for_function("(t) => document.querySelector('.av-explorer .av-detail-caption').textContent.startsWith(t)",
                                  arg=f"Layer {layer + 1}, head {head + 1}", timeout=60_000)
    assert minilm.page.evaluate("document.activeElement.classList.contains('av-heatmap__overlay')")
    minilm.watch.assert_clean()


def test_rollout_map_and_bars_are_the_api_rollout(minilm):
    minilm.open(f"{text()}&analysis=rollout&layer=5&token=3", "rollout")
    rollout = api(minilm.page, minilm.request(), "rollout")["rollout"]
    assert rollout["shape"][0] == 6 and len(rollout["shape"]) == 3
    assert "Rollout up to and including layer 6" in minilm.page.locator(f"{PANEL} [data-role=map-caption]").inner_text()
    assert f"{at(rollout, 5, 3, 1):.4f}" in minilm.cell_tooltip(PANEL, 3, 1)
    assert heatmap_pixels(minilm.page, f"{PANEL} .av-heatmap__cells")["colours"] > 8
    bars = minilm.page.locator(f"{PANEL} .av-analysis__bars").first.get_attribute("aria-label")
    assert f"{at(rollout, 5, 3, 0):.2f}" in bars and f"{at(rollout, 5, 3, 12):.2f}" in bars
    minilm.shot("rollout")
    with minilm.page.expect_download() as info:  # the JSON export carries the analysis, as the CLI's does
        minilm.page.click("[data-action=export-json]")
    doc = json.loads(Path(info.value.path()).read_text())
    assert doc["options"]["analysis"] == "rollout"
    assert doc["rollout"][5][3][1] == pytest.approx(at(rollout, 5, 3, 1), abs=1e-6)
    # Each head's own rollout: (layers, heads, q, k), the head in view.
    minilm.page.select_option(f"{PANEL} [data-control=rollout_heads]", "each")
    minilm.page.wait_for_function("() => location.hash.includes('rollout_heads=each')")
    minilm.page.wait_for_function("() => document.querySelector('.av-analysis [data-role=map-caption]').textContent.includes('head 1')",
                                  timeout=60_000)
    each = api(minilm.page, minilm.request(), "rollout")["rollout"]
    assert len(each["shape"]) == 4
    assert f"{at(each, 5, 0, 3, 1):.4f}" in minilm.cell_tooltip(PANEL, 3, 1)
    minilm.watch.assert_clean()


def test_value_weighted_attention_beside_the_raw_weights(minilm):
    minilm.open(f"{text()}&analysis=value_norm&layer=2&head=4&token=5", "value_norm")
    r = api(minilm.page, minilm.request(), "value_norm", "attention.self.weights")
    vn, raw = r["value_norm"], r["attention.self.weights"]
    assert vn["shape"] == raw["shape"]
    assert f"{at(vn, 2, 4, 5, 7):.4f}" in minilm.cell_tooltip(PANEL, 5, 7)
    k = vn["shape"][-1]
    moved = [at(vn, 2, 4, 5, j) for j in range(k)]
    weights = [at(raw, 2, 4, 5, j) for j in range(k)]
    caption = minilm.page.locator(f"{PANEL} .av-caption[data-raw-top]")
    assert int(caption.get_attribute("data-raw-top")) == weights.index(max(weights))
    assert int(caption.get_attribute("data-moved-top")) == moved.index(max(moved))
    share = moved[weights.index(max(weights))] / sum(moved)
    assert f"{share * 100:.1f}% of what is moved" in caption.inner_text()
    # Beside: the raw heatmap and the value-weighted one side by side on a wide screen.
    main, panel = (minilm.page.locator(s).first.bounding_box() for s in (f"{HOST} .av-explorer__heatmap", PANEL))
    assert panel["x"] > main["x"] + main["width"] / 2
    minilm.shot("value-norm")
    minilm.watch.assert_clean()


def test_hiding_tokens_renormalises_the_rows(minilm):
    minilm.open(f"{text()}&analysis=rollout&layer=1", "rollout")
    minilm.page.click(f"{HOST} [data-action=hide-tokens]")
    before = minilm.page.evaluate("window.__attnvizExplorer.computes")
    minilm.page.click(f"{HOST} .av-chip--hide[data-index='0']")
    minilm.page.click(f"{HOST} .av-chip--hide[data-index='12']")
    minilm.page.wait_for_function("(n) => location.hash.includes('hidden=0%2C12') && window.__attnvizExplorer.computes > n + 1",
                                  arg=before, timeout=60_000)
    minilm.page.wait_for_function("() => document.querySelector('.av-explorer').dataset.ready === 'true'")
    req = minilm.request()
    assert req["hide"] == [0, 12]
    r = api(minilm.page, req, "attention.self.weights", "rollout")
    w = r["attention.self.weights"]
    for row in range(1, 12):
        values = [at(w, 1, 0, row, c) for c in range(13)]
        assert values[0] == values[12] == 0 and sum(values) == pytest.approx(1, abs=1e-5)
    assert [at(w, 1, 0, 0, c) for c in range(13)] == [0] * 13
    assert "→ [CLS]: 0.0000" in minilm.cell_tooltip(f"{HOST} .av-explorer__heatmap", 4, 0)
    assert f"{at(w, 1, 0, 4, 2):.4f}" in minilm.cell_tooltip(f"{HOST} .av-explorer__heatmap", 4, 2)
    assert f"{at(r['rollout'], 1, 4, 2):.4f}" in minilm.cell_tooltip(PANEL, 4, 2)
    pressed = minilm.page.locator(f"{HOST} .av-chip--hide[aria-pressed=true]")
    assert pressed.count() == 2 and pressed.first.inner_text().startswith("[CLS]")
    minilm.shot("hide")
    # Showing them again: the request has no hidden tokens.
    minilm.page.click(f"{HOST} .av-chip--hide[data-index='0']")
    minilm.page.click(f"{HOST} .av-chip--hide[data-index='12']")
    minilm.page.wait_for_function("() => !location.hash.includes('hidden=')")
    assert "hide" not in minilm.request()
    minilm.page.click(f"{HOST} [data-action=hide-tokens]")
    minilm.watch.assert_clean()


def test_neuron_view_sums_to_the_score_the_heatmap_shows(minilm):
    minilm.open(f"{text()}&analysis=neuron&layer=1&head=2&query=3&key=1", "neuron")
    r = api(minilm.page, minilm.request(), "neuron", "attention.self.weights")
    n, w = r["neuron"], r["attention.self.weights"]
    total = minilm.page.locator(f"{PANEL} .av-neuron__sum")
    assert float(total.get_attribute("data-score")) == pytest.approx(n["score"], abs=1e-9)
    assert float(total.get_attribute("data-weight")) == pytest.approx(at(w, 1, 2, 3, 1), abs=1e-6)
    assert sum(n["product"]["data"]) == pytest.approx(n["score"], rel=1e-4)
    shown = total.inner_text()
    assert f"Σ q×k = {n['score']:.4f}" in shown and f"÷ √32 = {n['scaled']:.4f}" in shown
    assert f"the weight is {at(w, 1, 2, 3, 1):.4f}" in shown and "“sat” → “the”" in shown
    # ... the same number as the heatmap's cell.
    assert f"sat → the: {at(w, 1, 2, 3, 1):.4f}" in minilm.cell_tooltip(f"{HOST} .av-explorer__heatmap", 3, 1)
    for chart in ("q", "k", "product"):
        assert heatmap_pixels(minilm.page, f"{PANEL} canvas[data-chart={chart}]")["opaque"] > 300
    label = minilm.page.locator(f"{PANEL} canvas[data-chart=q]").get_attribute("aria-label")
    assert f"0: {n['q']['data'][0]:.3f}" in label
    assert minilm.page.locator(f"{PANEL} .av-neuron__sum + .av-caption").is_hidden()  # no rotation in MiniLM
    minilm.shot("neuron")
    # Choosing a cell of the heatmap explains that pair.
    before = minilm.page.evaluate("window.__attnvizExplorer.computes")
    geom = json.loads(minilm.page.locator(f"{HOST} .av-explorer__heatmap .av-heatmap__cells").get_attribute("data-geom"))
    box = minilm.page.locator(f"{HOST} .av-explorer__heatmap .av-heatmap__overlay").bounding_box()
    minilm.page.mouse.click(box["x"] + geom["left"] + 2.5 * geom["cell"], box["y"] + geom["top"] + 5.5 * geom["cell"])
    minilm.page.wait_for_function("(n) => location.hash.includes('query=5') && location.hash.includes('key=2')"
                                  " && window.__attnvizExplorer.computes > n", arg=before, timeout=60_000)
    assert minilm.page.locator(f"{PANEL} [data-control=query]").input_value() == "5"
    assert "“the” → “cat”" in minilm.page.locator(f"{PANEL} .av-neuron__sum").inner_text()
    minilm.watch.assert_clean()


def test_ablation_masks_a_token_and_shows_the_difference(minilm):
    minilm.open(f"{text()}&analysis=ablate&ablate_token=2&layer=3&head=5", "ablate")
    r = api(minilm.page, minilm.request(), "ablate.difference", "ablate.replaced", "ablate.replacement")
    diff = r["ablate.difference"]["self"]
    caption = minilm.page.locator(f"{PANEL} [data-role=ablation-caption]")
    assert caption.inner_text().startswith(f"Token 2 (“{r['ablate.replaced']}”) replaced by “{r['ablate.replacement']}”")
    largest = max(abs(at(diff, 3, 5, i, j)) for i in range(13) for j in range(13))
    assert largest > 0.01  # masking a word changes this head's attention
    assert float(caption.get_attribute("data-largest")) == pytest.approx(largest, abs=1e-6)
    value = at(diff, 3, 5, 4, 2)
    assert f"{'+' if value >= 0 else ''}{value:.4f}" in minilm.cell_tooltip(PANEL, 4, 2)
    assert heatmap_pixels(minilm.page, f"{PANEL} .av-heatmap__cells")["colours"] > 8
    assert minilm.page.locator(f"{PANEL} [data-control=ablate_token]").input_value() == "2"
    minilm.shot("ablate-token")
    # Zeroing the head in view instead: the token is cleared, and this layer's own attention is unchanged.
    minilm.page.check(f"{PANEL} [data-control=ablate_head]")
    minilm.page.wait_for_function("() => location.hash.includes('ablate_head=1') && !location.hash.includes('ablate_token')")
    minilm.page.wait_for_function("() => document.querySelector('.av-analysis [data-role=ablation-caption]')"
                                  ".textContent.startsWith('Layer 4, head 6 zeroed')", timeout=60_000)
    assert float(minilm.page.locator(f"{PANEL} [data-role=ablation-caption]").get_attribute("data-largest")) == 0
    minilm.watch.assert_clean()


# The article "What attention shows and what it hides" (docs/learn/12-what-attention-shows.md):
# its widgets draw, and every number its text states is what attnviz computes in the page.
ARTICLE = "learn/12-what-attention-shows/"
CAPITAL = "The capital of France is"
REPEATED = "<|endoftext|> garden silver rocket window basket thunder garden silver rocket window basket thunder"


@pytest.fixture(scope="module")
def article(browser, root_server):
    """The article with all its widgets drawn: from the answers the build computed, so SmolLM2 (a
    download the reader must agree to) is not downloaded, nor asked for, until a change needs it."""
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    watch = PageWatch(page, root_server.origin)
    page.goto(root_server.url + ARTICLE)
    page.wait_for_function("() => [...document.querySelectorAll('[data-attnviz=analysis]')]"
                           ".every((h) => h.dataset.ready === 'true')", timeout=300_000)
    assert page.locator("[data-action=consent]").count() == 0
    assert not [u for u in watch.requests if "/models/smollm2/" in u and "manifest" not in u]
    yield page, watch, root_server
    context.close()


def p_of(tokens: list[dict], text_: str) -> float | None:
    return next((t["p"] for t in tokens if t["text"] == text_), None)


def test_article_12_widgets_draw_and_the_rollout_claims_hold(article):
    page, watch, _ = article
    widgets = page.locator("[data-attnviz=analysis]")
    assert widgets.count() == 5
    for i in range(5):
        assert heatmap_pixels(page, f"[data-attnviz=analysis] >> nth={i} >> .av-heatmap__cells")["opaque"] > 1000
        widgets.nth(i).screenshot(path=str(ARTIFACTS / f"analysis-article-{i}.png"))
    link = urllib.parse.urlsplit(widgets.first.locator(".av-analysis-widget__open").get_attribute("href"))
    assert link.path.endswith("/explorer/")  # opens the same view in the Explorer
    assert dict(urllib.parse.parse_qsl(link.fragment)) | {"text": SENTENCE} == {
        "model": "minilm", "text": SENTENCE, "analysis": "rollout", "layer": "5", "token": "2"}
    r = api(page, {"model": "minilm", "text": SENTENCE, "analysis": "rollout"}, "rollout", "attention.self.weights")
    ro, w = r["rollout"], r["attention.self.weights"]
    n = ro["shape"][-1]
    ordinary = range(1, n - 1)
    share = [sum(at(ro, l, i, 0) + at(ro, l, i, n - 1) for i in ordinary) / (n - 2) for l in range(6)]
    assert share == sorted(share)  # "grows brighter in the first and last columns as the layers go up"
    assert share[5] > 2 / 3  # "about two thirds ... back to [CLS] and [SEP]"
    heads = w["shape"][1]
    raw = sum(at(w, 5, h, i, 0) + at(w, 5, h, i, n - 1) for h in range(heads) for i in ordinary) / heads / (n - 2)
    assert raw < 0.45  # "well under half of their attention"
    watch.assert_clean()


def test_article_12_value_norm_claims_hold(article):
    page, watch, _ = article
    r = api(page, {"model": "minilm", "text": SENTENCE, "analysis": "value_norm"}, "value_norm", "attention.self.weights")
    vn, w = r["value_norm"], r["attention.self.weights"]
    layers, heads, _, n = vn["shape"]
    row = [at(vn, 2, 7, 2, j) for j in range(n)]
    assert round(at(w, 2, 7, 2, 0) * 100) == 88  # "cat puts 88% of its weight on [CLS]"
    assert row[0] / sum(row) < 0.09  # "supplies under 9% of what the head moves"
    raw_share = moved_share = 0.0
    for layer in range(layers):
        for head in range(heads):
            for i in range(1, n - 1):
                moved = [at(vn, layer, head, i, j) for j in range(n)]
                raw_share += at(w, layer, head, i, 0) + at(w, layer, head, i, n - 1)
                moved_share += (moved[0] + moved[-1]) / sum(moved)
    count = layers * heads * (n - 2)
    assert layers * heads == 72
    assert 0.45 < raw_share / count < 0.5  # "almost half their attention"
    assert 0.1 < moved_share / count < 0.15  # "only about an eighth of what is moved"
    shown = page.locator("[data-attnviz=analysis] >> nth=1 >> .av-caption[data-raw-top]").inner_text()
    weight, moved = re.search(r"“\[CLS\]” \(([\d.]+)% of the weight, ([\d.]+)% of what is moved\)", shown).groups()
    assert round(float(weight)) == 88 and float(moved) < 9  # the widget shows what the text says
    watch.assert_clean()


def test_article_12_induction_claims_hold(article):
    page, watch, _ = article
    r = api(page, {"model": "smollm2", "text": REPEATED, "analysis": "roles"}, "roles_best", "roles")
    assert r["roles_best"]["induction"] == [18, 6]  # "layer 19, head 7"
    assert round(at(r["roles"]["induction"], 18, 6), 2) == 0.89
    r = api(page, {"model": "smollm2", "text": REPEATED, "hide": [0]}, "attention.self.weights", "tokens.text")
    w, tokens = r["attention.self.weights"], r["tokens.text"]
    n = len(tokens)
    half = (n - 1) // 2
    assert [t["text"] for t in tokens[1:1 + half]] == [t["text"] for t in tokens[1 + half:]]  # six words, repeated
    for i in range(1 + half, n):
        assert at(w, 18, 6, i, i - half + 1) > 0.9  # "more than 90% on the word that followed it the first time"
    card = page.locator("[data-attnviz=analysis] >> nth=2 >> .av-roles__card[data-role=induction] .av-roles__best")
    assert card.inner_text() == "Show the best head: layer 19, head 7 (0.89)"
    watch.assert_clean()


def test_article_12_ablation_claims_hold(article):
    page, watch, _ = article
    r = api(page, {"model": "smollm2", "text": CAPITAL}, "next_tokens", "attention.self.weights", "tokens.text")
    assert [t["text"] for t in r["tokens.text"]] == ["The", " capital", " of", " France", " is"]
    assert round(p_of(r["next_tokens"], " Paris") * 100) == 77
    w = r["attention.self.weights"]
    layers, heads = w["shape"][:2]
    to_france = sorted(((at(w, l, h, 4, 3), (l, h)) for l in range(layers) for h in range(heads)), reverse=True)
    assert [head for _, head in to_france[:2]] == [(23, 4), (16, 0)]  # "two heads look hardest at France"
    assert [round(v * 100) for v, _ in to_france[:2]] == [90, 78]
    masked = api(page, {"model": "smollm2", "text": CAPITAL, "analysis": "ablate", "ablate_token": 3}, "ablate")["ablate"]
    assert masked["replaced"] == " France" and p_of(masked["next_tokens"], " Paris") is None  # out of the top ten
    assert len(masked["next_tokens"]) == 10
    for (layer, head), percent in (((23, 4), 14), ((16, 0), 77)):
        zeroed = api(page, {"model": "smollm2", "text": CAPITAL, "analysis": "ablate", "ablate_head": True,
                            "layer": layer, "head": head}, "ablate")["ablate"]
        assert round(p_of(zeroed["next_tokens"], " Paris") * 100) == percent
    table = page.locator("[data-attnviz=analysis] >> nth=4 >> .av-ablation__next tbody tr").first.inner_text()
    assert table.split() == ["Paris", "77.3%", "14.1%", "−63.1", "pt"]
    watch.assert_clean()


def test_a_rotary_model_shows_q_and_k_after_the_rotation(article):
    page, watch, server = article  # SmolLM2 is in this browser's cache now: the Explorer needs no consent
    explorer = Explorer(page, watch, server, "smollm2")
    page.goto(f"{server.url}explorer/#model=smollm2&text={urllib.parse.quote(CAPITAL)}")
    page.wait_for_function("() => document.querySelector('.av-explorer')?.dataset.ready === 'true'", timeout=180_000)
    explorer.open(f"text={urllib.parse.quote(CAPITAL)}&analysis=neuron&layer=23&head=4&query=4&key=3", "neuron")
    n = api(page, explorer.request(), "neuron")["neuron"]
    assert n["rotary"] and len(n["q"]["data"]) == 64
    total = page.locator(f"{PANEL} .av-neuron__sum")
    assert "“ is” → “ France”" in total.inner_text()
    assert float(total.get_attribute("data-score")) == pytest.approx(n["score"], abs=1e-9)
    rotary = page.locator(f"{PANEL} .av-neuron__sum + .av-caption")
    assert rotary.is_visible() and "rotat" in rotary.inner_text()
    label = page.locator(f"{PANEL} canvas[data-chart=q]").get_attribute("aria-label")
    assert f"0: {n['q']['data'][0]:.3f}" in label  # the bars are q after the rotation
    explorer.shot("neuron-rotary")
    # And the Explorer's ablation of a causal LM lists the next tokens before and after.
    explorer.open(f"text={urllib.parse.quote(CAPITAL)}&analysis=ablate&ablate_head=1&layer=23&head=4", "ablate")
    assert page.locator(f"{PANEL} .av-ablation__next tbody tr").first.inner_text().split()[:3] == ["Paris", "77.3%", "14.1%"]
    explorer.shot("ablate-llm")
    watch.assert_clean()


LONG_LLM = ("When Mary and John went to the store, John gave a drink to Mary because she was thirsty after their long "
            "walk home from the old market near the river.")  # 32 tokens for SmolLM2


def test_llm_flow_of_thirty_two_tokens_is_exact_in_the_browser(article):
    """SmolLM2's 30 layers at 32 tokens, which numpy's solver does not do in reasonable time (it stops
    at 23): the worker's kernel, against attnviz's numpy solver in CPython on the browser's own
    attention; then the Explorer draws the last layer's flow."""
    page, watch, server = article
    r = api(page, {"model": "smollm2", "text": LONG_LLM, "analysis": "flow"}, "flow", "attention.self.weights")
    weights = r["attention.self.weights"]
    assert weights["shape"] == [30, 9, 32, 32] and r["flow"]["shape"] == [30, 32, 32]
    browser = np.array(r["flow"]["data"]).reshape(30, 32, 32)
    reference = attention_flow(np.array(weights["data"], dtype=np.float32).reshape(weights["shape"]))
    np.testing.assert_allclose(browser, reference, atol=1e-5)
    explorer = Explorer(page, watch, server, "smollm2")
    explorer.open(f"text={urllib.parse.quote(LONG_LLM)}&analysis=flow&layer=29&token=31", "flow")
    assert "Flow up to and including layer 30" in page.locator(f"{PANEL} [data-role=map-caption]").inner_text()
    assert page.locator(f"{HOST} .av-status--error").count() == 0
    explorer.shot("flow-llm-32-tokens")
    watch.assert_clean()


TRANSLATE = "The red car is parked near the old house."


@pytest.fixture(scope="module")
def translator(browser, root_server):
    context, explorer = explorer_for(browser, root_server, "marian-en-pt")
    yield explorer
    context.close()


def test_translator_ablation_shows_the_changed_translation(translator):
    translator.open(f"{text(TRANSLATE)}&stack=cross&analysis=ablate&ablate_token=2&layer=1", "ablate")
    r = api(translator.page, translator.request(), "translation", "ablate")
    before, after = r["translation"]["text"], r["ablate"]["translation"]["text"]
    assert before != after  # masking "car" changes the translation
    said = translator.page.locator(f"{PANEL} .av-ablation__translation").inner_text()
    assert said == f"Translation before: “{before}”. After: “{after}”."
    # The cross stack's rows are the new translation's tokens: no difference map, and the page says why.
    assert r["ablate"]["notes"] and r["ablate"]["notes"][0] in translator.page.locator(f"{PANEL} [data-role=ablation-caption]").inner_text()
    translator.shot("ablate-translator")
    translator.watch.assert_clean()


def test_translator_self_attention_analyses_and_a_clear_refusal_on_cross(translator):
    translator.open(f"{text(TRANSLATE)}&stack=encoder&analysis=value_norm&layer=3&head=2&token=2", "value_norm")
    vn = api(translator.page, translator.request(), "value_norm")["value_norm"]
    assert f"{at(vn, 3, 2, 2, 1):.4f}" in translator.cell_tooltip(PANEL, 2, 1)
    translator.shot("value-norm-encoder")
    # Head roles need a self-attention stack: on the cross stack the status line says what to do,
    # and the panel draws nothing stale.
    translator.page.evaluate("(h) => { location.hash = h; }", f"model=marian-en-pt&{text(TRANSLATE)}&stack=cross&analysis=roles")
    translator.page.wait_for_selector(f"{HOST} .av-status--error", timeout=60_000)
    assert "Choose the encoder stack" in translator.page.locator(f"{HOST} .av-status").inner_text()
    assert translator.page.locator(".av-analysis").get_attribute("data-analysis") == ""
    translator.watch.assert_clean()


def test_hiding_a_source_token_zeroes_its_cross_attention_column(translator):
    translator.open(f"{text(TRANSLATE)}&stack=cross&layer=1&hidden=2")
    w = api(translator.page, translator.request(), "attention.cross.weights")["attention.cross.weights"]
    rows = w["shape"][2]
    assert all(at(w, 1, 0, i, 2) == 0 for i in range(rows))
    assert all(sum(at(w, 1, 0, i, j) for j in range(w["shape"][3])) == pytest.approx(1, abs=1e-5) for i in range(rows))
    assert "car: 0.0000" in translator.cell_tooltip(f"{HOST} .av-explorer__heatmap", 1, 2)
    translator.watch.assert_clean()


def test_every_view_passes_axe_and_roles_open_from_the_keyboard(minilm):
    from tests.e2e.test_accessibility import AXE, describe, serious_violations
    axe = AXE.read_text(encoding="utf-8")
    for analysis, extra in (("roles", ""), ("rollout", ""), ("value_norm", ""), ("ablate", "&ablate_token=3"),
                            ("neuron", "&query=2&key=1")):
        minilm.open(f"{text()}&analysis={analysis}&layer=1&head=3{extra}", analysis)
        found = serious_violations(minilm.page, axe)
        assert not found, f"{analysis}:\n{describe(found)}"
    minilm.open(f"{text()}&analysis=roles&layer=0&head=0", "roles")
    overlay = minilm.page.locator(f"{PANEL} .av-roles__card[data-role=self] .av-heatmap__overlay")
    overlay.focus()
    for key in ("ArrowDown", "ArrowDown", "ArrowRight", "Enter"):  # to layer 3, head 2, and open it
        minilm.page.keyboard.press(key)
    minilm.page.wait_for_function("() => location.hash.includes('layer=2') && location.hash.includes('head=1')")
    minilm.page.wait_for_function("() => document.querySelector('.av-explorer .av-detail-caption').textContent"
                                  ".startsWith('Layer 3, head 2')", timeout=60_000)
    minilm.watch.assert_clean()


@pytest.fixture(scope="module")
def synthetic(minilm):
    """The hand-built model in MiniLM's page (its worker is up already)."""
    return Explorer(minilm.page, minilm.watch, minilm.server, "synthetic")


def test_synthetic_model_analyses(synthetic):
    """The hand-built model has one layer: its neuron view, rollout and roles, and an ablated head
    that can change nothing (attnviz says so)."""
    synthetic.open(f"{text()}&analysis=neuron&head=1&query=4&key=3&temperature=0.5", "neuron")
    r = api(synthetic.page, synthetic.request(), "neuron", "attention.self.weights")
    n = r["neuron"]
    shown = synthetic.page.locator(f"{PANEL} .av-neuron__sum").inner_text()
    assert f"÷ T (0.5) = {n['scaled'] / 0.5:.4f}" in shown
    assert f"the weight is {at(r['attention.self.weights'], 0, 1, 4, 3):.4f}" in shown
    synthetic.open(f"{text()}&analysis=roles&head=1", "roles")
    roles = api(synthetic.page, synthetic.request(), "roles_best")["roles_best"]
    button = synthetic.page.locator(f"{PANEL} .av-roles__card[data-role=previous_token] .av-roles__best")
    assert [int(button.get_attribute("data-layer")), int(button.get_attribute("data-head"))] == roles["previous_token"]
    synthetic.open(f"{text()}&analysis=ablate&ablate_head=1&head=1", "ablate")
    notes = api(synthetic.page, synthetic.request(), "ablate")["ablate"]["notes"]
    assert notes and notes[0] in synthetic.page.locator(f"{PANEL} [data-role=ablation-caption]").inner_text()
    assert synthetic.page.locator(f"{PANEL} .av-analysis__map").is_hidden()  # nothing changed: no empty map
    synthetic.shot("synthetic-ablate")
    synthetic.watch.assert_clean()


def test_query_key_map_points_pairs_and_hover(minilm):
    others = "A dog barked at the mailman.\nShe sold the old car."
    minilm.open(f"{text()}&analysis=qk_map&layer=2&head=3&sentences={urllib.parse.quote(others)}", "qk_map")
    m = api(minilm.page, minilm.request(), "qk_map")["qk_map"]
    assert m["sentences"] == [SENTENCE, *others.split("\n")]
    n = len(m["tokens"])
    view = minilm.page.locator(PANEL)
    assert view.get_attribute("data-points") == str(2 * n) and view.get_attribute("data-pairs") == str(len(m["pairs"]))
    assert m["queries"]["shape"] == m["keys"]["shape"] == [n, 2] and len(m["pairs"]) > 0
    assert heatmap_pixels(minilm.page, f"{PANEL} .av-qk__canvas")["colours"] > 3
    assert "Layer 3, head 4" in view.locator(".av-detail-caption").inner_text()
    # The keyboard reads the points in order: every query, then every key (left goes round to the last key).
    minilm.page.focus(f"{PANEL} .av-qk__canvas")
    live = view.locator(".av-sr-only")
    minilm.page.keyboard.press("ArrowLeft")
    last = m["tokens"][n - 1]
    assert live.inner_text().startswith(f"key “{last['text']}” (token {last['index']})")
    minilm.page.keyboard.press("ArrowRight")  # round again to the first query
    assert live.inner_text().startswith("query")
    for i, kind in ((1, "query"), (2, "query")):
        minilm.page.keyboard.press("ArrowRight")
        t = m["tokens"][i]
        assert live.inner_text() == (f"{kind} “{t['text']}” (token {t['index']}) — sentence {t['sentence'] + 1}: "
                                     f"{m['sentences'][t['sentence']]}")
    # The pointer over the point the keyboard reached shows the same words.
    tip = view.locator(".av-tooltip")
    point = json.loads(view.locator(".av-qk__canvas").get_attribute("data-point"))
    box = view.locator(".av-qk__canvas").bounding_box()
    minilm.page.mouse.move(box["x"] + 200, box["y"] + 5)  # elsewhere first
    minilm.page.mouse.move(box["x"] + point["x"], box["y"] + point["y"])
    assert tip.inner_text() == live.inner_text()
    minilm.shot("qk-map")
    minilm.watch.assert_clean()


def test_flow_map_and_bars_are_the_api_flow(minilm):
    minilm.open(f"{text()}&analysis=flow&layer=3&token=4", "flow")
    flow = api(minilm.page, minilm.request(), "flow")["flow"]
    assert flow["shape"] == [6, 13, 13]
    assert "Flow up to and including layer 4" in minilm.page.locator(f"{PANEL} [data-role=map-caption]").inner_text()
    assert f"{at(flow, 3, 4, 2):.4f}" in minilm.cell_tooltip(PANEL, 4, 2)
    bars = minilm.page.locator(f"{PANEL} .av-analysis__bars").first.get_attribute("aria-label")
    assert f"{at(flow, 3, 4, 0):.2f}" in bars
    minilm.shot("flow")
    # Past the size flow can do exactly in reasonable time, the status line says so and names the limit.
    long = " ".join(["the cat sat on the mat"] * 10)
    minilm.page.evaluate("(h) => { location.hash = h; }", f"model=minilm&{text(long)}&analysis=flow&layer=3")
    minilm.page.wait_for_selector(f"{HOST} .av-status--error", timeout=60_000)
    message = minilm.page.locator(f"{HOST} .av-status").inner_text()
    assert "at most 50 tokens" in message and "this text has 62" in message  # the browser's kernel: 50
    minilm.watch.assert_clean()
