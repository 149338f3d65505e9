"""Failures a reader meets with big models, each forced in the browser and each ending in a visible
message and a working page: a cut download (resumed), a damaged part (fetched once more, then
named), a cancelled download, a model switched mid-download (neither cache corrupted), a browser
that refuses the space or has evicted a model, the worker running out of memory (a fresh worker,
the text and view kept), rapid model switching, and one large model in memory at a time."""
from __future__ import annotations

import json

import pytest

from tests.e2e.conftest import SITE
from tests.e2e.test_explorer import open_explorer

PART = "**/models/minilm/part0.*.bin"  # MiniLM's 19 MB base part
VOCAB = "**/models/minilm/vocab.*.txt"
STATUS = ".av-explorer .av-status"
ERROR = ".av-explorer .av-status--error"
INDEX = json.loads((SITE / "models" / "index.json").read_text())


def part_bytes() -> bytes:
    return next((SITE / "models" / "minilm").glob("part0.*.bin")).read_bytes()


def choose(page, model: str) -> None:
    page.select_option("[data-control=model]", model)


def drawn(page, model: str, timeout: int = 90_000) -> None:
    """Wait until the Explorer shows an answer of `model` and is idle without an error."""
    page.wait_for_function("""(m) => { const h = document.querySelector('.av-explorer');
        const s = h.querySelector('.av-status');
        return h.dataset.model === m && s.dataset.state === 'ready' && !s.classList.contains('av-status--error'); }""",
                           arg=model, timeout=timeout)


def client(page, body: str):
    """Run `body` (JavaScript using `client`) in the page with the page's worker client."""
    return page.evaluate(f"async () => {{ const {{ getClient }} = await import('/js/client.js'); const client = getClient(); {body} }}")


def cache_problems(page) -> list[str]:
    """Every model file in the Cache API checked against its model's manifest: size and sha256."""
    return page.evaluate("""async () => {
        const hex = async (b) => Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', b)), (x) => x.toString(16).padStart(2, '0')).join('');
        const { modelIndex, bundleCacheName } = await import('/js/models.js');
        const problems = [];
        for (const m of (await modelIndex()).models.filter((m) => m.manifest)) {
            if (!(await caches.has(bundleCacheName(m)))) continue;
            const manifest = await (await fetch('/models/' + m.manifest)).json();
            const expected = Object.fromEntries(Object.values(manifest.files).map((f) => [f.file, f.sha256]));
            for (const t of Object.values(manifest.rows || {})) for (const c of t.chunks) expected[c.file] = c.sha256;
            const cache = await caches.open(bundleCacheName(m));
            for (const req of await cache.keys()) {
                const file = req.url.split('/').pop();
                const digest = await hex(await (await cache.match(req)).arrayBuffer());
                if (expected[file] !== undefined && digest !== expected[file]) problems.push(`${m.name}: ${file}`);
                if (expected[file] === undefined && !file.startsWith('manifest')) problems.push(`${m.name}: ${file} (not in its manifest)`);
            }
        }
        return problems;
    }""")


def test_a_cut_download_resumes_where_it_stopped(root_server, new_page):
    page, watch = open_explorer(new_page, root_server)
    whole = part_bytes()
    cut = len(whole) // 3
    asked: list[str | None] = []

    def serve(route):
        ranged = route.request.headers.get("range")
        asked.append(ranged)
        if len(asked) == 1:  # the connection drops after a third of the file
            route.fulfill(status=200, body=whole[:cut], content_type="application/octet-stream")
        elif ranged:
            start = int(ranged.removeprefix("bytes=").rstrip("-"))
            route.fulfill(status=206, body=whole[start:], content_type="application/octet-stream",
                          headers={"Content-Range": f"bytes {start}-{len(whole) - 1}/{len(whole)}"})
        else:
            route.continue_()

    page.context.route(PART, serve)
    choose(page, "minilm")
    drawn(page, "minilm")
    assert asked == [None, f"bytes={cut}-"], asked  # only the missing two thirds came again
    assert cache_problems(page) == []
    watch.assert_clean()


def test_a_server_without_ranges_sends_the_file_again(root_server, new_page):
    page, watch = open_explorer(new_page, root_server)
    whole = part_bytes()
    asked = []

    def serve(route):
        asked.append(route.request.headers.get("range"))
        if len(asked) == 1:
            route.fulfill(status=200, body=whole[:1000], content_type="application/octet-stream")
        else:
            route.continue_()  # the test server ignores Range: a 200 with the whole file

    page.context.route(PART, serve)
    choose(page, "minilm")
    drawn(page, "minilm")
    assert len(asked) == 2 and asked[1] == "bytes=1000-"
    assert cache_problems(page) == []


@pytest.mark.parametrize("damaged_times", [1, 2], ids=["once", "always"])
def test_a_damaged_part_is_fetched_once_more_then_named(root_server, new_page, damaged_times):
    page, watch = open_explorer(new_page, root_server)
    whole = next((SITE / "models" / "minilm").glob("vocab.*.txt")).read_bytes()  # small: quick to serve twice
    served = []

    def serve(route):
        served.append(route.request.url)
        if len(served) <= damaged_times:
            flipped = bytearray(whole)
            flipped[len(whole) // 2] ^= 0xFF  # one byte changed in the middle
            route.fulfill(status=200, body=bytes(flipped), content_type="text/plain")
        else:
            route.continue_()

    page.context.route(VOCAB, serve)
    choose(page, "minilm")
    if damaged_times == 1:
        drawn(page, "minilm")
        assert len(served) == 2
    else:
        page.wait_for_selector(ERROR, timeout=90_000)
        message = page.text_content(f"{STATUS} .av-status__text")
        assert "vocab." in message and "damaged" in message and "twice" in message, message
        assert len(served) == 2  # once more, not forever
        choose(page, "synthetic")  # the page still works
        drawn(page, "synthetic")
    assert cache_problems(page) == []  # a damaged copy is never stored


def hold(page, pattern: str):
    """Requests for pattern wait (a stalled connection) until release(); returns (held, release)."""
    state = {"hold": True, "held": []}

    def serve(route):
        if state["hold"]:
            state["held"].append(route)
        else:
            route.continue_()

    page.context.route(pattern, serve)

    def release():
        state["hold"] = False
        for route in state["held"]:
            try:
                route.continue_()
            except Exception:
                pass  # its request was aborted by the cancel

    return state["held"], release


def test_cancel_stops_the_download_and_the_page_keeps_working(root_server, new_page):
    page, watch = open_explorer(new_page, root_server)
    vocab = []
    page.context.on("request", lambda r: "/models/minilm/vocab." in r.url and vocab.append(r.url))
    held, release = hold(page, PART)
    choose(page, "minilm")
    page.wait_for_selector(f"{STATUS} .av-status__cancel:visible", timeout=30_000)
    page.click(f"{STATUS} .av-status__cancel")
    page.wait_for_selector(ERROR, timeout=20_000)
    message = page.text_content(f"{STATUS} .av-status__text")
    assert "download of MiniLM-L6 was cancelled" in message and "downloads only the rest" in message, message
    assert not page.is_visible(f"{STATUS} .av-status__cancel")
    choose(page, "synthetic")  # the rest of the page works
    drawn(page, "synthetic")
    release()
    choose(page, "minilm")  # and the model can be chosen again: only the missing part comes
    drawn(page, "minilm")
    assert len(vocab) == 1, vocab
    assert cache_problems(page) == []
    watch.assert_clean()


def test_cancel_stops_the_page_download_of_a_first_visit_too(root_server, new_page):
    """A first visit of the Explorer with MiniLM in its address: the page downloads the base files
    while Python boots (prefetch.js). Cancel stops those requests as well as the worker's; the
    file the page completed is handed over, so choosing the model again fetches only the other."""
    page, watch = new_page(root_server.origin)
    asked: list[str] = []  # model files, page's and worker's, in the order they were asked for
    page.context.on("request", lambda r: "/models/minilm/" in r.url and not r.url.endswith(".json") and asked.append(r.url))
    failed: list[str] = []
    page.context.on("requestfailed", lambda r: "/models/minilm/" in r.url and failed.append(r.url))
    held, release = hold(page, PART)
    page.goto(f"{root_server.url}explorer/#model=minilm")
    page.wait_for_selector(f"{STATUS} .av-status__cancel:visible", timeout=90_000)
    assert [u for u in asked if "/part0." in u] and [u for u in asked if "/vocab." in u], asked  # the page's download
    page.click(f"{STATUS} .av-status__cancel")
    page.wait_for_selector(ERROR, timeout=20_000)  # acknowledged: the request says it was cancelled
    assert "download of MiniLM-L6 was cancelled" in page.text_content(f"{STATUS} .av-status__text")
    acknowledged = len(asked)
    page.wait_for_timeout(2_000)
    assert asked[acknowledged:] == [], f"model files asked for after the cancel: {asked[acknowledged:]}"
    assert [u for u in failed if "/part0." in u], "the page's held download of part0 was not stopped"
    release()
    choose(page, "synthetic")
    drawn(page, "synthetic")
    choose(page, "minilm")
    drawn(page, "minilm")
    assert sum("/vocab." in u for u in asked) == 1, asked  # complete before the cancel: kept
    assert sum("/part0." in u for u in asked) == 2, asked  # cut by the cancel: asked for again
    assert cache_problems(page) == []
    watch.assert_clean()


def test_switching_model_mid_download_cancels_it_and_corrupts_no_cache(root_server, new_page):
    page, watch = open_explorer(new_page, root_server)
    held, release = hold(page, PART)
    choose(page, "minilm")
    page.wait_for_selector(f"{STATUS} .av-status__cancel:visible", timeout=30_000)
    choose(page, "marian-en-pt")
    drawn(page, "marian-en-pt")  # no wait for the stalled model, no error about it
    release()
    choose(page, "minilm")
    drawn(page, "minilm")
    choose(page, "marian-en-pt")
    drawn(page, "marian-en-pt")
    assert cache_problems(page) == []
    watch.assert_clean()


QUOTA_REFUSED = """Cache.prototype.put = function () {
  return Promise.reject(new DOMException("The quota has been exceeded.", "QuotaExceededError"));
};
"""


def test_a_refused_quota_is_explained_and_the_model_still_runs(root_server, new_page):
    page, watch = new_page(root_server.origin)

    def worker_without_space(route):  # the worker's own Cache API refuses every file
        body = route.fetch().text()
        route.fulfill(body=QUOTA_REFUSED + body, content_type="text/javascript")

    page.context.route("**/js/worker.js", worker_without_space)
    page.goto(root_server.url + "explorer/")
    page.wait_for_selector(".av-explorer[data-ready='true']", timeout=90_000)
    choose(page, "minilm")
    drawn(page, "minilm")
    note = page.text_content(".av-explorer .av-status__note")
    assert "MiniLM-L6 works now but could not be kept on this device: the browser refused the space" in note, note
    assert page.is_visible(".av-explorer .av-status__note")


def test_small_storage_and_an_evicted_model_are_explained_before_downloading(root_server, new_page):
    """The large model is asked for: the question says the browser's room is short and that the
    copy kept before was evicted; declining leaves the page working. Nothing is downloaded."""
    page, watch = new_page(root_server.origin)
    llm = next(m for m in INDEX["models"] if m.get("base_bytes", 0) > 50e6)
    kept = f"attnviz-kept-attnviz-model-{llm['bundle']}-{llm['version']}"
    page.add_init_script(f"""navigator.storage.estimate = async () => ({{quota: 60e6, usage: 20e6}});
        localStorage.setItem({json.dumps(kept)}, '1');""")
    page.goto(root_server.url + "explorer/")
    page.wait_for_selector(".av-explorer[data-ready='true']", timeout=90_000)
    choose(page, llm["name"])
    page.wait_for_selector("[data-action=consent]", timeout=30_000)
    text = page.text_content(".av-consent")
    assert "the browser has since removed it" in text, text
    page.wait_for_function("() => document.querySelector('.av-consent__room').textContent.includes('only 40.0 MB more')")
    page.click("[data-action=decline]")
    page.wait_for_selector(ERROR)
    choose(page, "synthetic")
    drawn(page, "synthetic")
    assert not [u for u in watch.requests if f"/models/{llm['bundle']}/" in u and "manifest" not in u]


# The worker's own handler, replaced by one that dies of a RangeError on the next request.
# The reader's next request throws; one the page prepares for the next pages (`ahead`, sent when
# the browser is idle) must not take the failure instead, as a simulated one does not (worker.js).
WORKER_THROWS_RANGE_ERROR = """() => { const handler = self.onmessage;
    self.onmessage = (e) => {
        if (e.data.type !== 'run' || e.data.ahead) return handler(e);
        self.onmessage = handler;
        throw new RangeError('Array buffer allocation failed');
    }; }"""


@pytest.mark.parametrize("failure, model", [("python-memory", "minilm"), ("js-memory", "synthetic"),
                                            ("worker-error", "synthetic")])
def test_out_of_memory_restarts_the_worker_and_keeps_the_text_and_view(root_server, new_page, failure, model):
    page, watch = open_explorer(new_page, root_server)
    if model != "synthetic":
        choose(page, model)
        drawn(page, model)
    before = page.eval_on_selector(".av-heatmap__cells", "c => c.toDataURL()")
    client(page, "window.__oldWorker = client.worker;")
    if failure == "worker-error":  # an uncaught RangeError: the worker's `error` event
        (worker,) = [w for w in page.workers if w.url.endswith("/js/worker.js")]
        worker.evaluate(WORKER_THROWS_RANGE_ERROR)
    else:
        client(page, f"client.worker.postMessage({{type: 'simulate', failure: '{failure}'}});")
    page.locator("[data-control=text]").fill("A text too big for this tab.")
    page.wait_for_selector(ERROR, timeout=30_000)
    message = page.text_content(f"{STATUS} .av-status__text")
    assert "did not fit in this tab's memory" in message and "restarted" in message, message
    assert "a shorter text" in message and "closing other tabs" in message, message
    if model != "synthetic":  # the real models name the smaller ones
        assert "a smaller model (Synthetic" in message, message
    assert page.input_value("[data-control=text]") == "A text too big for this tab."  # the reader's text stays
    assert page.eval_on_selector(".av-heatmap__cells", "c => c.toDataURL()") == before  # and the view
    assert client(page, "return client.worker !== window.__oldWorker;"), "a fresh worker took over"
    page.locator("[data-control=text]").fill("A shorter text.")
    drawn(page, model)
    assert page.locator(ERROR).count() == 0
    assert len([w for w in page.workers if w.url.endswith("/js/worker.js")]) == 1


def test_rapid_model_switching_ends_on_the_last_choice(root_server, new_page):
    page, watch = open_explorer(new_page, root_server)
    for model in ["minilm", "marian-en-pt", "synthetic", "marian-pt-en", "minilm", "synthetic", "marian-en-pt",
                  "minilm", "marian-pt-en"]:
        choose(page, model)
        page.wait_for_timeout(120)
    drawn(page, "marian-pt-en")
    page.wait_for_timeout(1500)  # nothing older arrives and draws over it
    assert page.get_attribute(".av-explorer", "data-model") == "marian-pt-en"
    assert page.locator(ERROR).count() == 0
    assert cache_problems(page) == []
    watch.assert_clean()


def test_one_large_model_in_memory_at_a_time(root_server, new_page):
    """Small models share the worker; the large one (loaded once here) unloads them, and they it."""
    page, watch = new_page(root_server.origin)
    page.goto(root_server.url + "faq/")  # no widget: the worker starts on first use
    run = """async (model) => { const { getClient } = await import('/js/client.js');
        const r = await getClient().run({text: 'The cat sat on the mat.', model}, 'memory-test');
        if (!r.ok) throw new Error(r.error.message);
        return {resident: r.resident, memory: r.memory}; }"""
    llm = next(m["name"] for m in INDEX["models"] if m.get("base_bytes", 0) > 50e6)
    assert page.evaluate(run, "minilm")["resident"] == ["minilm"]
    assert page.evaluate(run, "marian-en-pt")["resident"] == ["minilm", "marian-en-pt"]
    assert page.evaluate(run, llm)["resident"] == [llm]
    assert page.evaluate(run, "minilm")["resident"] == ["minilm"]
    assert page.evaluate(run, "synthetic")["resident"] == ["minilm"]  # the synthetic model has no files
