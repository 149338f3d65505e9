/**
 * A model's weights for the worker, for any model of the index that has a bundle: fetch its
 * content-addressed manifest, the bundle's base files, then exactly the files the request needs
 * (attnviz says which: `bridge.files_needed`, which also tokenizes the text once and checks the
 * request); check every file's size and sha256 (download-resume.js: resumed after a cut, fetched
 * again once when damaged); keep them in the Cache API (one cache per model version, older versions
 * deleted; a file is stored only once verified) so a second visit downloads nothing, and say so
 * when the browser refuses the space; and write them into Pyodide's file system where
 * attnviz.models reads them.
 * A page that will need a model downloads its base files itself while Pyodide boots (this
 * thread is busy then; see prefetch.js) and hands them over (expectFiles, receiveFile): a request
 * waits for those instead of downloading them again, and checks them like any other download
 * (sha256 before they are cached or used; a damaged or missing one is downloaded here, resumably).
 * Waiting for them is cancelled like a download. Requests running at once share one download of a
 * file, and one progress line counts its bytes.
 */
import { formatBytes } from "./bytes.js";
import { DownloadCancelled, downloadVerified, sha256 } from "./download-resume.js";
import { bundleCacheName, findModel, modelIndex } from "./models.js";

const MODELS_URL = new URL("../models/", import.meta.url).href;
const FS_ROOT = "/models"; // attnviz.models.BROWSER_ROOT
const CACHE_PREFIX = "attnviz-model-";
const baseFetch = self.fetch.bind(self); // captured before worker.js wraps fetch for boot progress

/** @typedef {{file: string, bytes: number, sha256: string}} FileEntry */

/** A file the network did not answer for (offline, or the server gone). */
class Unreachable extends Error {
  /** @param {string} file */
  constructor(file) {
    super(`${file} could not be downloaded`);
    this.file = file;
  }
}

/** Whether the browser says it has no network at all. */
function offline() {
  return Boolean(self.navigator) && self.navigator.onLine === false;
}

/**
 * What a reader is told when the network does not answer: what the model still needs, in bytes.
 * @param {string} label the model's label (from the model index) @param {number} bytes
 * @param {string} what "more for these words", "to start"
 */
function unreachable(label, bytes, what) {
  const why = offline() ? "you are offline" : "the site does not answer (is the network down?)";
  return new Error(`${label} needs ${formatBytes(bytes)} ${what}, and ${why}. It works offline once it has been downloaded.`);
}

/** @type {Map<string, object>} bundle -> its manifest, once written into the file system */
const manifests = new Map();
/** @type {Set<string>} "bundle/file" already in Pyodide's file system */
const written = new Set();
/** @type {Map<string, Promise<Uint8Array>>} url -> the file's verified bytes, fetched once
 * and kept until written into the file system */
const files = new Map();
/** @typedef {{bytes: ArrayBuffer, sha256: string|null}} HandedOver a file from the page, and its sha256 if the page hashed it */
/** @type {Map<string, {bytes: Promise<HandedOver|null>, resolve: (b: HandedOver|null) => void}>}
 * url -> a file the page is downloading for this worker (null: its download failed) */
const incoming = new Map();
/** @type {Map<string, Promise<ArrayBuffer>>} manifest path -> its bytes, fetched once */
const manifestBytes = new Map();
/** @type {Map<string, Promise<Cache|null>>} bundle -> its cache, opened once */
const bundleCaches = new Map();
/** @type {Map<string, {loaded: number, total: number, pending: number}>} bundle -> bytes of its downloads under way */
const underWay = new Map();

/** @typedef {{loaded?: number, total?: number, file?: string, label?: string, done?: boolean}} ModelProgress */
/** @type {(p: ModelProgress) => void} */
let report = () => {};

/** Whether a Cache API failure means the browser refused the space. @param {unknown} err */
function isQuotaError(err) {
  return Boolean(err) && (err.name === "QuotaExceededError" || /quota/i.test(String(err.message || err)));
}

/** @param {import("./models.js").ModelEntry} entry @param {unknown} err */
function notKept(entry, err) {
  const why = isQuotaError(err) ? "the browser refused the space (its storage for this site is full)"
    : `the browser's storage refused it (${err && err.message ? err.message : err})`;
  return `${entry.label} works now but could not be kept on this device: ${why}. ` +
    "It will download again on the next visit; freeing space in the browser's site settings helps.";
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

/** @param {import("./models.js").ModelEntry} entry @param {(message: string) => void} notice
 * @returns {Promise<Cache|null>} */
function cacheOf(entry, notice) {
  if (!bundleCaches.has(entry.bundle)) {
    const cache = openCache(entry, notice);
    cache.then((c) => { if (!c) bundleCaches.delete(entry.bundle); }); // refused: ask again next time
    bundleCaches.set(entry.bundle, cache);
  }
  return bundleCaches.get(entry.bundle);
}

/**
 * Wait for a promise unless the signal aborts first (then DownloadCancelled).
 * @template T @param {Promise<T>} promise @param {AbortSignal} signal @returns {Promise<T>}
 */
function unlessCancelled(promise, signal) {
  if (signal.aborted) return Promise.reject(new DownloadCancelled());
  return new Promise((resolve, reject) => {
    const stop = () => reject(new DownloadCancelled());
    signal.addEventListener("abort", stop, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", stop));
  });
}

/**
 * @typedef {{cache: Cache|null, signal: AbortSignal, onNotKept: (err: unknown) => void,
 *   model: import("./models.js").ModelEntry}} How
 */

/**
 * One verified file, from the cache, the page's hand-over or the network; written to the cache
 * only once its sha256 has checked out. @param {string} url @param {FileEntry} entry @param {How} how
 * @returns {Promise<Uint8Array>}
 */
async function getFile(url, entry, { cache, signal, onNotKept, model }) {
  // The page hands over only what no cache of this model had: no need to look there first.
  const handedOver = incoming.get(url);
  const hit = !handedOver && cache && (await cache.match(url).catch(() => null));
  if (hit) {
    const bytes = new Uint8Array(await hit.arrayBuffer());
    if (bytes.byteLength === entry.bytes) return bytes;
    await cache.delete(url).catch(() => {}); // cut short in storage: fetch it again
  }
  let bytes = null;
  if (handedOver) {
    // Cancelling stops the wait; the entry stays, so its bytes serve the model's next request.
    const received = await unlessCancelled(handedOver.bytes, signal);
    incoming.delete(url);
    // The page's download is checked as our own, size and sha256, before it is used or cached;
    // the page hashed it already while Python booted (the same origin's code: its word is ours).
    if (received && received.bytes.byteLength === entry.bytes
        && (received.sha256 || (await sha256(received.bytes))) === entry.sha256) {
      bytes = new Uint8Array(received.bytes);
    } // else failed or damaged: downloaded here (resumed, retried, checked twice)
  }
  if (!bytes) bytes = await downloadCounted(url, entry, model, signal);
  // Kept while Python already reads the bytes: writing 20 MB into storage takes a good part of a second.
  if (cache) cache.put(url, new Response(bytes)).catch(onNotKept);
  return bytes;
}

/**
 * Download and verify one file (download-resume.js), telling a network that does not answer
 * (Unreachable) from other failures. Offline, it gives up at once instead of retrying.
 * @param {string} url @param {FileEntry} entry @param {AbortSignal} signal @param {(n: number) => void} onBytes
 * @returns {Promise<Uint8Array>}
 */
async function downloadFile(url, entry, signal, onBytes) {
  const own = new AbortController(); // aborted by the caller's signal, or when the browser is offline
  const follow = () => own.abort();
  if (signal.aborted) throw new DownloadCancelled();
  signal.addEventListener("abort", follow, { once: true });
  let noAnswer = false; // the last request got no response at all
  const fetcher = (u, init) => baseFetch(u, init).then((res) => { noAnswer = false; return res; }, (err) => {
    noAnswer = !signal.aborted;
    if (noAnswer && offline()) own.abort();
    throw err;
  });
  try {
    return await downloadVerified(fetcher, url, entry, { signal: own.signal, onBytes });
  } catch (err) {
    if (signal.aborted) throw new DownloadCancelled();
    if (noAnswer) throw new Unreachable(entry.file);
    throw err;
  } finally {
    signal.removeEventListener("abort", follow);
  }
}

/**
 * Download a model file; the bytes count in the model's progress line.
 * @param {string} url @param {FileEntry} entry @param {import("./models.js").ModelEntry} model
 * @param {AbortSignal} signal @returns {Promise<Uint8Array>}
 */
async function downloadCounted(url, entry, model, signal) {
  // Stopped before it began (another file failed, or a cancel, while its cache look-up ran): the
  // request may have been answered already, and a new progress line would hide that answer's error.
  if (signal.aborted) throw new DownloadCancelled();
  let tally = underWay.get(model.bundle);
  if (!tally) underWay.set(model.bundle, (tally = { loaded: 0, total: 0, pending: 0 }));
  tally.total += entry.bytes;
  tally.pending += 1;
  report({ loaded: tally.loaded, total: tally.total, label: model.label });
  let counted = 0;
  try {
    return await downloadFile(url, entry, signal, (n) => {
      counted += n;
      tally.loaded += n; // negative: bytes discarded (a restart, a damaged copy)
      report({ loaded: tally.loaded, total: tally.total, file: entry.file, label: model.label });
    });
  } catch (err) {
    tally.loaded -= counted; // not downloaded after all: the line counts what is still to come
    tally.total -= entry.bytes;
    throw err;
  } finally {
    if (--tally.pending === 0) {
      underWay.delete(model.bundle);
      report({ done: true });
    }
  }
}

/** The page is downloading these files for this worker: requests wait for them. @param {string[]} urls */
export function expectFiles(urls) {
  for (const url of urls) {
    if (incoming.has(url)) continue;
    let resolve;
    const bytes = new Promise((r) => { resolve = r; });
    incoming.set(url, { bytes, resolve });
  }
}

/**
 * A file the page downloaded (null: it could not; the request downloads it then), with the sha256
 * the page computed of it (null: it did not).
 * @param {string} url @param {ArrayBuffer|null} bytes @param {string|null} [digest]
 */
export function receiveFile(url, bytes, digest = null) {
  const expected = incoming.get(url);
  if (expected) expected.resolve(bytes && { bytes, sha256: digest });
}

/**
 * A file's bytes, downloaded only when no one else already is (a prefetch and a request share
 * one download); a failure (or a cancel) is forgotten, so the next request tries again.
 * @param {string} url @param {FileEntry} entry @param {How} how @returns {Promise<Uint8Array>}
 */
function fileOnce(url, entry, how) {
  if (!files.has(url)) {
    const bytes = getFile(url, entry, how);
    // Stopped, it serves no later request (the model chosen again at once would get its cancel).
    const forget = () => { if (files.get(url) === bytes) files.delete(url); };
    bytes.catch(forget);
    how.signal.addEventListener("abort", forget, { once: true });
    files.set(url, bytes);
  }
  return files.get(url);
}

/**
 * The manifest, from the Cache API when its content-addressed name is already there.
 * @param {string} path "bundle/manifest.<hash>.json", relative to models/ @param {string} label
 */
function getManifest(path, label) {
  if (!manifestBytes.has(path)) {
    const raw = fetchManifest(path, label);
    raw.catch(() => manifestBytes.delete(path));
    manifestBytes.set(path, raw);
  }
  return manifestBytes.get(path);
}

/** @param {string} path @param {string} label @returns {Promise<ArrayBuffer>} */
async function fetchManifest(path, label) {
  const url = MODELS_URL + path;
  const hash = path.split("/").pop().split(".")[1];
  const named = async (raw) => (await sha256(raw)).startsWith(hash);
  const cache = self.caches ? caches.open(`${CACHE_PREFIX}manifests`).catch(() => null) : Promise.resolve(null);
  // Kept meanwhile; a failure only costs a download.
  const keep = (raw) => cache.then((c) => c && c.put(url, new Response(raw))).catch(() => {});
  const handedOver = incoming.get(url); // the page fetched it while Python booted (prefetch.js)
  if (handedOver) {
    const received = await handedOver.bytes;
    incoming.delete(url);
    if (received && (await named(received.bytes))) {
      keep(received.bytes);
      return received.bytes;
    }
  }
  const hit = await cache.then((c) => c && c.match(url)).catch(() => null);
  if (hit) return hit.arrayBuffer();
  let res;
  try {
    res = await baseFetch(url);
  } catch {
    throw new Unreachable(path);
  }
  if (!res.ok) throw new Error(`${label}'s file list is missing (HTTP ${res.status}): the site was built without the model.`);
  const raw = await res.arrayBuffer();
  if (!(await named(raw))) {
    throw new Error(`The model file ${path} is damaged: its checksum does not match its name.`);
  }
  keep(raw);
  return raw;
}

/**
 * Make sure the files a request needs are in Pyodide's file system. Returns null when the
 * request can run, or attnviz's error result (bad text, unknown model) to answer it with.
 * A cancelled download rejects with DownloadCancelled; files already verified stay cached.
 * @param {any} pyodide @param {object} request
 * @param {{report: (p: ModelProgress) => void, signal: AbortSignal, notice: (message: string) => void}} how
 * @returns {Promise<object|null>}
 */
export async function ensureModel(pyodide, request, { report: onProgress, signal, notice }) {
  report = onProgress;
  const index = await modelIndex(baseFetch);
  const entry = findModel(index, request.model);
  if (!entry || !entry.manifest) return null; // nothing to download: attnviz answers the rest
  const dir = `${FS_ROOT}/${entry.bundle}`;
  const cacheOpened = cacheOf(entry, notice); // opened while the manifest comes (never rejects)
  let manifest = manifests.get(entry.bundle);
  if (!manifest) {
    const raw = await unlessCancelled(getManifest(entry.manifest, entry.label), signal).catch((err) => {
      throw err instanceof Unreachable ? unreachable(entry.label, entry.base_bytes, "to start") : err; // never visited
    });
    manifest = JSON.parse(new TextDecoder().decode(raw));
    pyodide.FS.mkdirTree(dir);
    pyodide.FS.writeFile(`${dir}/manifest.json`, new Uint8Array(raw));
    manifests.set(entry.bundle, manifest);
  }
  const cache = await cacheOpened;
  let warned = false;
  const onNotKept = (err) => { if (!warned) notice(notKept(entry, err)); warned = true; };
  const fetchAll = async (entries, what) => {
    const todo = entries.filter((e) => !written.has(`${entry.bundle}/${e.file}`));
    if (!todo.length) return;
    if (signal.aborted) throw new DownloadCancelled(); // cancelled before it began: no abort event comes
    const stop = new AbortController(); // the first file that fails stops the others
    let cause = null; // that first failure
    const stopAll = () => stop.abort();
    signal.addEventListener("abort", stopAll, { once: true });
    let outcomes;
    try {
      outcomes = await Promise.allSettled(todo.map(async (e) => {
        const url = `${MODELS_URL}${entry.bundle}/${e.file}`;
        try {
          const bytes = await unlessCancelled(fileOnce(url, e, { cache, signal: stop.signal, onNotKept, model: entry }), stop.signal);
          if (written.has(`${entry.bundle}/${e.file}`)) return; // another request wrote it meanwhile
          pyodide.FS.writeFile(`${dir}/${e.file}`, bytes);
          written.add(`${entry.bundle}/${e.file}`);
          files.delete(url); // in the file system now: no need for a second copy here
        } catch (err) {
          if (!cause && !(err instanceof DownloadCancelled && stop.signal.aborted)) cause = err;
          stopAll();
          throw err;
        }
      }));
    } finally {
      signal.removeEventListener("abort", stopAll);
    }
    if (signal.aborted) throw new DownloadCancelled();
    const failed = outcomes.flatMap((o, i) => (o.status === "rejected" ? [todo[i]] : []));
    if (!failed.length) return;
    if (!(cause instanceof Unreachable)) throw cause || new DownloadCancelled();
    // What the network did not give: every file still missing (the others were stopped with it).
    throw unreachable(entry.label, failed.reduce((n, e) => n + e.bytes, 0), what);
  };
  await fetchAll(Object.values(manifest.files), "to start");
  const needed = JSON.parse(pyodide.pyimport("attnviz.bridge").files_needed(JSON.stringify(request)));
  if (!needed.ok) return needed;
  await fetchAll(needed.files, "more for these words");
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
