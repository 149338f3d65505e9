// Unit tests of the client's prepared answers (site_js/client.js, site_js/page.js): a request of a
// page rehearsed off screen is computed only when the worker has nothing else to do, and its answer
// goes, once, to the first widget that asks the same; a real model's request is never prepared.
import assert from "node:assert/strict";
import { test } from "node:test";

/** A worker that records what it is sent and answers when the test says so. */
class ScriptedWorker {
  constructor() {
    /** @type {object[]} */
    this.sent = [];
    ScriptedWorker.last = this;
  }

  postMessage(message) { this.sent.push(message); }

  terminate() {}

  /** Answer the request with this id, as worker.js does. @param {number} id @param {object} body */
  answer(id, body) {
    this.onmessage({ data: { type: "result", id, meta: JSON.stringify({ ok: true, ...body }), buffers: [], ms: 1 } });
  }

  /** @returns {object[]} the run messages sent so far */
  runs() { return this.sent.filter((m) => m.type === "run"); }
}
globalThis.Worker = ScriptedWorker;

const { AttnvizClient, Superseded } = await import("../../site_js/client.js");
const { currentPage, rehearse } = await import("../../site_js/page.js");

const A = { text: "The cat sat.", heads: 8 };
const B = { text: "Dogs bark.", heads: 4 };

/** Let a widget's first request look for its kept answer (there is none here: no Cache API in Node). */
const lookedUp = () => new Promise((resolve) => setTimeout(resolve, 0));

/** @returns {{client: AttnvizClient, worker: ScriptedWorker}} */
function fresh() {
  const client = new AttnvizClient("./worker.js");
  return { client, worker: ScriptedWorker.last };
}

/** Mount "widgets" off screen that ask for these requests, as next-page.js does. */
function rehearseRequests(client, ...requests) {
  const refused = [];
  const end = rehearse(() => {
    for (const r of requests) client.run(r, "w").catch((e) => refused.push(e));
  });
  return { end, refused };
}

test("a rehearsed request is computed while idle and answers the first widget that asks it, once", async () => {
  const { client, worker } = fresh();
  const { end, refused } = rehearseRequests(client, A);
  await Promise.resolve();
  assert.equal(refused.length, 1);
  assert.ok(refused[0] instanceof Superseded, "the rehearsed widget itself gets no answer");
  end();
  const [sent] = worker.runs();
  assert.deepEqual(sent.request, A);
  worker.answer(sent.id, { tag: "prepared" });

  const first = await client.run({ ...A }, "w1", null, currentPage());
  assert.equal(first.tag, "prepared");
  assert.equal(worker.runs().length, 1, "answered without asking the worker again");

  const again = client.run({ ...A }, "w1", null, currentPage());
  assert.equal(worker.runs().length, 2, "a prepared answer is handed out once");
  worker.answer(worker.runs()[1].id, { tag: "computed" });
  assert.equal((await again).tag, "computed");
});

test("a widget asking while its prepared request is computing takes over that computation", async () => {
  const { client, worker } = fresh();
  rehearseRequests(client, A).end();
  const asked = client.run({ ...A }, "w1", null, currentPage());
  assert.equal(worker.runs().length, 1, "no second computation of the same request");
  worker.answer(worker.runs()[0].id, { tag: "prepared" });
  assert.equal((await asked).tag, "prepared");
});

test("the reader's own requests go before prepared ones", async () => {
  const { client, worker } = fresh();
  const own = client.run(B, "mine", null, currentPage());
  await lookedUp();
  rehearseRequests(client, A).end();
  assert.deepEqual(worker.runs().map((m) => m.request), [B], "the prepared request waits");
  worker.answer(worker.runs()[0].id, { tag: "own" });
  assert.equal((await own).tag, "own");
  assert.deepEqual(worker.runs().map((m) => m.request), [B, A], "then the idle worker prepares");
});

test("a real model's request is never prepared (its weights download on the reader's word)", async () => {
  const { client, worker } = fresh();
  rehearseRequests(client, { ...A, model: "minilm" }).end();
  await Promise.resolve();
  assert.equal(worker.runs().length, 0);
  assert.equal(client.prepared.size, 0);
});

test("a rehearsal's status subscriptions are not kept", () => {
  const { client } = fresh();
  let calls = 0;
  const end = rehearse(() => client.subscribe(() => calls++));
  end();
  assert.equal(calls, 1, "the status is given once");
  assert.equal(client.listeners.size, 0);
});

test("only the newest prepared answers are kept", () => {
  const { client, worker } = fresh();
  const requests = Array.from({ length: 20 }, (_, i) => ({ text: `t${i}`, heads: 2 }));
  rehearseRequests(client, ...requests).end();
  assert.ok(client.prepared.size <= 12, `${client.prepared.size} kept`);
  assert.ok(client.prepared.has(JSON.stringify(requests.at(-1))), "the newest is kept");
  assert.equal(worker.runs().length, 1, "one computation at a time");
});
