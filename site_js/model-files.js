/**
 * A model's weights for the worker, for any model of the index that has a bundle: fetch its
 * content-addressed manifest, the bundle's base files, then exactly the files the request needs
 * (attnviz says which: `bridge.files_needed`, which also tokenizes the text once and checks the
 * request); check every file's size and sha256 (download-resume.js: resumed after a cut, fetched
 * again once when damaged); keep them in the Cache API (one cache per model version, older versions
 * deleted; a file is stored only once verified) so a second visit downloads nothing, and say so
 * when the browser refuses the space; and write them into Pyodide's file system where
 * attnviz.models reads them.
 */
import { DownloadCancelled, downloadVerified, sha256 } from "./download-resume.js";
import { bundleCacheName, findModel, modelIndex } from "./models.js";

const MODELS_URL = new URL("../models/", import.meta.url).href;
const FS_ROOT = "/models"; // attnviz.models.BROWSER_ROOT
const CACHE_PREFIX = "attnviz-model-";
const baseFetch = self.fetch.bind(self); // captured before worker.js wraps fetch for boot progress

/** @typedef {{file: string, bytes: number, sha256: string}} FileEntry */

/** @type {Map<string, object>} bundle -> its manifest, once written into the file system */
const manifests = new Map();
/** @type {Set<string>} "bundle/file" already in Pyodide's file system */
const written = new Set();

/** Whether a Cache API failure means the browser refused the space. @param {unknown} err */
function isQuotaError(err) {
  return Boolean(err) && (err.name === "QuotaExceededError" || /quota/i.test(String(err.message || err)));
}

/** The cache of one bundle version; other versions of the same bundle are deleted.
 * @param {import("./models.js").ModelEntry} entry @param {(message: string) => void} notice */
async function openCache(entry, notice) {
  if (!self.caches) return null; // not a secure context: no Cache API, the HTTP cache still helps
  const prefix = `${CACHE_PREFIX}${entry.bundle}-`;
  const current = bundleCacheName(entry);
  try {
    for (const name of await caches.keys()) {
      if (name.startsWith(prefix) && name !== current) await caches.delete(name);
    }
    return await caches.open(current);
  } catch (err) {
    notice(notKept(entry, err));
    return null;
  }
}

/** @param {import("./models.js").ModelEntry} entry @param {unknown} err */
function notKept(entry, err) {
  const why = isQuotaError(err) ? "the browser refused the space (its storage for this site is full)"
    : `the browser's storage refused it (${err && err.message ? err.message : err})`;
  return `${entry.label} works now but could not be kept on this device: ${why}. ` +
    "It will download again on the next visit; freeing space in the browser's site settings helps.";
}

/**
 * One verified file, from the cache or the network; written to the cache only once its sha256
 * has checked out. @param {string} url @param {FileEntry} file
 * @param {{cache: Cache|null, signal: AbortSignal, onBytes: (n: number) => void, onNotKept: (err: unknown) => void}} how
 * @returns {Promise<Uint8Array>}
 */
async function getFile(url, file, { cache, signal, onBytes, onNotKept }) {
  const hit = cache && (await cache.match(url).catch(() => null));
  if (hit) {
    const bytes = new Uint8Array(await hit.arrayBuffer());
    if (bytes.byteLength === file.bytes) return bytes;
    await cache.delete(url).catch(() => {}); // cut short in storage: fetch it again
  }
  const bytes = await downloadVerified(baseFetch, url, file, { signal, onBytes });
  if (cache) {
    try {
      await cache.put(url, new Response(bytes));
    } catch (err) {
      onNotKept(err);
    }
  }
  return bytes;
}

/**
 * The manifest, from the Cache API when its content-addressed name is already there.
 * @param {string} path "bundle/manifest.<hash>.json", relative to models/ @param {string} label
 */
async function getManifest(path, label) {
  const url = MODELS_URL + path;
  const cache = self.caches ? await caches.open(`${CACHE_PREFIX}manifests`).catch(() => null) : null;
  const hit = cache && (await cache.match(url));
  if (hit) return hit.arrayBuffer();
  let res;
  try {
    res = await baseFetch(url);
  } catch {
    throw new Error(`${label}'s file list could not be downloaded (no network?).`);
  }
  if (!res.ok) throw new Error(`${label}'s file list is missing (HTTP ${res.status}): the site was built without the model.`);
  const raw = await res.arrayBuffer();
  const hash = path.split("/").pop().split(".")[1];
  if (!(await sha256(raw)).startsWith(hash)) {
    throw new Error(`The model file ${path} is damaged: its checksum does not match its name.`);
  }
  if (cache) await cache.put(url, new Response(raw)).catch(() => {});
  return raw;
}

/**
 * Make sure the files a request needs are in Pyodide's file system. Returns null when the
 * request can run, or attnviz's error result (bad text, unknown model) to answer it with.
 * A cancelled download rejects with DownloadCancelled; files already verified stay cached.
 * @param {any} pyodide @param {object} request
 * @param {{report: (p: {loaded: number, total: number, file?: string, label?: string}) => void,
 *   signal: AbortSignal, notice: (message: string) => void}} how
 * @returns {Promise<object|null>}
 */
export async function ensureModel(pyodide, request, { report, signal, notice }) {
  const index = await modelIndex(baseFetch);
  const entry = findModel(index, request.model);
  if (!entry || !entry.manifest) return null; // nothing to download: attnviz answers the rest
  const dir = `${FS_ROOT}/${entry.bundle}`;
  let manifest = manifests.get(entry.bundle);
  if (!manifest) {
    const raw = await getManifest(entry.manifest, entry.label);
    manifest = JSON.parse(new TextDecoder().decode(raw));
    pyodide.FS.mkdirTree(dir);
    pyodide.FS.writeFile(`${dir}/manifest.json`, new Uint8Array(raw));
    manifests.set(entry.bundle, manifest);
  }
  const cache = await openCache(entry, notice);
  let warned = false;
  const onNotKept = (err) => { if (!warned) notice(notKept(entry, err)); warned = true; };
  const fetchAll = async (entries) => {
    const todo = entries.filter((e) => !written.has(`${entry.bundle}/${e.file}`));
    const total = todo.reduce((n, e) => n + e.bytes, 0);
    let loaded = 0;
    if (todo.length) report({ loaded, total, label: entry.label });
    const stop = new AbortController(); // the first file that fails stops the others
    const stopAll = () => stop.abort();
    signal.addEventListener("abort", stopAll, { once: true });
    try {
      await Promise.all(todo.map(async (e) => {
        const bytes = await getFile(`${MODELS_URL}${entry.bundle}/${e.file}`, e, {
          cache, signal: stop.signal, onNotKept, onBytes: (n) => {
            loaded += n;
            report({ loaded, total, file: e.file, label: entry.label });
          } });
        pyodide.FS.writeFile(`${dir}/${e.file}`, bytes);
        written.add(`${entry.bundle}/${e.file}`);
      }).map((p) => p.catch((err) => { stopAll(); throw err; })));
    } finally {
      signal.removeEventListener("abort", stopAll);
    }
    if (signal.aborted) throw new DownloadCancelled();
  };
  await fetchAll(Object.values(manifest.files));
  const needed = JSON.parse(pyodide.pyimport("attnviz.bridge").files_needed(JSON.stringify(request)));
  if (!needed.ok) return needed;
  await fetchAll(needed.files);
  return null;
}

/** Remove a bundle's files from Pyodide's file system (their bytes live in the worker's memory).
 * @param {any} pyodide @param {string} bundle */
export function dropBundleFiles(pyodide, bundle) {
  const dir = `${FS_ROOT}/${bundle}`;
  for (const key of [...written]) {
    if (!key.startsWith(`${bundle}/`)) continue;
    try { pyodide.FS.unlink(`${FS_ROOT}/${key}`); } catch { /* already gone */ }
    written.delete(key);
  }
  try { pyodide.FS.unlink(`${dir}/manifest.json`); } catch { /* never written */ }
  manifests.delete(bundle);
}
