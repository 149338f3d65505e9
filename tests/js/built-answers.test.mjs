// The build's answers as kept-answers.js finds them: a request the build answered is fetched from
// answers/<hash>.bin, the browser's own kept answer goes first, and a build answer that cannot be
// fetched or read is none (the worker computes it). kept-answers.js is copied with its list filled
// in, as the build writes it (attnviz/mkdocs/hooks.py); the browser test is
// tests/e2e/test_built_answers.py.
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";

const source = new URL("../../site_js/", import.meta.url);
const original = await import(new URL("kept-answers.js", source).href);
const BUILT = { text: "built ahead" };
const ALSO_KEPT = { text: "kept here too" };
const UNREADABLE = { text: "cut short on the way" };
const NOT_BUILT = { text: "typed by the reader" };

const dir = mkdtempSync(join(tmpdir(), "built-answers-"));
const hashes = await Promise.all([BUILT, ALSO_KEPT, UNREADABLE].map(original.requestHash));
const code = readFileSync(new URL("kept-answers.js", source), "utf8").replace("/*__BUILT_ANSWERS__*/ []", JSON.stringify(hashes));
assert.notEqual(code, readFileSync(new URL("kept-answers.js", source), "utf8"), "the build's placeholder is where hooks.py looks");
writeFileSync(join(dir, "kept-answers.js"), code);
copyFileSync(new URL("download-resume.js", source), join(dir, "download-resume.js"));

/** One answer's bytes. @param {string} text */
const answerBytes = async (text) => original.pack(JSON.stringify({ ok: true, text }), [new Float32Array([0.5, 0.5])], 3).arrayBuffer();
const served = new Map([[hashes[0], await answerBytes("from the build")], [hashes[1], await answerBytes("from the build")],
  [hashes[2], (await answerBytes("cut"))].map((b) => b.slice(0, b.byteLength - 4))]);
/** @type {string[]} */
const fetched = [];
globalThis.fetch = async (url) => {
  fetched.push(String(url));
  const hash = String(url).match(/answers\/([0-9a-f]{64})\.bin$/)?.[1];
  return served.has(hash) ? new Response(served.get(hash)) : new Response("", { status: 404 });
};
const keptHere = new Map();
globalThis.self = globalThis;
globalThis.caches = {
  keys: async () => ["attnviz-answers-test"],
  open: async () => ({ match: async (url) => (keptHere.has(String(url)) ? new Response(keptHere.get(String(url))) : undefined),
    put: async () => {}, keys: async () => [], delete: async () => true }),
  delete: async () => true,
};
const kept = await import(pathToFileURL(join(dir, "kept-answers.js")).href);
keptHere.set(new URL(`__answers/${hashes[1]}`, pathToFileURL(join(dir, "kept-answers.js"))).href, await answerBytes("kept by this browser"));

test("a request the build answered is read from answers/, marked as the build's", async () => {
  const found = await kept.findAnswer(BUILT);
  assert.equal(JSON.parse(found.meta).text, "from the build");
  assert.equal(found.built, true);
  assert.deepEqual([...found.buffers[0]], [0.5, 0.5]);
  assert.ok(fetched.at(-1).endsWith(`/answers/${hashes[0]}.bin`), fetched.at(-1));
});

test("the browser's own kept answer goes first", async () => {
  const before = fetched.length;
  const found = await kept.findAnswer(ALSO_KEPT);
  assert.equal(JSON.parse(found.meta).text, "kept by this browser");
  assert.equal(found.built, undefined);
  assert.equal(fetched.length, before, "nothing fetched");
});

test("a request the build did not answer is never fetched; an unreadable answer is none", async () => {
  const before = fetched.length;
  assert.equal(await kept.findAnswer(NOT_BUILT), null);
  assert.equal(fetched.length, before);
  assert.equal(await kept.findAnswer(UNREADABLE), null);
  served.delete(hashes[0]); // a 404: the site lost it
  assert.equal(await kept.findAnswer(BUILT), null);
});
