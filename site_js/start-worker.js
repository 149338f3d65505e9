/**
 * Starts the computation worker the moment the page's <head> is read: loaded `async` from there
 * on pages with widgets (the MkDocs hook adds it), with one small import, so it runs about 0.3 s
 * before boot.js, whose client (client.js) waits for its whole module graph and, on a long page,
 * for Material's bundle (measured on the model page: the worker requested ~430 ms after
 * navigation, ~120 ms with this). Pyodide's boot is the longest wait of a first visit: every
 * millisecond it starts earlier is one the reader does not wait.
 * The client takes the worker over (client.js takeStartedWorker), with what it said meanwhile.
 * It is left under a global symbol rather than exported: importing client.js (a page reached by
 * instant navigation, the Node tests) must not start a worker.
 */
import { scriptURL } from "./script-url.js";

/** @typedef {{url: string, worker: Worker, said: MessageEvent[], failed: ErrorEvent[]}} StartedWorker */

const STARTED_WORKER = Symbol.for("attnviz.startedWorker"); // client.js takes it from there

if (!(STARTED_WORKER in globalThis)) { // else the client came first and started its own
  const url = new URL("./worker.js", import.meta.url).href;
  const worker = new Worker(scriptURL(url), { type: "module" });
  /** @type {StartedWorker} */
  const started = { url, worker, said: [], failed: [] };
  // A worker's messages with no listener are lost: kept until the client listens.
  worker.onmessage = (e) => started.said.push(e);
  worker.onerror = (e) => { e.preventDefault(); started.failed.push(e); };
  globalThis[STARTED_WORKER] = started;
}
