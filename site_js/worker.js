/**
 * The computation worker: boots Pyodide from the site's own files, loads numpy and attnviz,
 * then answers requests through attnviz.bridge. It never draws and never decides layout.
 *
 * Messages in:  {type: "run", id, request}
 * Messages out: {type: "progress", stage, loaded, file} | {type: "ready", timings}
 *               {type: "result", id, meta, buffers} | {type: "fatal", stage, message}
 *               {type: "model", loaded, total, file} (MiniLM's weights downloading)
 */
import { loadPyodide } from "../pyodide/pyodide.mjs";
import { ensureMiniLM } from "./model-files.js";

const RUNTIME_URL = new URL("../pyodide/", import.meta.url).href;
const realFetch = self.fetch.bind(self);
/** @type {Map<string, Promise<Response>>} wheels fetched early, handed to Pyodide when it asks */
const prefetched = new Map();

/** Remember an early download; a failure surfaces when Pyodide asks for the file, not before. */
function prefetch(url, file) {
  const response = realFetch(url).then((res) => checked(res, file));
  response.catch(() => {});
  prefetched.set(url, response);
}
/** @type {string[]} downloads that failed: the real reason when Pyodide reports only "exit(1)" */
const failures = [];
let bytesLoaded = 0;
let stage = "start";

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
  if (!res.ok) {
    failures.push(`${file} could not be loaded (HTTP ${res.status})`);
    throw new Error(failures[failures.length - 1]);
  }
  return counted(res, file);
}

/** Same-origin fetch with byte counting; hands out each prefetched response once. */
self.fetch = async (input, init) => {
  const url = new URL(input instanceof Request ? input.url : String(input), self.location.href).href;
  const early = prefetched.get(url);
  if (early) { prefetched.delete(url); return early; }
  return checked(await realFetch(input, init), url.split("/").pop());
};

/** Start downloading the runtime's big files, numpy and attnviz while Pyodide itself boots. */
async function prefetchRuntime() {
  // The WebAssembly module and the standard library, too: Pyodide asks for them only after
  // pyodide.asm.js has loaded, and they are most of the bytes.
  for (const name of ["pyodide.asm.wasm", "python_stdlib.zip"]) {
    prefetch(RUNTIME_URL + name, name);
  }
  const lockURL = RUNTIME_URL + "pyodide-lock.json";
  const res = await realFetch(lockURL);
  if (!res.ok) throw new Error(`pyodide-lock.json could not be loaded (HTTP ${res.status}).`);
  prefetched.set(lockURL, Promise.resolve(res.clone()));
  const lock = await res.json();
  for (const name of ["numpy", "attnviz"]) {
    prefetch(RUNTIME_URL + lock.packages[name].file_name, lock.packages[name].file_name);
  }
  return lock;
}

/** @returns {Promise<{pyodide: any, handle: Function}>} the runtime and attnviz.bridge.handle */
async function boot() {
  const t0 = performance.now();
  progress("runtime");
  await prefetchRuntime();
  const pyodide = await loadPyodide({ indexURL: RUNTIME_URL, lockFileURL: RUNTIME_URL + "pyodide-lock.json" });
  const tRuntime = performance.now();
  progress("packages");
  const problems = [];
  await pyodide.loadPackage(["numpy", "attnviz"], { messageCallback: () => {}, errorCallback: (m) => problems.push(m) });
  if (!("numpy" in pyodide.loadedPackages) || !("attnviz" in pyodide.loadedPackages)) {
    throw new Error(`numpy or attnviz could not be loaded. ${problems.join(" ")}`);
  }
  const handle = pyodide.pyimport("attnviz.bridge").handle;
  const tReady = performance.now();
  self.postMessage({ type: "ready", loaded: bytesLoaded,
    timings: { runtime: tRuntime - t0, packages: tReady - tRuntime, total: tReady - t0 } });
  return { pyodide, handle };
}

/**
 * Run one request and copy its arrays out of the WebAssembly heap.
 * @param {Function} handle @param {object} request
 * @returns {{meta: string, buffers: Float32Array[], ms: number}}
 */
function run(handle, request) {
  const t0 = performance.now();
  const out = handle(JSON.stringify(request));
  try {
    const meta = out.get(0);
    const arrays = out.get(1);
    const buffers = [];
    for (let i = 0; i < arrays.length; i++) {
      const array = arrays.get(i);
      const view = array.getBuffer("f32");
      buffers.push(view.data.slice()); // (copy) the heap can't be transferred
      view.release();
      array.destroy();
    }
    arrays.destroy();
    return { meta, buffers, ms: performance.now() - t0 };
  } finally {
    out.destroy();
  }
}

const ready = boot().catch((err) => {
  const message = failures.length ? failures.join("; ") : String(err && err.message ? err.message : err);
  self.postMessage({ type: "fatal", stage, message });
  throw err;
});

self.onmessage = async (event) => {
  const { type, id, request } = event.data;
  if (type !== "run") return;
  const { pyodide, handle } = await ready;
  if (request && request.model === "minilm" && typeof request.text === "string") {
    try {
      await ensureMiniLM(pyodide, request.text, (p) => self.postMessage({ type: "model", ...p }));
    } catch (err) {
      const message = String(err && err.message ? err.message : err);
      self.postMessage({ type: "model", done: true });
      self.postMessage({ type: "result", id, meta: JSON.stringify({ ok: false, error: { field: "model", message } }), buffers: [] });
      return;
    }
    self.postMessage({ type: "model", done: true });
  }
  try {
    const { meta, buffers, ms } = run(handle, request);
    self.postMessage({ type: "result", id, meta, buffers, ms }, buffers.map((b) => b.buffer));
  } catch (err) {
    const message = `The computation failed: ${err && err.message ? err.message : err}`;
    self.postMessage({ type: "result", id, meta: JSON.stringify({ ok: false, error: { field: null, message } }), buffers: [] });
  }
};
