/**
 * A model's weights for the worker, for any model of the index that has a bundle: fetch its
 * content-addressed manifest, the bundle's base files, then exactly the files the request needs
 * (attnviz says which: `bridge.files_needed`, which also tokenizes the text once and checks the
 * request); check every file's size and sha256; keep them in the Cache API (one cache per model
 * version, older versions deleted) so a second visit downloads nothing; and write them into
 * Pyodide's file system where attnviz.models reads them.
 */
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
    throw new Error(`The model file ${file} could not be downloaded (no network?).`);
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

/**
 * One verified file, from the cache or the network. @param {string} url @param {FileEntry} entry
 * @returns {Promise<ArrayBuffer>}
 */
async function getFile(url, entry, cache, onBytes) {
  const hit = cache && (await cache.match(url));
  if (hit) {
    const bytes = await hit.arrayBuffer();
    if (bytes.byteLength === entry.bytes) return bytes;
  }
  const bytes = await download(url, entry.file, onBytes);
  if (bytes.byteLength !== entry.bytes || (await sha256(bytes)) !== entry.sha256) {
    throw new Error(`The model file ${entry.file} is damaged: its checksum does not match the manifest.`);
  }
  if (cache) await cache.put(url, new Response(bytes)).catch(() => {});
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
 * @param {any} pyodide @param {object} request
 * @param {(p: {loaded: number, total: number, file?: string, label?: string}) => void} report
 * @returns {Promise<object|null>}
 */
export async function ensureModel(pyodide, request, report) {
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
  const cache = await openCache(entry);
  const fetchAll = async (entries) => {
    const todo = entries.filter((e) => !written.has(`${entry.bundle}/${e.file}`));
    const total = todo.reduce((n, e) => n + e.bytes, 0);
    let loaded = 0;
    if (todo.length) report({ loaded, total, label: entry.label });
    await Promise.all(todo.map(async (e) => {
      const bytes = await getFile(`${MODELS_URL}${entry.bundle}/${e.file}`, e, cache, (n) => {
        loaded += n;
        report({ loaded, total, file: e.file, label: entry.label });
      });
      pyodide.FS.writeFile(`${dir}/${e.file}`, new Uint8Array(bytes));
      written.add(`${entry.bundle}/${e.file}`);
    }));
  };
  await fetchAll(Object.values(manifest.files));
  const needed = JSON.parse(pyodide.pyimport("attnviz.bridge").files_needed(JSON.stringify(request)));
  if (!needed.ok) return needed;
  await fetchAll(needed.files);
  return null;
}
