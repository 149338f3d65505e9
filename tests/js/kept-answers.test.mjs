// Answers kept between visits (site_js/kept-answers.js, and client.js's use of them): the stored
// form reads back whole, a widget's first request on a later visit is answered from it without
// Python, and only first requests with a good answer are kept. The Cache API is a small in-memory
// stand-in here (Node has none); the browser test is tests/e2e/test_kept_answers.py.
import assert from "node:assert/strict";
import { test } from "node:test";

/** The Cache API as far as kept-answers.js uses it, in memory; `slow` delays every match. */
class MemoryCache {
  constructor() { this.entries = new Map(); this.slow = 0; }
  async match(url) {
    if (this.slow) await new Promise((resolve) => setTimeout(resolve, this.slow));
    const body = this.entries.get(String(url));
    return body ? new Response(body) : undefined;
  }
  async put(url, response) { this.entries.delete(String(url)); this.entries.set(String(url), await response.arrayBuffer()); }
  async keys() { return [...this.entries.keys()]; }
  async delete(url) { return this.entries.delete(String(url)); }
}
const stores = new Map();
globalThis.self = globalThis;
globalThis.caches = {
  keys: async () => [...stores.keys()],
  open: async (name) => { if (!stores.has(name)) stores.set(name, new MemoryCache()); return stores.get(name); },
  delete: async (name) => stores.delete(name),
};
stores.set("attnviz-answers-an-older-build", new MemoryCache());

/** A worker that records what it is sent and answers when the test says so. */
class ScriptedWorker {
  constructor() { this.sent = []; ScriptedWorker.last = this; }
  postMessage(message) { this.sent.push(message); }
  terminate() {}
  /** @param {number} id @param {object} body @param {Float32Array[]} buffers */
  answer(id, body, buffers = []) {
    this.onmessage({ data: { type: "result", id, meta: JSON.stringify(body), buffers, ms: 7 } });
  }
  runs() { return this.sent.filter((m) => m.type === "run"); }
}
globalThis.Worker = ScriptedWorker;

const kept = await import("../../site_js/kept-answers.js");
const { AttnvizClient } = await import("../../site_js/client.js");
const { currentPage, nextPage } = await import("../../site_js/page.js");

const cache = () => stores.get(`attnviz-answers-${kept.ANSWERS_BUILD}`);
const settle = () => new Promise((resolve) => setTimeout(resolve, 50));
/** Wait (up to 5 s) until cond() holds: lookups and writes take a few asynchronous steps. */
async function until(cond) {
  for (let waited = 0; !(await cond()); waited += 5) {
    assert.ok(waited < 5000, `never: ${cond}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
const HEATMAP = { ok: true, attention: { self: { weights: { $array: 0, shape: [1, 2, 2] } } } };

test("an answer's bytes read back whole: its JSON, its arrays and its time", async () => {
  const buffers = [new Float32Array([0.25, 0.75, 1, 0]), new Float32Array([]), new Float32Array([3.5])];
  const meta = JSON.stringify({ ok: true, text: "émoji 🙂 <b>" });
  const back = kept.unpack(await kept.pack(meta, buffers, 12.5).arrayBuffer());
  assert.equal(back.meta, meta);
  assert.equal(back.ms, 12.5);
  assert.deepEqual(back.buffers.map((b) => Array.from(b)), buffers.map((b) => Array.from(b)));
});

test("a cut or oversized answer is refused", async () => {
  const bytes = await kept.pack("{}", [new Float32Array(8)], 1).arrayBuffer();
  assert.throws(() => kept.unpack(bytes.slice(0, bytes.byteLength - 4)));
  assert.throws(() => kept.unpack(bytes.slice(0, 3)));
  assert.equal(kept.pack("{}", [new Float32Array(kept.MAX_ANSWER_BYTES / 4)], 1), null);
});

test("a widget's first answer is kept, and a later visit's same request draws from it without Python", async () => {
  const request = { text: "Kept between visits.", heads: 2 };
  const first = new AttnvizClient("./worker.js");
  const asked = first.run(request, "w1", null, currentPage());
  await until(() => ScriptedWorker.last.runs().length === 1);
  const [run] = ScriptedWorker.last.runs();
  assert.deepEqual(run.request, request, "nothing kept yet: the worker computes it");
  ScriptedWorker.last.answer(run.id, HEATMAP, [new Float32Array([1, 0, 0.5, 0.5])]);
  await asked;
  await until(() => cache() && cache().entries.size > 0);
  assert.equal(stores.has("attnviz-answers-an-older-build"), false, "another build's answers are deleted");

  const later = new AttnvizClient("./worker.js"); // a new tab: a new client and worker
  const result = await later.run({ ...request }, "w9", null, currentPage());
  assert.equal(result.kept, true);
  assert.equal(result.ms, 7);
  assert.deepEqual(Array.from(result.attention.self.weights.data), [1, 0, 0.5, 0.5]);
  assert.deepEqual(result.attention.self.weights.shape, [1, 2, 2]);
  assert.equal(ScriptedWorker.last.runs().length, 0, "the worker was never asked");
});

test("only a channel's first request on a page is kept, and never a failed one", async () => {
  const client = new AttnvizClient("./worker.js");
  const worker = ScriptedWorker.last;
  const before = (await cache().keys()).length;
  const refused = client.run({ text: "" }, "w2", null, currentPage());
  await until(() => worker.runs().length === 1);
  worker.answer(worker.runs()[0].id, { ok: false, error: { field: "text", message: "empty" } });
  await refused;
  const second = client.run({ text: "A change." }, "w2", null, currentPage());
  assert.equal(worker.runs().length, 2, "a widget's next request goes straight to the worker");
  worker.answer(worker.runs()[1].id, HEATMAP, [new Float32Array(4)]);
  await second;
  await settle();
  assert.equal((await cache().keys()).length, before);

  nextPage(); // another page: its widgets' first requests are kept again
  const next = client.run({ text: "A change." }, "w2", null, currentPage());
  await until(() => worker.runs().length === 3);
  assert.equal(worker.runs().length, 3, "not kept before, so computed");
  worker.answer(worker.runs()[2].id, HEATMAP, [new Float32Array(4)]);
  await next;
  await until(async () => (await cache().keys()).length === before + 1); // the first request on this page is kept
});

test("a slow store holds a first request only until Python is ready, and a moment more", async () => {
  const client = new AttnvizClient("./worker.js");
  const worker = ScriptedWorker.last;
  cache().slow = 2000;
  try {
    client.run({ text: "Slow store." }, "w3", null, currentPage());
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(worker.runs().length, 0, "Python is not ready: the lookup may take its time");
    worker.onmessage({ data: { type: "ready", loaded: 0, timings: {} } });
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(worker.runs().length, 0, "a moment more once it is ready");
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.equal(worker.runs().length, 1, "then the worker computes it");
  } finally {
    cache().slow = 0;
  }
});
