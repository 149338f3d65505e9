/**
 * MiniLM's weights for the worker: fetch the manifest, the vocabulary, the encoder weights and
 * only the word-embedding chunks a sentence needs; check every file's sha256; keep them in the
 * Cache API (one cache per model version, older ones deleted) so a second visit downloads
 * nothing; and write them into Pyodide's file system where attnviz.minilm reads them.
 */
const MODEL_URL = new URL("../models/minilm-l6/", import.meta.url).href;
const FS_DIR = "/models/minilm-l6"; // attnviz.minilm.BROWSER_DIR
const CACHE_PREFIX = "attnviz-minilm-";
// Replaced at build time by the content-addressed name, manifest.<sha256 prefix>.json.
const MANIFEST_FILE = "manifest.json";
const baseFetch = self.fetch.bind(self); // captured before worker.js wraps fetch for boot progress

/** @typedef {{file: string, bytes: number, sha256: string}} FileEntry */

let manifest = null;
/** @type {Set<string>} files already in Pyodide's file system */
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

async function openCache(version) {
  if (!self.caches) return null; // not a secure context: no Cache API, the HTTP cache still helps
  try {
    for (const name of await caches.keys()) {
      const keep = [CACHE_PREFIX + version, CACHE_PREFIX + "manifests"];
      if (name.startsWith(CACHE_PREFIX) && !keep.includes(name)) await caches.delete(name);
    }
    return await caches.open(CACHE_PREFIX + version);
  } catch {
    return null;
  }
}

/**
 * One verified file, from the cache or the network. @param {FileEntry} entry
 * @returns {Promise<ArrayBuffer>}
 */
async function getFile(entry, cache, onBytes) {
  const url = MODEL_URL + entry.file;
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

/** The manifest, from the Cache API when its content-addressed name is already there. */
async function getManifest() {
  const url = MODEL_URL + MANIFEST_FILE;
  const cache = self.caches ? await caches.open(CACHE_PREFIX + "manifests").catch(() => null) : null;
  const hit = cache && (await cache.match(url));
  if (hit) return hit.arrayBuffer();
  let res;
  try {
    res = await baseFetch(url);
  } catch {
    throw new Error("MiniLM's manifest could not be downloaded (no network?).");
  }
  if (!res.ok) throw new Error(`MiniLM's manifest is missing (HTTP ${res.status}): the site was built without the model.`);
  const raw = await res.arrayBuffer();
  const hash = MANIFEST_FILE.split(".")[1];
  if (hash !== "json" && !(await sha256(raw)).startsWith(hash)) {
    throw new Error(`The model file ${MANIFEST_FILE} is damaged: its checksum does not match its name.`);
  }
  if (cache && hash !== "json") await cache.put(url, new Response(raw)).catch(() => {});
  return raw;
}

/**
 * Make sure the files for text are in Pyodide's file system.
 * @param {any} pyodide @param {string} text
 * @param {(p: {loaded: number, total: number, file?: string}) => void} report
 */
export async function ensureMiniLM(pyodide, text, report) {
  if (!manifest) {
    const raw = await getManifest();
    manifest = JSON.parse(new TextDecoder().decode(raw));
    pyodide.FS.mkdirTree(FS_DIR);
    pyodide.FS.writeFile(`${FS_DIR}/manifest.json`, new Uint8Array(raw));
  }
  const cache = await openCache(manifest.version);
  const fetchAll = async (entries) => {
    const todo = entries.filter((e) => !written.has(e.file));
    const total = todo.reduce((n, e) => n + e.bytes, 0);
    let loaded = 0;
    if (todo.length) report({ loaded, total });
    await Promise.all(todo.map(async (entry) => {
      const bytes = await getFile(entry, cache, (n) => { loaded += n; report({ loaded, total, file: entry.file }); });
      pyodide.FS.writeFile(`${FS_DIR}/${entry.file}`, new Uint8Array(bytes));
      written.add(entry.file);
    }));
  };
  await fetchAll([manifest.vocab, manifest.core]);
  const needed = JSON.parse(pyodide.pyimport("attnviz.bridge").minilm_files(text));
  await fetchAll(needed);
}
