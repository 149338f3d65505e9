"""Benchmark what a reader feels, in headless Chromium against the built site on 127.0.0.1.

Prints a table of medians and p95 over several runs and writes it as JSON (build/bench.json):

- floor        a bare page whose worker only boots Pyodide and loads numpy from the same files
               (served: our compiled runtime), and the same from Pyodide and numpy exactly as npm
               and the wheel ship them (stock), to show what compiling to .pyc buys;
- cold / warm  navigation -> first heatmap pixels on the home page (fresh browser context; then a
               reload in the same context, from the HTTP cache; and a revisit through the service
               worker once it has made its offline copy);
- ratio        cold first heatmap / floor;
- recompute    request -> result -> redrawn heatmap, through the page's own worker client, for
               8, 64, 256 and 512 tokens with 8 heads, and the 16-head grid at 64 tokens;
- hover        pointer move -> tooltip updated, at 512 tokens;
- explorer     the Explorer's own control change -> redrawn view (heatmap, chips, arcs, statistics)
               for 8, 64 and 512 tokens with 8 heads, its cold first heatmap, and the longest gap
               between two frames while 200 characters are typed fast;
- bytes        bytes the server sent for a cold home-page visit up to its first heatmap, and in
               all once the service worker has made its offline copy of the site;
- navigation   page to page as a reader reads the articles (footer "Next"): from the click to the
               next page's first heatmap, with instant navigation (one worker for the visit), the
               reader reading each page for READING_S first (the next page's answers are prepared
               meanwhile, next-page.js) and, beside it, clicking the moment each page has drawn;
               and as a full page load (a new document: the worker, Pyodide and numpy start
               again, files from the HTTP cache), and the Pyodide starts in a walk of five pages
               (the page's own pyodide.asm.wasm loads, the service worker's copy apart);
- first visit  the home page (MiniLM live), an article (the built-in model) and the model page
               (article 8, all of MiniLM's heads), each opened cold: to its first heatmap, and over
               the served floor measured just before it (a model's weights download beside the
               runtime), and to Python ready; drawn from the answers the build computed
               (attnviz/mkdocs/built_answers.py) and, alternated with it, computed by Python in
               the page as without them (without_answers_*);
- minilm       choosing the real model in the Explorer -> its first heatmap for a 12-word sentence,
               cold and cached, the model bytes each needed, and the forward pass in the browser
               for 16, 128 and 512 tokens (attnviz's own timing; "request" adds metrics and
               transfer; "metrics" is the metrics' share);
- smollm2, marian-*  the causal LLM and the translators: first result cold and cached with the
               bytes each needed, the LLM's forward at 16-128 tokens and each generated token,
               translating a 14-word sentence with every stack, the WebAssembly memory;
- analyses     each analysis (rollout, flow, value_norm, ablate, neuron, qk_map) of every model of the
               model index at 16, 64 and 128 tokens of input (up to the model's limit): the request's
               wall time in the page with the text's forward pass already cached, and attnviz's own
               analysis_ms; head roles once per model (they run on attnviz's probe, not the text, and
               are cached after); an analysis a model refuses at a size is listed with the reason;
- session      a long session in the Explorer, per model and across models: 300 mixed requests
               (texts of 4-120 words, heads and layers, bursts whose older requests are superseded,
               a cancelled download first), each answer checked to be the newest request's; the
               WebAssembly memory and the page's JavaScript heap before and after (flat: no leak),
               the longest gap between frames, the session's time.
- snapshot     revisits (a new tab, files in the HTTP cache): navigation -> first heatmap drawn from
               the answers the first visit kept (site_js/kept-answers.js; the build's answers are
               left out throughout, so Python draws the first visit's), and -> Python ready (from
               the snapshot) in that tab; then without kept answers, the first heatmap restored from
               the memory snapshot (site_js/snapshot.js), against the same revisit booting the
               normal way and against the floor; a cold first visit with
               and without taking the snapshot (the other one's snapshot.js refuses to take it),
               the slowest of the reader's requests while it is taken, and the snapshot's size.

usage: python tools/bench.py [--runs N] [--out FILE] [--site DIR]
                            [--only models|snapshot|analyses|session|navigation|first-visit]     (make bench)
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import random
import threading
import time
from urllib.parse import quote
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from attnviz.analysis import flow  # noqa: E402
from tests.support.browser import CHROMIUM_ARGS, chromium_path, launch, without_built_answers  # noqa: E402
from tests.support.server import SiteServer, SiteHandler  # noqa: E402

SITE = ROOT / "site"

FLOOR_HTML = """<!doctype html><meta charset="utf-8"><title>floor</title>
<script type="module">
const worker = new Worker("./floor-worker-RUNTIME.js", {type: "module"});
worker.onmessage = () => { window.floorDone = performance.now(); };
</script>"""
# RUNTIME: "served" is the site's own pyodide/ folder; "stock" a copy of build/runtime-stock.
FLOOR_RUNTIME = {"served": "../pyodide/", "stock": "./stock/"}
FLOOR_WORKER = """import { loadPyodide } from "RUNTIME_URLpyodide.mjs";
const py = await loadPyodide({ indexURL: new URL("RUNTIME_URL", import.meta.url).href });
await py.loadPackage(["numpy"]);
py.runPython("import numpy");
self.postMessage("done");"""

# Runs inside the page: time request -> result -> heatmap drawn, through the page's worker client.
RECOMPUTE_JS = """async ([n, heads, grid]) => {
  const { getClient } = await import(new URL("js/client.js", document.baseURI).href);
  const { Heatmap } = await import(new URL("js/heatmap.js", document.baseURI).href);
  const words = "the quick brown fox jumps over a lazy dog while it rains".split(" ");
  const text = Array.from({length: n}, (_, i) => words[i % words.length]).join(" ");
  const host = document.createElement("div");
  host.style.width = "900px";
  document.body.appendChild(host);
  const maps = Array.from({length: grid ? heads : 1}, () => new Heatmap(host.appendChild(document.createElement("div"))));
  const t0 = performance.now();
  const r = await getClient().run({text, heads, temperature: 0.5 + Math.random()}, "bench");
  if (!r.ok) throw new Error(r.error.message);
  const w = r.attention.self.weights;
  const [, , q, k] = w.shape;
  const labels = r.tokens.text.map((t) => t.text);
  maps.forEach((m, h) => m.set({weights: w.data.subarray(h * q * k, (h + 1) * q * k), rows: q, cols: k,
                                rowLabels: labels, colLabels: labels}));
  const ms = performance.now() - t0;
  host.remove();
  return ms;
}"""

HOVER_JS = """async (n) => {
  const { Heatmap } = await import(new URL("js/heatmap.js", document.baseURI).href);
  const host = document.body.appendChild(document.createElement("div"));
  host.style.width = "1100px";
  const m = new Heatmap(host);
  const w = new Float32Array(n * n).map(() => Math.random());
  const labels = Array.from({length: n}, (_, i) => "t" + i);
  m.set({weights: w, rows: n, cols: n, rowLabels: labels, colLabels: labels});
  const rect = m.overlay.getBoundingClientRect();
  const times = [];
  for (let i = 0; i < 60; i++) {
    const x = rect.left + m.geom.left + ((i * 37) % n + 0.5) * m.geom.cell;
    const y = rect.top + m.geom.top + ((i * 53) % n + 0.5) * m.geom.cell;
    const t0 = performance.now();
    m.overlay.dispatchEvent(new MouseEvent("mousemove", {clientX: x, clientY: y, bubbles: true}));
    if (!m.tooltip.textContent) throw new Error("no tooltip");
    times.push(performance.now() - t0);
  }
  host.remove();
  return times;
}"""


class CountingHandler(SiteHandler):
    """Counts the bytes of every response body it sends (and those of model files apart)."""
    sent_models = 0
    sent = 0
    lock = threading.Lock()

    def copyfile(self, source, outputfile):
        data = source.read()
        outputfile.write(data)
        with CountingHandler.lock:
            CountingHandler.sent += len(data)
            if "/models/" in self.path:
                CountingHandler.sent_models += len(data)


def quantiles(values: list[float]) -> dict:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"median": statistics.median(ordered), "p95": p95, "runs": len(ordered)}


# Notes, in the page, the moment an element matching SELECTOR first exists (a widget has drawn):
# Playwright's own wait would notice it only after the page's next long task.
FIRST_MATCH = """new MutationObserver((_, observer) => {
    if (document.querySelector(SELECTOR)) { window.__firstMatch ??= performance.now(); observer.disconnect(); }
}).observe(document, { subtree: true, childList: true, attributes: true });"""


# Notes when a status line first says Python is ready (its state is "ready", or "model" while a
# model's weights load after it), as the page saw it.
PYTHON_READY_MARK = """new MutationObserver((_, observer) => {
    if (document.querySelector(".av-status[data-state='ready'], .av-status[data-state='model']")) {
        window.__pythonReady ??= performance.now(); observer.disconnect(); }
}).observe(document, { subtree: true, childList: true, attributes: true });"""


def first_heatmap_ms(page, url: str, selector: str = "[data-attnviz='heatmap'][data-ready='true']") -> float:
    """ms from navigation until the first element matching selector (a drawn widget), as the page saw it."""
    page.add_init_script(FIRST_MATCH.replace("SELECTOR", json.dumps(selector)))
    page.goto(url)
    page.wait_for_selector(selector, timeout=120_000)
    return page.evaluate("window.__firstMatch ?? performance.now()")


def bench_loads(browser, server, runs: int) -> dict:
    floor, stock, cold, warm, sent, visit, offline_warm = [], [], [], [], [], [], []
    for _ in range(runs):
        for runtime, times in (("served", floor), ("stock", stock)):
            context = browser.new_context()
            page = context.new_page()
            page.goto(server.url + f"_bench/floor-{runtime}.html")
            page.wait_for_function("() => window.floorDone", timeout=120_000)
            times.append(page.evaluate("window.floorDone"))
            context.close()

        # Cold and warm (HTTP cache) without the service worker, whose offline copy would start
        # as the heatmap appears and blur the byte count.
        context = browser.new_context(service_workers="block")
        page = context.new_page()
        CountingHandler.sent = 0
        cold.append(first_heatmap_ms(page, server.url))
        page.wait_for_timeout(300)  # late small requests (the search index) still count
        sent.append(CountingHandler.sent)
        warm.append(first_heatmap_ms(page, server.url))
        context.close()

        # A first visit as a reader has it: the service worker then keeps the site; a revisit.
        context = browser.new_context()
        page = context.new_page()
        CountingHandler.sent = 0
        first_heatmap_ms(page, server.url)
        page.evaluate("navigator.serviceWorker.ready")
        page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=120_000)
        visit.append(CountingHandler.sent)
        offline_warm.append(first_heatmap_ms(page, server.url))
        context.close()
    ratio = [c / f for c, f in zip(cold, floor)]
    return {"floor_stock_ms": quantiles(stock), "floor_ms": quantiles(floor), "cold_first_heatmap_ms": quantiles(cold),
            "warm_first_heatmap_ms": quantiles(warm), "warm_via_service_worker_ms": quantiles(offline_warm),
            "cold_over_floor": quantiles(ratio), "cold_bytes": quantiles(sent),
            "first_visit_with_offline_copy_bytes": quantiles(visit)}


SNAPSHOT_META = """(url) => import(url + 'js/snapshot.js').then(async (s) => {
    const bytes = await s.loadStored();
    return bytes && {bytes: bytes.length, ...s.unpack(bytes).meta};
})"""
# The reader asks again just after the worker goes idle: the first of these lands while the
# worker takes its snapshot (it starts 1 s after the last result); the slowest answer counts.
NEXT_REQUESTS = """async (url) => {
    const client = (await import(url + 'js/client.js')).getClient();
    let slowest = 0;
    for (let i = 0; i < 4; i++) {
        await new Promise((r) => setTimeout(r, 1020));
        const t0 = performance.now();
        await client.run({text: 'The reader asks again while the page is idle.', heads: 4, head: i % 4}, 'bench');
        slowest = Math.max(slowest, performance.now() - t0);
    }
    return slowest;
}"""
WAIT_FOR_SNAPSHOT = """(url) => import(url + 'js/snapshot.js').then(async (s) => {
    for (let i = 0; i < 240 && !(await s.loadStored()); i++) await new Promise((r) => setTimeout(r, 250));
})"""


# Drop the answers kept between visits (site_js/kept-answers.js): the next page load computes its own.
DROP_KEPT_ANSWERS = """async () => { for (const name of await caches.keys())
    if (name.startsWith('attnviz-answers-')) await caches.delete(name); }"""
# ms from navigation until Python is ready in the page's worker (the client's status says so).
PYTHON_READY_MS = """(url) => import(url + 'js/client.js').then(({ getClient }) => new Promise((resolve) => {
    const client = getClient();
    const done = () => { if (client.status.ready) { client.listeners.delete(done); resolve(performance.now()); } };
    client.listeners.add(done); done(); }))"""


def floor_ms(browser, server) -> float:
    context = browser.new_context()
    page = context.new_page()
    page.goto(server.url + "_bench/floor-served.html")
    page.wait_for_function("() => window.floorDone", timeout=120_000)
    ms = page.evaluate("window.floorDone")
    context.close()
    return ms


def bench_snapshot(browser, server, runs: int) -> dict:
    floor, restored, normal, first_with, first_without, next_with, next_without, size, blocked = ([] for _ in range(9))
    kept, kept_python = [], []
    never_take = (SITE / "js" / "snapshot.js").read_text().replace(
        "export const MAX_HEAP_BYTES = ", "export const MAX_HEAP_BYTES = 0 * ", 1)
    for _ in range(runs):
        floor.append(floor_ms(browser, server))
        for taking, firsts, nexts in ((True, first_with, next_with), (False, first_without, next_without)):
            context = browser.new_context(service_workers="block")
            without_built_answers(context)  # Python's own first views: restored, booted, or kept from them
            if not taking:
                context.route("**/js/snapshot.js", lambda route: route.fulfill(
                    body=never_take, headers={"Content-Type": "text/javascript"}))
            page = context.new_page()
            firsts.append(first_heatmap_ms(page, server.url))
            nexts.append(page.evaluate(NEXT_REQUESTS, server.url))
            if taking:
                page.evaluate(WAIT_FOR_SNAPSHOT, server.url)
                meta = page.evaluate(SNAPSHOT_META, server.url)
                assert meta, "the first visit kept no snapshot"
                size.append(meta["bytes"])
                blocked.append(meta["blockedMs"])
                page.close()
                page = context.new_page()  # a new tab: the first visit's answers drawn while Python restores
                kept.append(first_heatmap_ms(page, server.url))
                kept_python.append(page.evaluate(PYTHON_READY_MS, server.url))
                page.wait_for_timeout(500)  # answers the page keeps again, then dropped
                page.evaluate(DROP_KEPT_ANSWERS)
                page.close()
                page = context.new_page()  # a new tab: files from the HTTP cache, Python from the snapshot
                restored.append(first_heatmap_ms(page, server.url))
                outcome = page.evaluate("(url) => import(url + 'js/client.js').then((m) => m.getClient().status.timings.snapshot)", server.url)
                assert outcome == "restored", outcome
                page.wait_for_timeout(500)
                page.evaluate("caches.delete('attnviz-snapshot')")
                page.evaluate(DROP_KEPT_ANSWERS)
                page.close()
                page = context.new_page()  # the same revisit without a snapshot
                normal.append(first_heatmap_ms(page, server.url))
            context.close()
    return {"kept_answers_revisit_first_heatmap_ms": quantiles(kept),
            "kept_answers_revisit_over_floor": quantiles([k / f for k, f in zip(kept, floor)]),
            "kept_answers_revisit_python_ready_ms": quantiles(kept_python),
            "snapshot_revisit_first_heatmap_ms": quantiles(restored),
            "snapshot_revisit_normal_boot_ms": quantiles(normal),
            "snapshot_revisit_over_floor": quantiles([r / f for r, f in zip(restored, floor)]),
            "snapshot_revisit_over_normal_boot": quantiles([r / n for r, n in zip(restored, normal)]),
            "snapshot_floor_ms": quantiles(floor),
            "snapshot_first_visit_taking_ms": quantiles(first_with),
            "snapshot_first_visit_not_taking_ms": quantiles(first_without),
            "snapshot_slowest_next_request_taking_ms": quantiles(next_with),
            "snapshot_slowest_next_request_not_taking_ms": quantiles(next_without),
            "snapshot_worker_blocked_ms": quantiles(blocked),
            "snapshot_bytes": quantiles(size)}


def bench_interaction(browser, server, runs: int) -> dict:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    first_heatmap_ms(page, server.url)
    out = {}
    for n, heads, grid in [(8, 8, False), (64, 8, False), (256, 8, False), (512, 8, False), (64, 16, True)]:
        name = f"recompute_{n}tok_{heads}h" + ("_grid" if grid else "")
        page.evaluate(RECOMPUTE_JS, [n, heads, grid])  # warm-up
        out[name + "_ms"] = quantiles([page.evaluate(RECOMPUTE_JS, [n, heads, grid]) for _ in range(runs)])
    out["hover_512tok_ms"] = quantiles(page.evaluate(HOVER_JS, 512))
    context.close()
    return out


def bench_explorer(browser, server, runs: int) -> dict:
    """Control change -> redrawn Explorer (heatmap, chips, arcs, statistics), as the page measures it
    itself (window.__attnvizExplorer.latencies), for 8, 64 and 512 tokens with 8 heads, plus the
    cold first heatmap of the Explorer page."""
    out, cold = {}, []
    words = "the quick brown fox jumps over a lazy dog while it rains".split()
    for _ in range(max(1, runs // 2)):
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        cold.append(first_heatmap_ms(page, server.url + "explorer/", ".av-explorer[data-ready='true']"))
        context.close()
    out["explorer_cold_first_heatmap_ms"] = quantiles(cold)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    for n in (8, 64, 512):
        text = " ".join(words[i % len(words)] for i in range(n))
        page.goto(f"{server.url}explorer/#text={quote(text)}")
        page.wait_for_selector(f".av-explorer[data-ready='true'][data-tokens='{n}']", timeout=120_000)
        page.evaluate("window.__attnvizExplorer.latencies = []")
        for i in range(runs + 1):  # alternate the temperature: every change recomputes and redraws
            count = page.evaluate("window.__attnvizExplorer.latencies.length")
            page.eval_on_selector("[data-control=temperature]",
                                  "(s, v) => { s.value = v; s.dispatchEvent(new Event('input')); }", "0.5" if i % 2 else "1.5")
            page.wait_for_function("(c) => window.__attnvizExplorer.latencies.length > c", arg=count, timeout=60_000)
        latencies = page.evaluate("window.__attnvizExplorer.latencies")[1:]  # the first one warms up
        out[f"explorer_change_{n}tok_8h_ms"] = quantiles(latencies)
    gaps = []
    for _ in range(runs):  # typing fast: the longest gap between two frames (a frozen page shows here)
        page.goto(f"{server.url}explorer/")
        page.wait_for_selector(".av-explorer[data-ready='true']", timeout=120_000)
        page.evaluate(FRAME_WATCH)
        page.locator("[data-control=text]").fill("")
        page.locator("[data-control=text]").press_sequentially(TYPED, delay=5)
        page.wait_for_function("(t) => document.querySelector('.av-explorer').dataset.ready === 'true' && "
                               "document.querySelector('[data-control=text]').value === t", arg=TYPED, timeout=60_000)
        gaps.append(page.evaluate("window.__maxGap"))
    out["typing_200_chars_longest_frame_gap_ms"] = quantiles(gaps)
    context.close()
    return out


# Records the longest gap between animation frames.
FRAME_WATCH = """() => { window.__maxGap = 0; let last = performance.now();
  const tick = (t) => { window.__maxGap = Math.max(window.__maxGap, t - last); last = t; requestAnimationFrame(tick); };
  requestAnimationFrame(tick); }"""
TYPED = ("Typing fast must never freeze the page: every keystroke waits for the last request. " * 3)[:200].rstrip()


# The articles read in a row by following "Next": each draws a heatmap of the synthetic model.
WALK = ["learn/01-what-is-attention/", "learn/02-queries-keys-values/", "learn/03-scaled-dot-product/",
        "learn/04-masking/", "learn/05-multi-head/"]
# Click "Next", then wait in the page for the new page's first widget to draw: ms from the click.
NEXT_PAGE_JS = """() => new Promise((resolve) => {
  document.querySelectorAll('[data-attnviz]').forEach((h) => { h.dataset.left = '1'; });
  const t0 = performance.now();
  const tick = () => {
    if (document.querySelector('[data-attnviz][data-ready=true]:not([data-left])')) return resolve(performance.now() - t0);
    requestAnimationFrame(tick);
  };
  document.querySelector('a.md-footer__link--next').click();
  requestAnimationFrame(tick);
})"""
FIRST_READY = "[data-attnviz][data-ready='true']"


# A reader reads a page before following its "Next" link: seconds on the page, in the walk.
READING_S = 2.0


def bench_navigation(browser, server, runs: int) -> dict:
    """Reading the articles in a row: click -> the next page's first heatmap, in place (instant
    navigation) after reading each page for READING_S, the same clicking the moment each page has
    drawn, and as a full page load; and how many times Pyodide starts in the walk."""
    instant, hurried, full, starts = [], [], [], []
    for _ in range(runs):
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        wasm = []
        context.on("request", lambda r: r.url.endswith("/pyodide.asm.wasm") and r.service_worker is None
                   and wasm.append(r.url))
        first_heatmap_ms(page, server.url + WALK[0], FIRST_READY)
        for expected in WALK[1:]:
            page.wait_for_timeout(READING_S * 1000)
            instant.append(page.evaluate(NEXT_PAGE_JS))
            assert page.url == server.url + expected, (page.url, expected)
        starts.append(len(wasm))
        first_heatmap_ms(page, server.url + WALK[0], FIRST_READY)
        for expected in WALK[1:]:
            hurried.append(page.evaluate(NEXT_PAGE_JS))
            assert page.url == server.url + expected, (page.url, expected)
        # The same walk as full page loads (what every link cost before): navigation start is the click.
        for url in WALK[1:]:
            full.append(first_heatmap_ms(page, server.url + url, FIRST_READY))
        context.close()
    return {"navigation_first_heatmap_ms": quantiles(instant), "navigation_no_reading_first_heatmap_ms": quantiles(hurried),
            "navigation_full_load_first_heatmap_ms": quantiles(full),
            "navigation_pyodide_starts_per_visit": quantiles(starts)}


MODEL_PAGE = "learn/08-real-models/"
# The kinds of page a first visit opens with: the home page (a real model, live), an article (the
# built-in model only) and the model page (all of MiniLM's heads).
FIRST_VISIT_PAGES = {"home_page": "", "article": "learn/03-scaled-dot-product/", "model_page": MODEL_PAGE}


def bench_first_visit(browser, server, runs: int) -> dict:
    """Each kind of page opened cold (empty caches): ms to its first heatmap, and over the floor
    measured just before it, and to Python ready (a status line says so); its first views drawn
    from the answers the build computed, and (without_answers_*) computed by Python in the page,
    as without them. The two are alternated."""
    out = {}
    for kind, path in FIRST_VISIT_PAGES.items():
        runs_of = {ahead: {"heatmap": [], "ratio": [], "ready": []} for ahead in (True, False)}
        for _ in range(runs):
            floor = floor_ms(browser, server)
            for ahead, measured in runs_of.items():
                context = browser.new_context(viewport={"width": 1280, "height": 900})
                if not ahead:
                    without_built_answers(context)
                page = context.new_page()
                page.add_init_script(PYTHON_READY_MARK)
                measured["heatmap"].append(first_heatmap_ms(page, server.url + path, FIRST_READY))
                measured["ratio"].append(measured["heatmap"][-1] / floor)
                page.wait_for_function("() => window.__pythonReady", timeout=120_000)
                measured["ready"].append(page.evaluate("window.__pythonReady"))
                context.close()
        for ahead, measured in runs_of.items():
            name = f"first_visit_{kind}_{'' if ahead else 'without_answers_'}"
            out[name + "first_heatmap_ms"] = quantiles(measured["heatmap"])
            out[name + "over_floor"] = quantiles(measured["ratio"])
            out[name + "python_ready_ms"] = quantiles(measured["ready"])
    return out


MINILM_SENTENCE = "The doctor asked the nurse a question because she was unsure of the answer."  # 14 words
MINILM_READY = ("() => document.querySelector('.av-explorer')?.dataset.ready === 'true'"
                " && document.querySelector('.av-detail-caption').textContent.startsWith('Layer')")

FORWARD_JS = """async ([n, root]) => {
  const { getClient } = await import(new URL("js/client.js", root).href);
  const words = "the quick brown fox jumps over a lazy dog while it rains".split(" ");
  const text = Array.from({length: n - 2}, (_, i) => words[i % words.length]).join(" ");  // + [CLS] [SEP]
  const r = await getClient().run({text, model: "minilm"}, "bench");
  if (!r.ok) throw new Error(r.error.message);
  return [r.tokens.text.length, r.timings.model_ms, r.ms, r.timings.metrics_ms];
}"""


def choose_minilm_ms(page, url: str) -> float:
    """Explorer ready on the synthetic model -> choose MiniLM -> its first heatmap, in ms."""
    page.goto(url)
    page.wait_for_selector(".av-explorer[data-ready='true']", timeout=120_000)
    t0 = page.evaluate("performance.now()")
    page.select_option("[data-control=model]", "minilm")  # the bench measures this one model by name
    page.wait_for_function(MINILM_READY, timeout=120_000)
    return page.evaluate("performance.now()") - t0


def bench_minilm(browser, server, runs: int) -> dict:
    """The real model: bytes and time from choosing it to its first heatmap for a 12-word sentence,
    cold (empty caches) and cached (a revisit), and the forward pass in the browser."""
    url = f"{server.url}explorer/#text={quote(MINILM_SENTENCE)}"
    cold, cached, cold_bytes, cached_bytes, out = [], [], [], [], {}
    for _ in range(max(1, runs // 2)):
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        CountingHandler.sent_models = 0
        cold.append(choose_minilm_ms(page, url))
        cold_bytes.append(CountingHandler.sent_models)
        CountingHandler.sent_models = 0
        cached.append(choose_minilm_ms(page, url))
        cached_bytes.append(CountingHandler.sent_models)
        for n in (16, 128, 512):
            page.evaluate(FORWARD_JS, [n, server.url])  # warm-up
            samples = [page.evaluate(FORWARD_JS, [n, server.url]) for _ in range(runs)]
            assert samples[0][0] == n, samples[0]
            out.setdefault(f"minilm_forward_{n}tok_ms", []).extend(s[1] for s in samples)
            out.setdefault(f"minilm_request_{n}tok_ms", []).extend(s[2] for s in samples)
            out.setdefault(f"minilm_metrics_{n}tok_ms", []).extend(s[3] for s in samples)
        context.close()
    return {"minilm_cold_first_heatmap_ms": quantiles(cold), "minilm_cached_first_heatmap_ms": quantiles(cached),
            "minilm_cold_bytes": quantiles(cold_bytes), "minilm_cached_bytes": quantiles(cached_bytes),
            **{k: quantiles(v) for k, v in out.items()}}


RUN_JS = """async ([request, root]) => {
  const { getClient } = await import(new URL("js/client.js", root).href);
  const t0 = performance.now();
  const r = await getClient().run(request, "bench");
  if (!r.ok) throw new Error(r.error.message);
  const tokens = Object.values(r.tokens).reduce((n, side) => n + side.length, 0);
  const stack = r.attention[r.request.stack];
  return {wall: performance.now() - t0, model: r.timings.model_ms, metrics: r.timings.metrics_ms, tokens,
          memory: r.memory, analysis: r.timings.analysis_ms ?? null, input_tokens: r.tokens[stack.key].length};
}"""
WORDS = "the quick brown fox jumps over a lazy dog while it rains on the old house".split()
LLM_LENGTHS = (16, 32, 64, 128)
TRANSLATE_SENTENCE = "The doctor asked the nurse a question because she was unsure of the answer."  # 14 words


def words(n: int) -> str:
    return " ".join(WORDS[i % len(WORDS)] for i in range(n))


def bench_real_models(browser, server, runs: int) -> dict:
    """The causal LLM and the translators: from "use this model" to its first result, cold (empty
    caches: download, load, forward) and cached (a new page: the files from the Cache API, Pyodide
    booting again), the bytes each needed, the forward pass at the lengths readers use, each
    generated token, and the WebAssembly memory after it all."""
    out: dict[str, list[float]] = {}
    add = lambda name, value: out.setdefault(name, []).append(value)  # noqa: E731
    llm, translators = {"model": "smollm2"}, [{"model": "marian-en-pt"}, {"model": "marian-pt-en"}]
    for _ in range(max(1, runs // 2)):
        for model in [llm, *translators]:
            name = model["model"]
            text = words(12) if name == "smollm2" else TRANSLATE_SENTENCE
            context = browser.new_context()
            page = context.new_page()
            page.goto(f"{server.url}faq/")  # a page without widgets: the worker starts on first use
            for label in ("cold", "cached"):
                page.evaluate(RUN_JS, [{"text": "x", "heads": 1}, server.url])  # Pyodide up first
                CountingHandler.sent_models = 0
                first = page.evaluate(RUN_JS, [{**model, "text": text}, server.url])
                add(f"{name}_{label}_first_result_ms", first["wall"])
                add(f"{name}_{label}_bytes", CountingHandler.sent_models)
                if label == "cold":
                    page.reload()
            if name == "smollm2":
                for n in LLM_LENGTHS:
                    r = [page.evaluate(RUN_JS, [{**llm, "text": words(n)}, server.url]) for _ in range(2)][-1]
                    assert r["tokens"] == n, r
                    add(f"smollm2_forward_{n}tok_ms", r["model"])
                    add(f"smollm2_metrics_{n}tok_ms", r["metrics"])
                base = page.evaluate(RUN_JS, [{**llm, "text": words(16)}, server.url])["model"]
                gen = page.evaluate(RUN_JS, [{**llm, "text": words(16), "generate": 10}, server.url])
                add("smollm2_per_generated_token_ms", (gen["model"] - base) / 10)
                add("smollm2_wasm_memory_bytes", gen["memory"])
            else:
                r = page.evaluate(RUN_JS, [{**model, "text": text}, server.url])
                add(f"{name}_translate_14_words_ms", r["model"])
                add(f"{name}_request_14_words_ms", r["wall"])
            context.close()
    return {k: quantiles(v) for k, v in out.items()}


SESSION_REQUESTS = 300
SESSION_WORDS = (4, 16, 48, 120)  # text lengths, in words (the LLM's context is 128 tokens: up to 48)
SESSION_MODELS = {"synthetic": ["synthetic"], "minilm": ["minilm"], "marian-en-pt": ["marian-en-pt"],
                  "mixed": ["synthetic", "minilm", "marian-en-pt", "marian-pt-en"], "smollm2": ["smollm2"]}
# The request on screen is the one the controls ask for (the Explorer exposes both).
SHOWN_IS = """(w) => { const s = (window.__attnvizExplorer || {}).shown; const st = document.querySelector('.av-explorer .av-status');
  return s && s.model === w.model && s.text === w.text && s.layer === w.layer && s.head === w.head
    && st.dataset.state === 'ready' && !st.classList.contains('av-status--error'); }"""
HEAP_JS = """async (root) => {
  const { getClient } = await import(new URL("js/client.js", root).href);
  const r = await getClient().run({text: "heap", model: "synthetic"}, "heap");
  if (window.gc) window.gc();
  return {wasm: r.memory, js: performance.memory ? performance.memory.usedJSHeapSize : 0};
}"""
# Every answer the Explorer draws, to count those drawn after a newer one was on screen.
DRAWS_JS = """() => { const t = window.__attnvizExplorer; let shown = t.shown; window.__drawn = [];
  Object.defineProperty(t, "shown", {get: () => shown, set: (v) => { shown = v; window.__drawn.push(v); }}); }"""
STALE_SINCE_JS = """(w) => { const same = (s) => s.model === w.model && s.text === w.text && s.layer === w.layer && s.head === w.head;
  const stale = window.__drawn.filter((s) => !same(s)).length; window.__drawn = []; return stale; }"""
FRAMES_JS = """() => { window.__maxGap = 0; let last = performance.now();
  const tick = (t) => { window.__maxGap = Math.max(window.__maxGap, t - last); last = t; requestAnimationFrame(tick); };
  requestAnimationFrame(tick); }"""


def session_lengths(entry: dict) -> list[int]:
    """The text lengths a session uses for a model: all of SESSION_WORDS that fit its context."""
    return [n for n in SESSION_WORDS if n <= (48 if entry["max_tokens"] <= 128 else 120)]


def session_steps(models: list[str], index: dict, seed: int) -> list[list[dict]]:
    """SESSION_REQUESTS requests as groups: a group of one waits for its answer; a burst of several
    is sent at once (the older ones are superseded). Texts change on about 4 requests in 10, the
    head or layer on the rest (a reader clicking through heads)."""
    rng = random.Random(seed)
    shapes = {m["name"]: m for m in index["models"]}
    groups, count, text = [], 0, {m: words(SESSION_WORDS[0]) for m in models}
    while count < SESSION_REQUESTS:
        size = 5 if rng.random() < 0.1 else 1
        group = []
        for _ in range(min(size, SESSION_REQUESTS - count)):
            model = rng.choice(models)
            m = shapes[model]
            if rng.random() < 0.4:
                text[model] = f"{rng.choice(['One', 'Two', 'Red', 'Old'])} " + words(rng.choice(session_lengths(m)) - 1)
            stack_layers = m.get("stack_layers", {}).get(m["stacks"][0], m["layers"])
            heads = 8 if model == "synthetic" else m["heads"]
            group.append({"model": model, "text": text[model], "layer": rng.randrange(stack_layers),
                          "head": rng.randrange(heads)})
        groups.append(group)
        count += len(group)
    return groups


def explorer_hash(want: dict) -> str:
    return "#" + "&".join(f"{k}={quote(str(v))}" for k, v in want.items() if not (k == "model" and v == "synthetic"))


def cancel_first_download(page, model: str, bundle: str) -> bool:
    """Choose a real model over a stalled connection and cancel its download: True if it was."""
    held = []
    page.route(f"**/models/{bundle}/**", lambda route: held.append(route) if "manifest" not in route.request.url
               else route.continue_())
    page.evaluate("(h) => { location.hash = h; }", explorer_hash({"model": model, "text": words(4)}))
    cancel = ".av-explorer .av-status__cancel:visible"
    page.wait_for_selector(f"[data-action=consent], {cancel}", timeout=60_000)
    if page.locator("[data-action=consent]").count():  # a large model is asked for first
        page.click("[data-action=consent]")
    page.wait_for_selector(cancel, timeout=60_000)
    page.click(".av-explorer .av-status__cancel")
    page.wait_for_selector(".av-explorer .av-status--error", timeout=30_000)
    cancelled = "cancelled" in page.text_content(".av-explorer .av-status__text")
    page.unroute(f"**/models/{bundle}/**")
    for route in held:
        try:
            route.continue_()
        except Exception:
            pass  # aborted by the cancel
    return cancelled


def bench_session(pw, server) -> dict:
    """SESSION_REQUESTS mixed requests per model (and across models) in one Explorer page."""
    index = json.loads((site / "models" / "index.json").read_text())
    bundles = {m["name"]: m["bundle"] for m in index["models"]}
    browser = pw.chromium.launch(executable_path=chromium_path(),
                                 args=CHROMIUM_ARGS + ["--enable-precise-memory-info", "--js-flags=--expose-gc"])
    out: dict[str, dict] = {}
    one = lambda v: quantiles([v])  # noqa: E731  (a session is one run)
    for seed, (name, models) in enumerate(SESSION_MODELS.items()):
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.goto(f"{server.url}explorer/")
        page.wait_for_selector(".av-explorer[data-ready='true']", timeout=120_000)
        cancels = sum(cancel_first_download(page, m, bundles[m]) for m in models if bundles[m])
        shapes = {m["name"]: m for m in index["models"]}
        for m in models:  # warm up: every model at every length it will see, so the heap has grown
            for n in session_lengths(shapes[m]):
                want = {"model": m, "text": "Warm " + words(n - 1), "layer": 0, "head": 0}
                page.evaluate("(h) => { location.hash = h; }", explorer_hash(want))
                page.wait_for_function(SHOWN_IS, arg=want, timeout=180_000)
        before = page.evaluate(HEAP_JS, server.url)
        page.evaluate(FRAMES_JS)
        page.evaluate(DRAWS_JS)
        stale, previous, t0 = 0, None, time.perf_counter()
        for group in session_steps(models, index, seed):
            if previous is not None:  # what was drawn since the last answer came: only that answer
                stale += page.evaluate(STALE_SINCE_JS, previous)
            for want in group:
                page.evaluate("(h) => { location.hash = h; }", explorer_hash(want))
            page.wait_for_function(SHOWN_IS, arg=group[-1], timeout=180_000)
            page.evaluate("() => { window.__drawn = []; }")
            previous = group[-1]
        elapsed = (time.perf_counter() - t0) * 1e3
        page.wait_for_timeout(1000)  # nothing older may arrive and draw over the last answer
        stale += page.evaluate(STALE_SINCE_JS, previous) + (not page.evaluate(SHOWN_IS, previous))
        gap = page.evaluate("window.__maxGap")
        after = page.evaluate(HEAP_JS, server.url)
        out.update({f"session_{name}_ms": one(elapsed), f"session_{name}_longest_frame_gap_ms": one(gap),
                    f"session_{name}_wasm_before_bytes": one(before["wasm"]),
                    f"session_{name}_wasm_after_bytes": one(after["wasm"]),
                    f"session_{name}_js_heap_before_bytes": one(before["js"]),
                    f"session_{name}_js_heap_after_bytes": one(after["js"]),
                    f"session_{name}_stale_count": one(stale),
                    f"session_{name}_cancelled_count": one(cancels)})
        print_table({k: v for k, v in out.items() if k.startswith(f"session_{name}_")}, flush=True)  # a session is long
        context.close()
    browser.close()
    return out


ANALYSES = ("roles", "rollout", "flow", "value_norm", "ablate", "neuron", "qk_map")
ANALYSIS_LENGTHS = (16, 64, 128)
FLOW_LENGTHS = (32,)  # and the longest each model's flow does in the browser (flow.max_tokens), where it stops
# Per analysis, the fields that make it do its work (a masked token, the last query's key).
ANALYSIS_FIELDS = {"ablate": lambda n: {"ablate_token": n // 2}, "neuron": lambda n: {"query": n - 1, "key": 0}}


def text_of(page, server, model: dict, n: int) -> str | None:
    """Words that make exactly n tokens of the model's input (specials included), or None: the most
    words that make at most n tokens, then " ." until there are n (a word may be several tokens)."""
    count = lambda text: page.evaluate(RUN_JS, [{**model, "text": text}, server.url])["input_tokens"]  # noqa: E731
    k = n
    while k > 1 and count(words(k)) > n:
        k -= max(1, (count(words(k)) - n) // 2)
    text = words(k)
    for _ in range(n):
        have = count(text)
        if have == n:
            return text
        if have > n:
            return None
        text += " ."
    return None


def bench_analyses(browser, server, runs: int, index: dict) -> tuple[dict, dict]:
    """Each analysis of every model in the index at 16, 64 and 128 tokens of input: the wall time
    of the request in the page once the model's forward pass for that text is cached, as a reader
    changing the analysis meets it. Returns (quantiles by row, refusals by row)."""
    out: dict[str, list[float]] = {}
    refused: dict[str, str] = {}
    for entry in index["models"]:
        name = entry["name"]
        model = {"model": name}
        if "encoder" in entry["stacks"]:
            model["stack"] = "encoder"  # a translator's self-attention: every analysis applies to it
        flow_most = flow.max_tokens(entry["stack_layers"].get("encoder", entry["layers"]), kernel=True)  # the worker's
        context = browser.new_context()
        page = context.new_page()
        page.goto(f"{server.url}faq/")
        for n in sorted({*ANALYSIS_LENGTHS, *FLOW_LENGTHS, flow_most}):
            if n > entry["max_tokens"] or (n not in ANALYSIS_LENGTHS and n > flow_most):
                continue
            text = text_of(page, server, model, n)
            if text is None:
                refused[f"analysis_{name}_{n}tok"] = "could not make a text of exactly that many tokens"
                continue
            for analysis in ANALYSES:
                if analysis != "flow" and n not in ANALYSIS_LENGTHS:
                    continue  # the lengths flow stops at are measured for flow alone
                if analysis == "roles" and n != ANALYSIS_LENGTHS[0]:
                    continue  # measured on attnviz's own probe, whatever the text: once, uncached
                row = f"analysis_{name}_{analysis}_{n}tok_ms" if analysis != "roles" else f"analysis_{name}_roles_probe_ms"
                request = {**model, "text": text, "analysis": analysis, **ANALYSIS_FIELDS.get(analysis, lambda n: {})(n)}
                for _ in range(1 if analysis == "roles" else runs):  # roles: a second run is a cache hit
                    try:
                        r = page.evaluate(RUN_JS, [request, server.url])
                    except Exception as exc:  # a request error: the analysis refuses this size or model
                        refused[row] = str(exc).split("\n")[0][-200:]
                        break
                    out.setdefault(row, []).append(r["wall"])
                    if r["analysis"] is not None:
                        out.setdefault(row.replace("_ms", "_attnviz_ms"), []).append(r["analysis"])
        context.close()
    return {k: quantiles(v) for k, v in out.items()}, refused


def machine() -> dict:
    version = subprocess.run([chromium_path(), "--version"], capture_output=True, text=True).stdout.strip()
    return {"cores": os.cpu_count(), "platform": platform.platform(), "browser": version,
            "python": platform.python_version()}


def print_table(results: dict, flush: bool = False) -> None:
    print(f"{'measure':<60}{'median':>12}{'p95':>12}{'runs':>6}", flush=flush)
    for name, q in results.items():
        if isinstance(q, dict) and "median" in q:
            fmt = (lambda v: f"{v / 1e6:.2f} MB") if name.endswith("bytes") else (lambda v: f"{v:.0f}") if name.endswith("count") else (
                (lambda v: f"{v:.2f}x") if "_over_" in name else (
                    (lambda v: f"{v:g}") if name.endswith("per_visit") else (lambda v: f"{v:.1f} ms")))
            print(f"{name:<60}{fmt(q['median']):>12}{fmt(q['p95']):>12}{q['runs']:>6}", flush=flush)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", default=str(ROOT / "build" / "bench.json"))
    parser.add_argument("--only", choices=("models", "snapshot", "analyses", "session", "navigation", "first-visit"),
                        help="models: only the real models' figures; snapshot: only revisits from a memory "
                             "snapshot; analyses: only the analyses' times; session: only the long sessions; "
                             "navigation: only page to page; first-visit: only the home page, an article and a model page opened cold")
    parser.add_argument("--site", type=Path, default=SITE,
                        help="the built site to measure (default: site/; another build, to compare)")
    args = parser.parse_args()
    site = args.site
    bench_dir = site / "_bench"
    if not (site / "index.html").exists():
        print("bench: build the site first (make site)", file=sys.stderr)
        return 1
    shutil.rmtree(bench_dir, ignore_errors=True)
    bench_dir.mkdir()
    shutil.copytree(ROOT / "build" / "runtime-stock", bench_dir / "stock")
    for runtime, url in FLOOR_RUNTIME.items():
        (bench_dir / f"floor-{runtime}.html").write_text(FLOOR_HTML.replace("RUNTIME", runtime))
        (bench_dir / f"floor-worker-{runtime}.js").write_text(FLOOR_WORKER.replace("RUNTIME_URL", url))
    try:
        with SiteServer(site, "/", handler_base=CountingHandler) as server, sync_playwright() as pw:
            browser = launch(pw)
            results = {"machine": machine()}
            if args.only is None:
                results.update(**bench_loads(browser, server, args.runs),
                               **bench_interaction(browser, server, max(10, args.runs * 2)),
                               **bench_explorer(browser, server, max(10, args.runs * 2)))
            if args.only in (None, "snapshot"):
                results.update(**bench_snapshot(browser, server, args.runs))
            if args.only in (None, "navigation"):
                results.update(**bench_navigation(browser, server, args.runs))
            if args.only in (None, "first-visit"):
                results.update(**bench_first_visit(browser, server, args.runs))
            if args.only in (None, "models"):
                results.update(**bench_minilm(browser, server, args.runs), **bench_real_models(browser, server, args.runs))
            if args.only in (None, "analyses"):
                index = json.loads((site / "models" / "index.json").read_text())
                times, refused = bench_analyses(browser, server, args.runs, index)
                results.update(times, analyses_refused=refused)
            browser.close()
            if args.only in (None, "session"):
                results.update(**bench_session(pw, server))
    finally:
        shutil.rmtree(bench_dir, ignore_errors=True)
    print_table(results)
    for row, reason in results.get("analyses_refused", {}).items():
        print(f"{row:<60} refused: {reason}")
    print(json.dumps(results["machine"]))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
