/**
 * The first visit of a page with a real model: its weights start downloading as soon as the page
 * starts, side by side with the Python runtime, instead of after it. This thread downloads them:
 * the worker's own is busy booting Pyodide and would take them late. The worker is told first
 * which files are coming, so its requests wait for them instead of downloading them again; it
 * checks them as it checks its own downloads. Once Python is up the worker downloads by itself.
 * The reader's Cancel stops these downloads as it stops the worker's; files already complete are
 * handed over all the same, so choosing the model again downloads only the rest.
 * Models the reader must agree to download first (download-consent.js) are left alone.
 */
import { getClient } from "./client.js";
import { needsConsent } from "./download-consent.js";
import { sha256 } from "./download-resume.js";
import { bundleCacheName, findModel, modelIndex } from "./models.js";

const MODELS_URL = new URL("../models/", import.meta.url).href;
/** @type {Set<string>} model files handed to the worker during this visit */
const handedOver = new Set();
/** @type {Promise<void>} the prefetches so far, one after the other (boot.js and mount.js both ask) */
let queue = Promise.resolve();
/** @type {Set<string>} models whose prefetch has been queued */
const queued = new Set();

/**
 * The models the page's widgets will ask for: those their options name, and the model in the
 * Explorer's address (its state, e.g. explorer/#model=...).
 * @param {ParentNode} root @returns {string[]}
 */
export function modelsOfPage(root = document) {
  const names = [];
  for (const host of root.querySelectorAll("[data-attnviz]")) {
    if (host.dataset.attnviz === "explorer") {
      const model = new URLSearchParams(location.hash.replace(/^#/, "")).get("model");
      if (model) names.push(model);
      continue;
    }
    try {
      const { model } = JSON.parse(host.dataset.options || "{}");
      if (typeof model === "string") names.push(model);
    } catch {
      // bad options: mount.js says so on the widget
    }
  }
  return [...new Set(names)];
}

/**
 * Download these models' base files for the worker while Python boots, one model after the other
 * in the page's order (the first widget's weights are not slowed by the last one's).
 * @param {string[]} names
 */
export function prefetchModels(names) {
  for (const name of names.filter((n) => !queued.has(n))) {
    queued.add(name);
    queue = queue.then(async () => {
      if (getClient().status.ready) return;
      const entry = findModel(await modelIndex(), name);
      if (entry && entry.manifest && !(await needsConsent(entry))) await prefetchModel(entry);
    }).catch(() => {}); // a failure shows when a widget asks for the model
  }
  return queue;
}

/** @param {import("./models.js").ModelEntry} entry */
async function prefetchModel(entry) {
  const client = getClient();
  // Kept from an earlier visit (the worker fills in anything missing), or no network to ask.
  if (navigator.onLine === false || (self.caches && (await caches.has(bundleCacheName(entry)).catch(() => false)))) return;
  const manifestURL = MODELS_URL + entry.manifest;
  const res = await fetch(manifestURL);
  if (!res.ok) return; // the widget's request will say what is wrong
  const raw = await res.arrayBuffer();
  const manifest = JSON.parse(new TextDecoder().decode(raw));
  const todo = Object.values(manifest.files)
    .map((file) => ({ url: `${MODELS_URL}${entry.bundle}/${file.file}`, bytes: file.bytes }))
    .filter((f) => !handedOver.has(f.url));
  // Once Python is up the worker may be downloading these already: it goes on alone then.
  if (!todo.length || client.status.ready) return;
  todo.forEach((f) => handedOver.add(f.url));
  // The manifest goes over too: the worker checks it against its name, and asks no one else.
  client.expectFiles([manifestURL, ...todo.map((f) => f.url)]);
  client.sendFile(manifestURL, raw);
  const signal = client.startPageDownload(); // the reader's Cancel stops these requests too
  const progress = { loaded: 0, total: todo.reduce((n, f) => n + f.bytes, 0), label: entry.label };
  client.showDownload({ ...progress });
  await Promise.all(todo.map(async ({ url }) => {
    let bytes = null;
    let digest = null;
    try {
      bytes = await download(url, signal, (n) => {
        progress.loaded += n;
        client.showDownload({ ...progress });
      });
      // Hashed here, off the worker's way: it is busy booting Python now, and would hash it later.
      digest = await sha256(bytes);
    } catch {
      // Failed or cancelled: the worker downloads it itself when asked, and says so if it cannot.
      handedOver.delete(url);
    }
    client.sendFile(url, bytes, digest);
  }));
  client.showDownload(null);
}

/** @param {string} url @param {AbortSignal} signal @param {(n: number) => void} onBytes @returns {Promise<ArrayBuffer>} */
async function download(url, signal, onBytes) {
  const res = await fetch(url, { signal });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  const reader = res.body.getReader();
  const parts = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    size += value.byteLength;
    onBytes(value.byteLength);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.byteLength; }
  return out.buffer;
}
