/**
 * The computation worker: boots Pyodide from the site's own files, loads numpy and attnviz,
 * then answers requests through attnviz.bridge. It never draws and never decides layout.
 *
 * Messages in:  {type: "run", id, request, ahead?} (ahead: prepared before a widget asks, client.js)
 *               {type: "cancel"} (stop the model download under way)
 *               {type: "simulate", failure} (tests: see worker-health.js)
 *               {type: "expect", urls} (model files the page is downloading for this worker)
 *               {type: "file", url, bytes, sha256} (one of them, or bytes null when its download
 *               failed; sha256: what the page computed of the bytes, or null)
 * Messages out: {type: "progress", stage, loaded, file} | {type: "ready", timings}
 *               {type: "result", id, meta, buffers, ms, memory, resident} | {type: "fatal", stage, message}
 *               {type: "partial", id, meta, buffers} (the result so far, between a model's steps)
 *               {type: "model", loaded, total, file, label} (a model's weights downloading)
 *               {type: "crashed", message} (Python failed beyond repair: only a new worker helps)
 *               {type: "notice", message} (something the reader should know, e.g. a model not kept)
 * A result whose error field is "memory" means the heap is exhausted: the page starts a new worker.
 *               {type: "snapshot", bytes, ms} | {type: "snapshot", error} (site_js/snapshot.js)
 *
 * It fetches only from its own origin (a second line of defence behind the page's
 * Content-Security-Policy, which a worker served without a CSP header of its own does not get),
 * and checks numpy's and attnviz's wheels against the sha256 in pyodide-lock.json. Under a header
 * policy with Trusted Types it needs no policy: nothing here or in Pyodide loads code from a string.
 */
import { loadPyodide } from "../pyodide/pyodide.mjs";
import { DownloadCancelled, sha256 } from "./download-resume.js";
import { ensureModel, expectFiles, receiveFile } from "./model-files.js";
import { findModel, modelIndex } from "./models.js";
import { maxFlowsFromPython } from "./flow-kernel.js";
import * as health from "./worker-health.js";
import * as snapshot from "./snapshot.js";
// What the modules above import, named here too: a worker has no modulepreload, and otherwise the
// browser fetches them only once it has read those modules, a round trip later.
import "./bytes.js";
import "./worker-recovery.js";
import "./zip.js";

const RUNTIME_URL = new URL("../pyodide/", import.meta.url).href;
const realFetch = self.fetch.bind(self);
/** @type {Map<string, Promise<Response>>} wheels fetched early, handed to Pyodide when it asks */
const prefetched = new Map();

/** @type {string[]} downloads that failed: the real reason when Pyodide reports only "exit(1)" */
const failures = [];
let bytesLoaded = 0;
let stage = "start";
/** Rejects the boot when a runtime file fails (Pyodide itself may wait forever, see below). */
let abortBoot;
const bootAborted = new Promise((_, reject) => { abortBoot = reject; });
/** @type {() => number} bytes of Pyodide's WebAssembly memory, once it runs */
let wasmMemory = () => 0;
/** @type {(() => void)|null} work a restore left for after the first answer (snapshot.js unpackRest) */
let afterFirstAnswer = null;

// attnviz's attention flow solves its maximum flows here when the worker offers this (flow.py).
self.attnvizMaxFlows = maxFlowsFromPython;

/** Takes a memory snapshot once a normal boot has answered and the worker is idle. */
const snapshotTaker = new snapshot.SnapshotTaker((r) => self.postMessage({ type: "snapshot", ...r }));

/** Record a failure that stops the boot. @param {string} message @returns {Error} */
function fail(message) {
  failures.push(message);
  abortBoot(new Error(message));
  return new Error(message);
}

// Pyodide 0.27 catches a failed WebAssembly compile (a corrupt pyodide.asm.wasm, or a policy
// without 'wasm-unsafe-eval'), only logs it, and never settles loadPyodide(): turn it into an error.
const consoleWarn = console.warn.bind(console);
let wasmFailing = false;
console.warn = (...args) => {
  consoleWarn(...args);
  if (args[0] === "wasm instantiation failed!") wasmFailing = true;
  else if (wasmFailing) fail(`pyodide.asm.wasm could not be compiled (${args[0]})`);
};

/**
 * Remember an early download; a failure surfaces when Pyodide asks for the file, not before.
 * @param {string} url @param {Promise<Response>} response
 */
function prefetch(url, response) {
  response.catch(() => {});
  prefetched.set(url, response);
}

/** @param {string} s @param {string} [file] */
function progress(s, file) {
  stage = s;
  self.postMessage({ type: "progress", stage, loaded: bytesLoaded, file });
}

/**
 * Wrap a response so every chunk read counts towards the progress bytes.
 * @param {Response} res @param {string} file @returns {Response}
 */
function counted(res, file) {
  if (!res.ok || !res.body) return res;
  const reader = res.body.getReader();
  const body = new ReadableStream({
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) { controller.close(); return; }
      bytesLoaded += value.byteLength;
      progress(stage, file);
      controller.enqueue(value);
    },
    cancel(reason) { return reader.cancel(reason); },
  });
  return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
}

/**
 * A failed download becomes an error that names the file; a good one counts its bytes.
 * @param {Response} res @param {string} file @returns {Response}
 */
function checked(res, file) {
  if (!res.ok) throw fail(`${file} could not be loaded (HTTP ${res.status})`);
  return counted(res, file);
}

/** Same-origin fetch with byte counting; hands out each prefetched response once; refuses other origins. */
self.fetch = async (input, init) => {
  const url = new URL(input instanceof Request ? input.url : String(input), self.location.href);
  if (url.origin !== self.location.origin) {
    throw new TypeError(`Refused to fetch ${url.href}: this worker only loads files from its own site.`);
  }
  const early = prefetched.get(url.href);
  if (early) { prefetched.delete(url.href); return early; }
  const file = url.pathname.split("/").pop();
  let res;
  try {
    res = await realFetch(input, init);
  } catch (err) {
    throw fail(`${file} could not be loaded (${err.message})`);
  }
  return checked(res, file);
};

/**
 * Download a package's wheel and check it against the lock before Pyodide sees it (Pyodide asks
 * the browser to check it too, but a prefetched response skips that).
 * @param {string} name @param {{file_name: string, sha256: string}} entry @returns {Promise<Response>}
 */
async function fetchVerified(name, entry) {
  const res = await self.fetch(RUNTIME_URL + entry.file_name);
  const bytes = await res.arrayBuffer();
  if ((await sha256(bytes)) !== entry.sha256) {
    throw fail(`${name} (${entry.file_name}) is damaged: its sha256 does not match pyodide-lock.json`);
  }
  return new Response(bytes, { status: 200, headers: res.headers });
}

/** Start downloading the runtime's big files, numpy and attnviz while Pyodide itself boots. */
async function prefetchRuntime() {
  // The WebAssembly module and the standard library, too: Pyodide asks for them only after
  // pyodide.asm.js has loaded, and they are most of the bytes.
  for (const name of ["pyodide.asm.wasm", "python_stdlib.zip"]) {
    prefetch(RUNTIME_URL + name, self.fetch(RUNTIME_URL + name));
  }
  const lockURL = RUNTIME_URL + "pyodide-lock.json";
  const res = await self.fetch(lockURL);
  const text = await res.text();
  prefetched.set(lockURL, Promise.resolve(new Response(text, { headers: res.headers })));
  let lock;
  try {
    lock = JSON.parse(text);
  } catch {
    throw fail("pyodide-lock.json is damaged (it is not valid JSON)");
  }
  for (const name of ["numpy", "attnviz"]) {
    const entry = lock.packages[name];
    prefetch(RUNTIME_URL + entry.file_name, fetchVerified(name, entry));
  }
  return lock;
}

/** Bytes of the runtime's scripts (pyodide.mjs, pyodide.asm.js): they load as modules, past the
 * fetch count, yet are part of the download the status line counts. */
function scriptBytes() {
  return performance.getEntriesByType("resource")
    .filter((e) => /\/pyodide\.(mjs|asm\.js)$/.test(new URL(e.name).pathname))
    .reduce((n, e) => n + e.decodedBodySize, 0);
}

/** @returns {Promise<{pyodide: any, handle: Function}>} the runtime and attnviz.bridge.handle */
async function boot() {
  const t0 = performance.now();
  progress("runtime");
  const lock = await prefetchRuntime();
  const options = { indexURL: RUNTIME_URL, lockFileURL: RUNTIME_URL + "pyodide-lock.json" };
  const wheel = async (name) => (await self.fetch(RUNTIME_URL + lock.packages[name].file_name)).arrayBuffer();
  const { runtime, outcome } = await snapshot.restoreStored(loadPyodide, options, wheel);
  if (runtime) {
    afterFirstAnswer = runtime.unpackRest;
    wasmMemory = () => runtime.pyodide._module.HEAP8.length;
    const total = performance.now() - t0;
    self.postMessage({ type: "ready", loaded: bytesLoaded, timings: { runtime: total, packages: 0, total, snapshot: outcome } });
    return runtime;
  }
  const pyodide = await loadPyodide({ ...options, _makeSnapshot: true });
  const dynlibs = snapshot.recordDynlibs(pyodide);
  wasmMemory = () => pyodide._module.HEAP8.length;
  const tRuntime = performance.now();
  bytesLoaded += scriptBytes();
  progress("packages");
  const problems = [];
  await pyodide.loadPackage(["numpy", "attnviz"], { messageCallback: () => {}, errorCallback: (m) => problems.push(m) });
  if (!("numpy" in pyodide.loadedPackages) || !("attnviz" in pyodide.loadedPackages)) {
    throw new Error(`numpy or attnviz could not be loaded. ${problems.join(" ")}`);
  }
  const handle = pyodide.pyimport("attnviz.bridge").handle;
  pyodide.pyimport("attnviz.formats.bundle").host_checks_sha256(); // model-files.js checked every file
  snapshotTaker.arm(pyodide, dynlibs, handle);
  const tReady = performance.now();
  self.postMessage({ type: "ready", loaded: bytesLoaded,
    timings: { runtime: tRuntime - t0, packages: tReady - tRuntime, total: tReady - t0, snapshot: outcome } });
  return { pyodide, handle };
}

/**
 * Copy a result's arrays out of the WebAssembly heap (the heap can't be transferred).
 * @param {any} arrays a Python list of float32 arrays @returns {Float32Array[]}
 */
function copyArrays(arrays) {
  const buffers = [];
  for (let i = 0; i < arrays.length; i++) {
    const array = arrays.get(i);
    const view = array.getBuffer("f32");
    buffers.push(view.data.slice());
    view.release();
    array.destroy();
  }
  return buffers;
}

/**
 * Run one request; results so far (each token an LLM generates) go to the page as they come.
 * @param {Function} handle @param {object} request @param {number} id
 * @returns {{meta: string, buffers: Float32Array[], ms: number}}
 */
function run(handle, request, id) {
  const t0 = performance.now();
  const partial = (meta, arrays) => {
    const buffers = copyArrays(arrays);
    self.postMessage({ type: "partial", id, meta, buffers }, buffers.map((b) => b.buffer));
  };
  const out = handle(JSON.stringify(request), partial);
  try {
    const arrays = out.get(1);
    const buffers = copyArrays(arrays);
    arrays.destroy();
    return { meta: out.get(0), buffers, ms: performance.now() - t0 };
  } finally {
    out.destroy();
  }
}

const ready = Promise.race([boot(), bootAborted]).catch((err) => {
  const message = failures.length ? failures.join("; ") : String(err && err.message ? err.message : err);
  self.postMessage({ type: "fatal", stage, message });
  throw err;
});

/** @type {AbortController|null} the model download under way */
let downloading = null;
/** The last request received, and the last one a Cancel reached before its download began (a
 * Cancel while Python booted, or while the request waited for another): such a request is cancelled. */
let lastReceived = 0;
let cancelledUpTo = 0;

/** @param {number} id @param {object} meta an error result */
function reply(id, meta) {
  self.postMessage({ type: "result", id, meta: JSON.stringify(meta), buffers: [] });
}

/**
 * Make the request's model ready: room in memory, then its files. Returns null when it may run,
 * else the result to answer with (refused text, no memory, a failed or cancelled download).
 * @param {any} pyodide @param {object} request @param {number} id the request's
 * @returns {Promise<object|null>}
 */
async function prepareModel(pyodide, request, id) {
  // A Cancel from now on stops this request's download, and so does one that came while it waited.
  downloading = new AbortController();
  const { signal } = downloading;
  if (id <= cancelledUpTo) downloading.abort();
  let entry = null;
  try {
    entry = request.model ? findModel(await modelIndex(), request.model) : null;
    // A model with weight files grows Python's memory past what a snapshot keeps: the last moment.
    if (entry && entry.manifest) snapshotTaker.beforeModelLoads();
    const noRoom = entry ? health.makeRoom(pyodide, entry) : null;
    if (noRoom) return noRoom;
    return await ensureModel(pyodide, request, {
      signal,
      report: (p) => self.postMessage({ type: "model", ...p }),
      notice: (message) => self.postMessage({ type: "notice", message }),
    });
  } catch (err) {
    if (entry) health.forgetResident(entry.name);
    if (health.isOutOfMemory(err)) return health.memoryRefusal(`Loading ${entry ? entry.label : "the model"} ran out of memory (${err.message || err})`);
    if (err instanceof DownloadCancelled) {
      return { ok: false, cancelled: true, error: { field: "model", message: `The download of ${entry ? entry.label : "the model"} ` +
        "was cancelled. The files already complete are kept on this device: choosing the model again downloads only the rest." } };
    }
    return { ok: false, error: { field: "model", message: String(err && err.message ? err.message : err) } };
  } finally {
    downloading = null;
    self.postMessage({ type: "model", done: true });
  }
}

/** Answer one request: its model's files, then the computation. @param {MessageEvent} event */
const answer = async (event) => {
  const { type, id, request, ahead } = event.data;
  if (type !== "run") return;
  const { pyodide, handle } = await ready;
  const refused = await prepareModel(pyodide, request, id);
  if (refused) { reply(id, refused); return; }
  try {
    if (!ahead) health.raiseArmed(pyodide); // a simulated failure is a reader's request's, not one prepared ahead
    const { meta, buffers, ms } = run(handle, request, id);
    self.postMessage({ type: "result", id, meta, buffers, ms, memory: wasmMemory(), resident: health.residentModels() },
      buffers.map((b) => b.buffer));
  } catch (err) {
    if (health.isOutOfMemory(err)) { // the page starts a new worker: this heap may be full or broken
      reply(id, health.memoryRefusal(`The computation ran out of memory (${err.message || err})`));
      return;
    }
    if (err && err.pyodide_fatal_error) {
      self.postMessage({ type: "crashed", message: `Python stopped working (${err.message || err})` });
      return;
    }
    const message = `The computation failed: ${err && err.message ? err.message : err}`;
    reply(id, { ok: false, error: { field: null, message } });
  }
};

// A snapshot is taken only while no request is waiting or running.
self.onmessage = async (event) => {
  const { type } = event.data;
  if (type === "cancel") { // at once, not behind the request
    if (downloading) downloading.abort();
    else cancelledUpTo = lastReceived;
    return;
  }
  if (type === "run") lastReceived = event.data.id;
  if (type === "simulate") { health.arm(event.data.failure); return; }
  // The page's handed-over model files: at once, even while Python boots or a request waits for them.
  if (type === "expect") { expectFiles(event.data.urls); return; }
  if (type === "file") { receiveFile(event.data.url, event.data.bytes, event.data.sha256); return; }
  snapshotTaker.requestStarted();
  try {
    await answer(event);
  } finally {
    snapshotTaker.requestFinished();
    if (afterFirstAnswer) setTimeout(afterFirstAnswer, 0); // the first heatmap did not wait for it
    afterFirstAnswer = null;
  }
};
