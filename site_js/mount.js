/**
 * Entry point on every page: mounts each `<div data-attnviz="NAME" data-options='{...}'>`
 * placeholder with the widget module of that name. The worker starts only on pages that have a
 * widget, and once per visit however many widgets and pages there are (see client.js).
 * With instant navigation (navigation.js) this module runs once per visit: Material announces
 * each page it swaps in on document$, the widgets of the page left are torn down (page.js) and
 * those of the new page mounted from the same worker.
 * It also registers the service worker that makes revisits work offline.
 */
import { getClient } from "./client.js";
import { scriptURL } from "./script-url.js";
import { followLinksInPlace } from "./navigation.js";
import { nextPage } from "./page.js";
import { modelsOfPage, prefetchModels } from "./prefetch.js";
import { prepareNeighbours, prepareOnIntent } from "./next-page.js";

const WIDGETS = {
  heatmap: () => import("./widgets/heatmap.js"),
  softmax: () => import("./widgets/softmax.js"),
  variance: () => import("./widgets/variance.js"),
  masking: () => import("./widgets/masking.js"),
  cross: () => import("./widgets/cross.js"),
  "model-view": () => import("./widgets/model-view.js"),
  "head-view": () => import("./widgets/head-view.js"),
  explorer: () => import("./widgets/explorer.js"),
  analysis: () => import("./widgets/analysis.js"),
};

/** @type {Map<string, {mount: Function}>} widget modules already loaded during this visit */
const loaded = new Map();

/** The widget module of a name, loaded once per visit. @param {string} name @returns {Promise<{mount: Function}>} */
async function loadWidget(name) {
  if (loaded.has(name)) return loaded.get(name);
  if (!WIDGETS[name]) throw new Error(`Unknown widget "${name}".`);
  const module = await WIDGETS[name]();
  loaded.set(name, module);
  return module;
}

/** @param {HTMLElement} host @param {string} message */
function showProblem(host, message) {
  const p = document.createElement("p");
  p.className = "av-status av-status--error";
  p.textContent = message;
  host.replaceChildren(p);
}

/** Whether a widget's options name a model (whose weights may still be on their way). @param {HTMLElement} host */
function usesModel(host) {
  try {
    return Boolean(JSON.parse(host.dataset.options || "{}").model);
  } catch {
    return false;
  }
}

/**
 * Mount the widgets of the page on screen, until the reader leaves it. Widgets of the built-in
 * model go first: the worker answers one request at a time, and theirs take milliseconds while a
 * real model's may wait for its weights (which download meanwhile, see prefetch.js).
 * @param {AbortSignal} page
 */
async function mountAll(page) {
  const hosts = [...document.querySelectorAll("[data-attnviz]")];
  // Every widget module the page needs loads at once: each mount below waits for its own only.
  for (const name of new Set(hosts.map((h) => h.dataset.attnviz))) {
    if (WIDGETS[name] && !loaded.has(name)) loadWidget(name).catch(() => {}); // a failure shows at its mount
  }
  for (const host of [...hosts.filter((h) => !usesModel(h)), ...hosts.filter(usesModel)]) {
    const name = host.dataset.attnviz;
    if (!WIDGETS[name]) { showProblem(host, `Unknown widget "${name}".`); continue; }
    let options = {};
    try {
      options = host.dataset.options ? JSON.parse(host.dataset.options) : {};
    } catch {
      showProblem(host, `The options of the "${name}" widget are not valid JSON.`);
      continue;
    }
    try {
      // A module loaded on an earlier page mounts at once: awaiting import() again would wait for
      // a task, behind the rest of the page swap, before the widget's request leaves.
      const module = loaded.get(name) || await loadWidget(name);
      if (page.aborted) return; // the reader moved on while the module loaded
      await module.mount(host, options);
    } catch (err) {
      showProblem(host, `The "${name}" widget could not start: ${err.message || err}`);
    }
  }
}

/**
 * Resolves once every widget has drawn, or the worker has failed, or after `limit` ms at most.
 * @param {AbortSignal} page @returns {Promise<void>}
 */
function widgetsSettled(page, limit = 20000) {
  const hosts = [...document.querySelectorAll("[data-attnviz]")];
  return new Promise((resolve) => {
    const done = () => { observer.disconnect(); off(); clearTimeout(timer); resolve(); };
    const check = () => hosts.every((h) => h.dataset.ready === "true") && done();
    const observer = new MutationObserver(check);
    hosts.forEach((h) => observer.observe(h, { attributes: true, attributeFilter: ["data-ready"] }));
    const off = getClient().subscribe((s) => s.fatal && queueMicrotask(done), page);
    const timer = setTimeout(done, limit);
    page.addEventListener("abort", done, { once: true });
    check();
  });
}

/**
 * Resolves once Python is ready in the worker (or has failed), or after `limit` ms at most.
 * @param {AbortSignal} page @returns {Promise<void>}
 */
function pythonSettled(page, limit = 20000) {
  return new Promise((resolve) => {
    if (page.aborted) { resolve(); return; }
    const done = () => { off(); clearTimeout(timer); resolve(); };
    const off = getClient().subscribe((s) => (s.ready || s.fatal) && queueMicrotask(done), page);
    const timer = setTimeout(done, limit);
    page.addEventListener("abort", done, { once: true });
  });
}

/**
 * Register the service worker (site root, so it covers every page, at any sub-path) once the
 * first page has drawn and Python has started, so that its precache revalidates what the page
 * downloaded instead of competing with them for bandwidth and the cores. (`mkdocs serve` builds
 * have no sw.js.)
 * @param {Promise<void>} settled resolves when the page has drawn and Python started (showPage)
 */
async function registerServiceWorker(settled) {
  if (!("serviceWorker" in navigator)) return;
  if (document.readyState !== "complete") await new Promise((r) => addEventListener("load", r, { once: true }));
  await settled;
  try {
    await navigator.serviceWorker.register(scriptURL(new URL("../sw.js", import.meta.url)));
  } catch (err) {
    console.info("Offline use is not available:", err.message);
  }
}

/** Where Material's search worker (search-later.js) waits to hear that the widgets have drawn. */
const WIDGETS_DRAWN = "attnviz-widgets-drawn";

/**
 * Let the search index be built now that the first page's widgets have drawn (or given up),
 * and tell a search worker that starts later, when it asks.
 */
function letSearchStart() {
  if (!("BroadcastChannel" in window)) return;
  const channel = new BroadcastChannel(WIDGETS_DRAWN);
  channel.onmessage = (e) => { if (e.data === "asking") channel.postMessage("drawn"); };
  channel.postMessage("drawn");
}

/** Load every widget module while the reader reads, so the next page's widgets mount at once. */
function preloadWidgets() {
  for (const name of Object.keys(WIDGETS)) loadWidget(name).catch(() => {}); // a failure shows when used
}

let pagesShown = 0;

/** A page is on screen (the first, or one swapped in): end the last one, mount this one. */
function showPage() {
  const page = nextPage();
  prefetchModels(modelsOfPage()).catch(() => {}); // a failure shows when a widget asks for the model
  // Work for later (the offline copy, the search index, the next pages) waits until the widgets
  // have drawn and Python has started: widgets drawn from the build's answers do so long before
  // Python, and this work would slow its start on the cores they share.
  const settled = mountAll(page).then(() => widgetsSettled(page)).then(() => pythonSettled(page));
  if (++pagesShown === 1) {
    settled.then(letSearchStart);
    registerServiceWorker(settled).then(preloadWidgets);
  }
  // The pages the reader will likely open next get their answers ready once this one has drawn.
  if (window.document$) settled.then(() => prepareNeighbours(page, loadWidget));
}

if (window.document$) {
  followLinksInPlace();
  prepareOnIntent(loadWidget);
  // The page ends when the reader leaves it, not when the next one arrives: while it is fetched
  // the address is already the next page's, and nothing of this one may act (a debounce writing
  // its state into that address, a request going out).
  let path = location.pathname;
  window.location$.subscribe((url) => {
    if (url.pathname !== path) nextPage();
    path = url.pathname;
  });
  window.document$.subscribe(showPage); // replays the first page, then each page swapped in
} else {
  showPage(); // without Material's scripts: this page alone
}
