/**
 * A model's weights for the worker, for any model of the index that has a bundle: fetch its
 * content-addressed manifest, the bundle's base files, then exactly the files the request needs
 * (attnviz says which: `bridge.files_needed`, which also tokenizes the text once and checks the
 * request); check every file's size and sha256; keep them in the Cache API (one cache per model
 * version, older versions deleted) so a second visit downloads nothing; and write them into
 * Pyodide's file system where attnviz.models reads them.
 * A page that will need a model downloads its base files itself while Pyodide boots (this
 * thread is busy then; see prefetch.js) and hands them over (expectFiles, receiveFile): a request
 * waits for those instead of downloading them again, and checks them like any other download.
 * Requests running at once share one download of a file, and one progress line counts its bytes.
 */
import { formatBytes } from "./bytes.js";
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

/**
 * What a reader is told when the network does not answer: what the model still needs, in bytes.
 * @param {string} label the model's label (from the model index) @param {number} bytes
 * @param {string} what "more for these words", "to start"
 */
function unreachable(label, bytes, what) {
  const why = self.navigator && self.navigator.onLine === false ? "you are offline"
    : "the site does not answer (is the network down?)";
  return new Error(`${label} needs ${formatBytes(bytes)} ${what}, and ${why}. It works offline once it has been downloaded.`);
}

/** @type {Map<string, object>} bundle -> its manifest, once written into the file system */
const manifests = new Map();
/** @type {Set<string>} "bundle/file" already in Pyodide's file system */
const written = new Set();
/** @type {Map<string, Promise<ArrayBuffer>>} url -> the file's verified bytes, fetched once
 * and kept until written into the file system */
const files = new Map();
/** @type {Map<string, {bytes: Promise<ArrayBuffer|null>, resolve: (b: ArrayBuffer|null) => void}>}
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

/** @param {ArrayBuffer} bytes */
async function sha256(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Download with progress. @param {string} url @param {string} file @param {(n: number) => void} onBytes */
async function download(url, file, onBytes) {
  let res;
  try {
    res = await baseFetch(url);
  } catch {
    throw new Unreachable(file);
  }
  if (!res.ok) throw new Error(`The model file ${file} is missing (HTTP ${res.status}).`);
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

/** The cache of one bundle version; other versions of the same bundle are deleted. @param {import("./models.js").ModelEntry} entry */
async function openCache(entry) {
  if (!self.caches) return null; // not a secure context: no Cache API, the HTTP cache still helps
  const prefix = `${CACHE_PREFIX}${entry.bundle}-`;
  const current = bundleCacheName(entry);
  try {
    for (const name of await caches.keys()) {
      if (name.startsWith(prefix) && name !== current) await caches.delete(name);
    }
    return await caches.open(current);
  } catch {
    return null;
  }
}

/** @param {import("./models.js").ModelEntry} entry @returns {Promise<Cache|null>} */
function cacheOf(entry) {
  if (!bundleCaches.has(entry.bundle)) bundleCaches.set(entry.bundle, openCache(entry));
  return bundleCaches.get(entry.bundle);
}

/**
 * One verified file, from the cache or the network; its download counts in the model's progress.
 * @param {string} url @param {FileEntry} entry @param {Cache|null} cache
 * @param {import("./models.js").ModelEntry} model @returns {Promise<ArrayBuffer>}
 */
async function getFile(url, entry, cache, model) {
  const hit = cache && (await cache.match(url));
  if (hit) {
    const bytes = await hit.arrayBuffer();
    if (bytes.byteLength === entry.bytes) return bytes;
  }
  const handedOver = incoming.get(url);
  const bytes = (handedOver && (await handedOver.bytes)) || (await downloadCounted(url, entry, model));
  incoming.delete(url);
  if (bytes.byteLength !== entry.bytes || (await sha256(bytes)) !== entry.sha256) {
    throw new Error(`The model file ${entry.file} is damaged: its checksum does not match the manifest.`);
  }
  if (cache) await cache.put(url, new Response(bytes)).catch(() => {});
  return bytes;
}

/**
 * Download a model file; the bytes count in the model's progress line.
 * @param {string} url @param {FileEntry} entry @param {import("./models.js").ModelEntry} model
 * @returns {Promise<ArrayBuffer>}
 */
async function downloadCounted(url, entry, model) {
  let tally = underWay.get(model.bundle);
  if (!tally) underWay.set(model.bundle, (tally = { loaded: 0, total: 0, pending: 0 }));
  tally.total += entry.bytes;
  tally.pending += 1;
  report({ loaded: tally.loaded, total: tally.total, label: model.label });
  try {
    return await download(url, entry.file, (n) => {
      tally.loaded += n;
      report({ loaded: tally.loaded, total: tally.total, file: entry.file, label: model.label });
    });
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

/** A file the page downloaded (null: it could not; the request downloads it then). @param {string} url @param {ArrayBuffer|null} bytes */
export function receiveFile(url, bytes) {
  const expected = incoming.get(url);
  if (expected) expected.resolve(bytes);
}

/**
 * A file's bytes, downloaded only when no one else already is (a prefetch and a request share
 * one download); a failure is forgotten, so the next request tries again.
 * @param {string} url @param {FileEntry} entry @param {Cache|null} cache
 * @param {import("./models.js").ModelEntry} model @returns {Promise<ArrayBuffer>}
 */
function fileOnce(url, entry, cache, model) {
  if (!files.has(url)) {
    const bytes = getFile(url, entry, cache, model);
    bytes.catch(() => files.delete(url));
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
  const cache = self.caches ? await caches.open(`${CACHE_PREFIX}manifests`).catch(() => null) : null;
  const hit = cache && (await cache.match(url));
  if (hit) return hit.arrayBuffer();
  let res;
  try {
    res = await baseFetch(url);
  } catch {
    throw new Unreachable(path);
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
 * @param {any} pyodide @param {object} request @param {(p: ModelProgress) => void} onProgress
 * @returns {Promise<object|null>}
 */
export async function ensureModel(pyodide, request, onProgress) {
  report = onProgress;
  const index = await modelIndex(baseFetch);
  const entry = findModel(index, request.model);
  if (!entry || !entry.manifest) return null; // nothing to download: attnviz answers the rest
  const dir = `${FS_ROOT}/${entry.bundle}`;
  let manifest = manifests.get(entry.bundle);
  if (!manifest) {
    const raw = await getManifest(entry.manifest, entry.label).catch((err) => {
      throw err instanceof Unreachable ? unreachable(entry.label, entry.base_bytes, "to start") : err; // never visited
    });
    manifest = JSON.parse(new TextDecoder().decode(raw));
    pyodide.FS.mkdirTree(dir);
    pyodide.FS.writeFile(`${dir}/manifest.json`, new Uint8Array(raw));
    manifests.set(entry.bundle, manifest);
  }
  const cache = await cacheOf(entry);
  const fetchAll = async (entries, what) => {
    const todo = entries.filter((e) => !written.has(`${entry.bundle}/${e.file}`));
    const outcomes = await Promise.allSettled(todo.map(async (e) => {
      const url = `${MODELS_URL}${entry.bundle}/${e.file}`;
      const bytes = await fileOnce(url, e, cache, entry);
      if (written.has(`${entry.bundle}/${e.file}`)) return; // another request wrote it meanwhile
      pyodide.FS.writeFile(`${dir}/${e.file}`, new Uint8Array(bytes));
      written.add(`${entry.bundle}/${e.file}`);
      files.delete(url); // in the file system now: no need for a second copy here
    }));
    const failed = outcomes.flatMap((o, i) => (o.status === "rejected" ? [[todo[i], o.reason]] : []));
    if (!failed.length) return;
    const offline = failed.filter(([, err]) => err instanceof Unreachable);
    if (offline.length < failed.length) throw failed.find(([, err]) => !(err instanceof Unreachable))[1];
    throw unreachable(entry.label, offline.reduce((n, [e]) => n + e.bytes, 0), what); // what the network did not give
  };
  await fetchAll(Object.values(manifest.files), "to start");
  const needed = JSON.parse(pyodide.pyimport("attnviz.bridge").files_needed(JSON.stringify(request)));
  if (!needed.ok) return needed;
  await fetchAll(needed.files, "more for these words");
  return null;
}
