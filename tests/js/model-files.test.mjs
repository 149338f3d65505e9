// Unit tests of the worker's model files (site_js/model-files.js) against a scripted network and a
// Cache API whose look-ups take a while, as a browser's do: offline, the request's answer names the
// bytes still needed, and nothing is reported after it (a progress line would replace the error).
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";

const hex = (bytes) => createHash("sha256").update(bytes).digest("hex");
const CHUNKS = Array.from({ length: 6 }, (_, i) => ({ file: `w-${i}.bin`, bytes: 1000 + i, sha256: "0".repeat(64) }));
const MANIFEST = new TextEncoder().encode(JSON.stringify({ files: {}, tensors: {} }));
const ENTRY = { name: "m", label: "Model M", bundle: "m", manifest: `m/manifest.${hex(MANIFEST).slice(0, 12)}.json`,
  version: "1", base_bytes: 10 };

/** Requests for model files fail as a browser's do offline; the index and the manifest answer. */
globalThis.self = globalThis;
globalThis.navigator = { onLine: false };
globalThis.fetch = async (url) => {
  const u = String(url);
  if (u.endsWith("/models/index.json")) return new Response(JSON.stringify({ models: [ENTRY] }));
  if (u.endsWith(ENTRY.manifest)) return new Response(MANIFEST);
  throw new TypeError("Failed to fetch");
};
/** Each look-up answers later than the one before (none has the file). */
let lookups = 0;
const slowCache = {
  match: () => new Promise((resolve) => setTimeout(resolve, 5 * ++lookups)),
  put: async () => {},
  delete: async () => true,
};
globalThis.caches = { keys: async () => [], open: async () => slowCache, delete: async () => true, has: async () => false };

const { ensureModel } = await import("../../site_js/model-files.js");

const pyodide = {
  FS: { mkdirTree() {}, writeFile() {} },
  pyimport: () => ({ files_needed: () => JSON.stringify({ ok: true, files: CHUNKS }) }),
};

test("offline, the answer names the bytes these words need, and no download is announced after it", async () => {
  const reports = [];
  let answered = false;
  const how = { signal: new AbortController().signal, notice() {}, report: (p) => reports.push({ ...p, late: answered }) };
  await assert.rejects(ensureModel(pyodide, { model: "m", text: "new words" }, how).finally(() => { answered = true; }),
    (err) => /^Model M needs 6 kB more for these words, and you are offline\./.test(err.message));
  await new Promise((resolve) => setTimeout(resolve, 5 * (CHUNKS.length + 4))); // every look-up has answered
  assert.deepEqual(reports.filter((p) => p.late && !p.done), []);
});
