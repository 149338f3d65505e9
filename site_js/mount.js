/**
 * Entry point on every page: mounts each `<div data-attnviz="NAME" data-options='{...}'>`
 * placeholder with the widget module of that name. The worker starts only on pages that have a
 * widget, and only once per page however many widgets there are (see client.js).
 * It also registers the service worker that makes revisits work offline.
 */
import { getClient } from "./client.js";
import { scriptURL } from "./script-url.js";

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

/** @param {HTMLElement} host @param {string} message */
function showProblem(host, message) {
  const p = document.createElement("p");
  p.className = "av-status av-status--error";
  p.textContent = message;
  host.replaceChildren(p);
}

async function mountAll() {
  for (const host of document.querySelectorAll("[data-attnviz]")) {
    const name = host.dataset.attnviz;
    const load = WIDGETS[name];
    if (!load) { showProblem(host, `Unknown widget "${name}".`); continue; }
    let options = {};
    try {
      options = host.dataset.options ? JSON.parse(host.dataset.options) : {};
    } catch {
      showProblem(host, `The options of the "${name}" widget are not valid JSON.`);
      continue;
    }
    try {
      await (await load()).mount(host, options);
    } catch (err) {
      showProblem(host, `The "${name}" widget could not start: ${err.message || err}`);
    }
  }
}

/**
 * Resolves once every widget has drawn, or the worker has failed, or after `limit` ms at most.
 * @returns {Promise<void>}
 */
function widgetsSettled(limit = 20000) {
  const hosts = [...document.querySelectorAll("[data-attnviz]")];
  return new Promise((resolve) => {
    const done = () => { observer.disconnect(); off(); clearTimeout(timer); resolve(); };
    const check = () => hosts.every((h) => h.dataset.ready === "true") && done();
    const observer = new MutationObserver(check);
    hosts.forEach((h) => observer.observe(h, { attributes: true, attributeFilter: ["data-ready"] }));
    const off = getClient().subscribe((s) => s.fatal && queueMicrotask(done));
    const timer = setTimeout(done, limit);
    check();
  });
}

/**
 * Register the service worker (site root, so it covers every page, at any sub-path) once the
 * page's widgets have drawn, so that its precache revalidates what the page downloaded instead
 * of competing with the first heatmap for bandwidth. (`mkdocs serve` builds have no sw.js.)
 */
async function registerServiceWorker() {
  if (!("serviceWorker" in navigator)) return;
  if (document.readyState !== "complete") await new Promise((r) => addEventListener("load", r, { once: true }));
  if (document.querySelector("[data-attnviz]")) await widgetsSettled();
  try {
    await navigator.serviceWorker.register(scriptURL(new URL("../sw.js", import.meta.url)));
  } catch (err) {
    console.info("Offline use is not available:", err.message);
  }
}

mountAll().then(registerServiceWorker);
