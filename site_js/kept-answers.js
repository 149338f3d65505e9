/**
 * Answers kept between visits. The answer to each widget's first request on a page (the view it
 * opens with) is kept in the Cache API under a hash of the request. A later visit whose widget
 * asks the same (a new tab, a reload, a page read again) draws at once from it, while Python
 * still starts; the reader's next change is computed as always.
 *
 * A kept answer is the answer the worker would compute: every model here is deterministic (the
 * built-in model's and the probes' randomness is seeded), and the cache's name carries a hash of
 * everything an answer depends on (Pyodide, numpy, attnviz and the model index, which names each
 * model's files by their hashes), so another build never reads this one's answers. A kept answer
 * that cannot be read is treated as none: the worker computes it.
 *
 * A first visit has answers too: the build computes each widget's first requests with attnviz in
 * CPython (attnviz/mkdocs/built_answers.py) and serves them as answers/<hash of the request>, in
 * the same form. They are looked up after this browser's own.
 */
import { sha256 } from "./download-resume.js";

/** Replaced by the build (attnviz/mkdocs/hooks.py): the hash of what answers depend on. */
export const ANSWERS_BUILD = "__ANSWERS_BUILD__";
const PREFIX = "attnviz-answers-";
/** Answers kept at most; the oldest go first. */
export const MAX_ANSWERS = 200;
/** An answer bigger than this is not kept (a deep model's every attention over a long text: tens of MB). */
export const MAX_ANSWER_BYTES = 2 ** 21;
/** The cache keys' address space: never fetched, only a key (the Cache API wants an http URL). */
const KEY_BASE = new URL("./__answers/", import.meta.url).href;
/** Replaced by the build (attnviz/mkdocs/hooks.py): the hashes of the requests it answered. */
const BUILT = new Set(/*__BUILT_ANSWERS__*/ []);
/** Where the build's answers are served, as <hash>.bin (the site's answers/ folder; this file is in js/). */
const BUILT_BASE = new URL("../answers/", import.meta.url).href;

/** @type {Promise<Cache|null>|null} this build's cache, older builds' deleted on first use */
let opened = null;

/** @returns {Promise<Cache|null>} null without a Cache API (not a secure context) or when it fails */
function openAnswers() {
  if (!opened) {
    opened = (async () => {
      if (!self.caches) return null;
      const name = PREFIX + ANSWERS_BUILD;
      for (const other of await caches.keys()) {
        if (other.startsWith(PREFIX) && other !== name) await caches.delete(other);
      }
      return caches.open(name);
    })().catch(() => null);
  }
  return opened;
}

/** A request's name among answers: the sha256 of its JSON. The build names its answers by the
 * same function. @param {object} request @returns {Promise<string>} */
export function requestHash(request) {
  return sha256(new TextEncoder().encode(JSON.stringify(request)));
}

/** @param {object} request @returns {Promise<string>} the cache key of a request */
async function keyOf(request) {
  return KEY_BASE + (await requestHash(request));
}

/**
 * @typedef {{meta: string, buffers: Float32Array[], ms: number, built?: boolean}} Answer as the
 * worker sent it (its JSON and its arrays); built: computed when the site was built
 */

/**
 * The answer to a request kept by this browser, else the build's, else null.
 * @param {object} request @returns {Promise<Answer|null>}
 */
export async function findAnswer(request) {
  try {
    const cache = await openAnswers();
    if (!cache && !BUILT.size) return null; // nowhere to look
    const hash = await requestHash(request);
    const kept = cache && (await cache.match(KEY_BASE + hash));
    if (kept) return unpack(await kept.arrayBuffer());
    if (!BUILT.has(hash)) return null;
    const built = await fetch(`${BUILT_BASE}${hash}.bin`);
    return built.ok ? { ...unpack(await built.arrayBuffer()), built: true } : null;
  } catch {
    return null; // unreadable: the worker computes it
  }
}

/**
 * Keep a request's answer (in the background: failures, such as a full disk, only mean it is not
 * kept). The bytes are copied now, so the arrays may be used meanwhile.
 * @param {object} request @param {string} meta the result's JSON @param {Float32Array[]} buffers @param {number} ms
 */
export function keepAnswer(request, meta, buffers, ms) {
  const body = pack(meta, buffers, ms);
  if (!body) return Promise.resolve();
  return (async () => {
    const cache = await openAnswers();
    if (!cache) return;
    await cache.put(await keyOf(request), new Response(body));
    const keys = await cache.keys();
    for (const old of keys.slice(0, Math.max(0, keys.length - MAX_ANSWERS))) await cache.delete(old);
  })().catch(() => {});
}

/** Where the floats start after a header of this many bytes (and its 4-byte length): aligned to 4. @param {number} length */
const dataStart = (length) => 4 + length + ((4 - (length % 4)) % 4);

/**
 * One answer as bytes: a 4-byte length, the header's JSON ({meta, ms, lengths}), padding to 4
 * bytes, then each array's floats. Null when it is bigger than MAX_ANSWER_BYTES.
 * @param {string} meta @param {Float32Array[]} buffers @param {number} ms @returns {Blob|null}
 */
export function pack(meta, buffers, ms) {
  const header = new TextEncoder().encode(JSON.stringify({ meta, ms, lengths: buffers.map((b) => b.length) }));
  const start = dataStart(header.length);
  const size = start + buffers.reduce((n, b) => n + b.byteLength, 0);
  if (size > MAX_ANSWER_BYTES) return null;
  const head = new Uint8Array(start);
  new DataView(head.buffer).setUint32(0, header.length, true);
  head.set(header, 4);
  return new Blob([head, ...buffers]); // Blob copies the bytes now
}

/** @param {ArrayBuffer} bytes @returns {{meta: string, buffers: Float32Array[], ms: number}} */
export function unpack(bytes) {
  const length = new DataView(bytes).getUint32(0, true);
  const { meta, ms, lengths } = JSON.parse(new TextDecoder().decode(new Uint8Array(bytes, 4, length)));
  let at = dataStart(length);
  const buffers = lengths.map((n) => {
    const view = new Float32Array(bytes, at, n); // throws past the end: a cut answer is none
    at += 4 * n;
    return view;
  });
  if (at !== bytes.byteLength) throw new Error("the kept answer's size does not match its header");
  return { meta, buffers, ms };
}
