"""The notebook view, as a reader meets it: a real notebook run headless (nbclient + ipykernel),
its outputs opened in Chromium with every request outside the page refused, each view painted
(an attnviz result, BERT- and GPT-2-shaped `outputs.attentions` tuples, cross-attention between
two token lists, torch tensors when torch is installed), the numbers under the pointer equal to
the arrays given, and the self-contained HTML file opened from file:// under its own CSP."""
from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

from tests.e2e.conftest import ARTIFACTS, CSP_LISTENER, heatmap_pixels  # noqa: E402

SETUP = '''
import numpy as np
import attnviz

rng = np.random.default_rng(7)

def softmax(x, causal=False):
    if causal:
        x = np.where(np.tril(np.ones(x.shape[-2:], bool)), x, -np.inf)
    e = np.exp(x - x.max(-1, keepdims=True))
    return (e / e.sum(-1, keepdims=True)).astype(np.float32)

# Shaped as transformers returns them: a tuple with one (batch, heads, q, k) array per layer.
bert_tokens = ["[CLS]", "the", "cat", "sat", "on", "the", "mat", "[SEP]"]
bert = tuple(softmax(rng.normal(size=(1, 12, 8, 8)) * 2) for _ in range(12))
gpt2_tokens = ["The", "Ġcat", "Ġsat", "Ġon", "Ġthe", "Ġmat", "."]
gpt2 = tuple(softmax(rng.normal(size=(1, 12, 7, 7)) * 2, causal=True) for _ in range(12))
cross = softmax(rng.normal(size=(2, 4, 5, 4)) * 2)  # (layers, heads, target, source)
'''
CELLS = [
    'attnviz.attention("The cat sat on the mat.", heads=4)',  # a result shows itself
    "attnviz.show(bert, bert_tokens)",
    'attnviz.show(gpt2, gpt2_tokens, tab="model", label="GPT-2 shaped")',
    'attnviz.show(cross, ["O", "gato", "sentou", "no", "tapete"], ["The", "cat", "sat", "down"], tab="head")',
    '''try:
    import torch
except ImportError:
    print("torch is not installed")
else:
    attnviz.show(tuple(torch.from_numpy(a) for a in bert), bert_tokens, label="torch")''',
    'print(json.dumps({"bert": bert[0][0, 0].tolist(), "gpt2": gpt2[3][0, 5].tolist()}))',
]


@pytest.fixture(scope="module")
def notebook_outputs(tmp_path_factory) -> dict:
    """Run the notebook once; returns its HTML outputs and the arrays it printed."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import json\n" + SETUP)] + [nbformat.v4.new_code_cell(c) for c in CELLS]
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    html, printed, torch = [], None, True
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                pytest.fail(f"the notebook failed: {out['ename']}: {out['evalue']}")
            if "data" in out and "text/html" in out["data"]:
                html.append(out["data"]["text/html"])
            if out.get("output_type") == "stream" and out["text"].startswith("{"):
                printed = json.loads(out["text"])
            if out.get("output_type") == "stream" and "torch is not installed" in out["text"]:
                torch = False
    nbformat.write(nb, tmp_path_factory.mktemp("nb") / "views.ipynb")
    return {"html": html, "arrays": printed, "torch": torch}


def offline_page(browser, url: str):
    """A page whose every request but the page's own file is refused and recorded."""
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    left: list[str] = []
    errors: list[str] = []

    def route(r):
        if r.request.url == url:
            return r.continue_()
        left.append(r.request.url)
        return r.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.add_init_script(CSP_LISTENER)
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
    page.goto(url)
    return context, page, left, errors


def cell_value(page, view: str, row: int, col: int) -> float:
    """Hover one cell of a view's heatmap and read its weight from the tooltip."""
    canvas = page.locator(f"{view} .av-heatmap__overlay")
    geom = json.loads(page.locator(f"{view} .av-heatmap__cells").get_attribute("data-geom"))
    canvas.hover(position={"x": geom["left"] + (col + 0.5) * geom["cell"], "y": geom["top"] + (row + 0.5) * geom["cell"]})
    text = page.locator(f"{view} .av-tooltip").text_content()
    return float(re.search(r": ([0-9.]+) \(rank", text).group(1))


def test_notebook_outputs_paint_offline(notebook_outputs, browser, tmp_path):
    outputs = notebook_outputs["html"]
    views = 5 if notebook_outputs["torch"] else 4
    assert len(outputs) == views, f"expected {views} views, got {len(outputs)}"
    ids = [re.search(r'data-attnviz-view="([^"]+)"', o).group(1) for o in outputs]
    assert len(set(ids)) == len(ids), "every output has its own element ids"
    assert not any(re.search(r"<script[^>]+src=|require\(|https?://(?!www\.w3\.org/2000/svg)", o) for o in outputs), \
            "nothing is loaded from anywhere (the one URL is the SVG namespace)"
    # A notebook front end: each output in its own output area, scripts run as they are inserted.
    page_file = tmp_path / "notebook.html"
    page_file.write_text("<!doctype html><html><head><meta charset='utf-8'></head><body>" +
                         "".join(f'<div class="jp-OutputArea-output">{o}</div>' for o in outputs) + "</body></html>")
    context, page, left, errors = offline_page(browser, page_file.as_uri())
    try:
        page.wait_for_function(f"document.querySelectorAll('.av-nb[data-ready=\"true\"]').length === {views}", timeout=20000)
        for view_id in ids:
            view = f'[data-attnviz-view="{view_id}"]'
            tab = page.locator(view).get_attribute("data-tab")
            if tab == "model":
                page.wait_for_function(f"document.querySelector('{view} .av-model-view')?.dataset.ready === 'true'")
                assert page.locator(f"{view} .av-thumb").count() == 12 * 12
                stats = heatmap_pixels(page, f"{view} .av-model-view .av-heatmap__cells")
            elif tab == "head":
                page.wait_for_function(f"document.querySelector('{view} .av-head-view')?.dataset.ready === 'true'")
                stats = heatmap_pixels(page, f"{view} .av-lines")
            else:
                stats = heatmap_pixels(page, f"{view} .av-heatmap__cells")
            assert stats["opaque"] > 1000 and stats["colours"] > 4, f"{tab} of {view_id} is not painted: {stats}"
        # The numbers under the pointer are the arrays the notebook gave (float16: 3 decimals).
        bert_view = f'[data-attnviz-view="{ids[1]}"]'
        given = np.array(notebook_outputs["arrays"]["bert"])  # layer 1, head 1: (8, 8)
        for row, col in ((0, 0), (2, 5), (7, 3)):
            assert cell_value(page, bert_view, row, col) == pytest.approx(given[row, col], abs=6e-4)
        page.select_option(f"{bert_view} select[data-control=layer]", index=3)  # another layer redraws
        assert "Layer 4" in page.locator(f"{bert_view} .av-caption").first.text_content()
        page.click(f"{bert_view} button[data-tab=head]")
        page.wait_for_function(f"document.querySelector('{bert_view} .av-head-view')?.dataset.ready === 'true'")
        page.screenshot(path=str(ARTIFACTS / "notebook-outputs.png"), full_page=True)
        assert not left, f"requests left the page: {left}"
        assert not errors, f"console errors: {errors}"
    finally:
        context.close()


def test_saved_html_opens_from_disk_offline(browser, tmp_path):
    import attnviz
    from attnviz import export

    result = attnviz.attention("The doctor asked the nurse <b>a question</b>.", heads=6, causal=True)
    path = attnviz.save_html(result, tmp_path / "view.html", head=2)
    text = path.read_text()
    assert "<b>a question</b>" not in text, "token text is data, never markup"
    context, page, left, errors = offline_page(browser, path.as_uri())
    try:
        page.wait_for_selector(".av-nb[data-ready='true']")
        stats = heatmap_pixels(page)
        assert stats["opaque"] > 1000 and stats["colours"] > 4, stats
        # Exports work from the file: the CSV of the head in view is Python's CSV of the same head.
        with page.expect_download() as download:
            page.click("button[data-export=csv]")
        saved = Path(download.value.path()).read_text()
        python_rows = list(csv.reader(io.StringIO(export.to_csv({**result, "request": {**result["request"], "head": 2}}))))
        browser_rows = list(csv.reader(io.StringIO(saved)))
        assert browser_rows[0] == python_rows[0]
        assert np.allclose(np.array(browser_rows[1:])[:, 1:].astype(float), np.array(python_rows[1:])[:, 1:].astype(float), atol=6e-4)
        with page.expect_download() as download:
            page.click("button[data-export=png]")
        assert Path(download.value.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        with page.expect_download() as download:
            page.click("button[data-export=svg]")
        assert Path(download.value.path()).read_text().startswith("<svg")
        page.click("button[data-tab=model]")
        page.wait_for_function("document.querySelector('.av-model-view')?.dataset.ready === 'true'")
        page.screenshot(path=str(ARTIFACTS / "saved-html-model-view.png"), full_page=True)
        assert not left, f"requests left the page: {left}"
        assert not errors, f"console errors: {errors}"
        assert page.evaluate("window.__cspViolations") == []
    finally:
        context.close()
