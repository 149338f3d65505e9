// The worker started from the page's <head> (site_js/start-worker.js) and taken over by the
// client (site_js/client.js): what the worker said before the client listened is not lost, it
// is taken over once, and a client that comes first keeps a late start-worker.js from starting a
// second Python.
import assert from "node:assert/strict";
import { test } from "node:test";

/** A worker that records how many were made. */
class CountedWorker {
  constructor(url) {
    this.url = String(url);
    this.sent = [];
    CountedWorker.made.push(this);
  }

  postMessage(message) { this.sent.push(message); }

  terminate() { this.terminated = true; }
}
CountedWorker.made = [];
globalThis.Worker = CountedWorker;

const KEY = Symbol.for("attnviz.startedWorker");
const WORKER_URL = new URL("../../site_js/worker.js", import.meta.url).href;
const { AttnvizClient } = await import("../../site_js/client.js");

test("the client takes over the started worker, with the messages it sent before anyone listened", async () => {
  await import("../../site_js/start-worker.js");
  assert.equal(CountedWorker.made.length, 1, "started as the module runs");
  const early = CountedWorker.made[0];
  assert.equal(early.url, WORKER_URL);
  // Pyodide boots while the client's modules still load: its progress and readiness come first.
  early.onmessage({ data: { type: "progress", stage: "runtime", loaded: 5 } });
  early.onmessage({ data: { type: "ready", loaded: 10, timings: { total: 1 } } });

  const client = new AttnvizClient(WORKER_URL);
  assert.equal(client.worker, early, "no second worker");
  assert.equal(CountedWorker.made.length, 1);
  assert.equal(client.status.ready, true, "the ready message sent before the client existed counts");
  assert.equal(client.status.loaded, 10);
  await client.whenReady;

  // A later client (a Retry restarts the worker the same way) gets a worker of its own.
  client.start();
  assert.equal(CountedWorker.made.length, 2);
  assert.notEqual(client.worker, early);
});

test("a failure of the started worker before the client listened shows once the client does", async () => {
  delete globalThis[KEY];
  await import("../../site_js/start-worker.js?failing");
  const early = CountedWorker.made.at(-1);
  early.onerror({ message: "the module could not be loaded", preventDefault() {} });
  const client = new AttnvizClient(WORKER_URL);
  assert.equal(client.worker, early);
  assert.match(client.status.fatal, /could not be loaded/);
  assert.equal(early.terminated, true);
});

test("a client that comes first claims the slot: start-worker.js arriving later starts no worker", async () => {
  delete globalThis[KEY];
  const before = CountedWorker.made.length;
  const client = new AttnvizClient(WORKER_URL);
  assert.equal(CountedWorker.made.length, before + 1);
  await import("../../site_js/start-worker.js?late");
  assert.equal(CountedWorker.made.length, before + 1, "one Python per visit");
  assert.equal(client.worker, CountedWorker.made.at(-1));
});
