// Unit tests of the files the page hands the worker while Python boots (site_js/prefetch.js ->
// site_js/model-files.js): the manifest comes from the page, not the network; a file the page
// hashed is used without hashing it again; a file whose page hash is not the manifest's is
// downloaded again (a damaged copy is never used); a Cancel that came first is not lost.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";

const hex = (bytes) => createHash("sha256").update(bytes).digest("hex");
const encode = (value) => new TextEncoder().encode(JSON.stringify(value));

/** A model of one base file, under two names (each test its own, as the worker remembers a model). */
function model(name) {
  const part = new Uint8Array(4096).map((_, i) => (i * 7 + name.length) % 251);
  const manifest = encode({ files: { part0: { file: `part0.${name}.bin`, bytes: part.length, sha256: hex(part) } }, tensors: {} });
  const entry = { name, label: `Model ${name}`, bundle: name, manifest: `${name}/manifest.${hex(manifest).slice(0, 12)}.json`,
    version: "1", base_bytes: part.length };
  return { part, manifest, entry };
}
const GOOD = model("good");
const DAMAGED = model("damaged");
const CANCELLED = model("cancelled");

/** The network: what was asked of it, and the files it can serve. */
const asked = [];
globalThis.self = globalThis;
globalThis.navigator = { onLine: true };
globalThis.fetch = async (url) => {
  const u = String(url);
  asked.push(u.split("/models/")[1]);
  if (u.endsWith("/models/index.json")) return new Response(JSON.stringify({ models: [GOOD.entry, DAMAGED.entry, CANCELLED.entry] }));
  for (const m of [GOOD, DAMAGED, CANCELLED]) {
    if (u.endsWith(m.entry.manifest)) return new Response(m.manifest);
    if (u.endsWith(`part0.${m.entry.name}.bin`)) return new Response(m.part, { headers: { "Content-Length": String(m.part.length) } });
  }
  return new Response("", { status: 404 });
};
const emptyCache = { match: async () => undefined, put: async () => {}, delete: async () => true };
globalThis.caches = { keys: async () => [], open: async () => emptyCache, delete: async () => true, has: async () => false };
/** Hashes of files the size of a base file (the manifest's own check is small, and allowed). */
let fileHashes = 0;
const digest = crypto.subtle.digest.bind(crypto.subtle);
crypto.subtle.digest = (algorithm, data) => {
  if (data.byteLength === 4096) fileHashes++;
  return digest(algorithm, data);
};

const { ensureModel, expectFiles, receiveFile } = await import("../../site_js/model-files.js");
const { DownloadCancelled } = await import("../../site_js/download-resume.js");
const MODELS = new URL("../models/", new URL("../../site_js/model-files.js", import.meta.url)).href; // as model-files.js names them

/** A Pyodide whose file system records what is written; the request needs no more files. */
function fakePyodide() {
  const written = new Map();
  return { written, FS: { mkdirTree() {}, writeFile: (path, bytes) => written.set(path, new Uint8Array(bytes)) },
    pyimport: () => ({ files_needed: () => JSON.stringify({ ok: true, files: [] }) }) };
}
const how = () => ({ signal: new AbortController().signal, notice() {}, report() {} });

/** The page's prefetch of a model: the manifest and the base file, hashed (or claimed) by the page. */
function handOver(m, pageHash) {
  const manifestURL = MODELS + m.entry.manifest;
  const partURL = `${MODELS}${m.entry.bundle}/part0.${m.entry.name}.bin`;
  expectFiles([manifestURL, partURL]);
  receiveFile(manifestURL, m.manifest.slice().buffer);
  receiveFile(partURL, m.part.slice().buffer, pageHash);
}

test("the page's manifest and its hashed file are used as they come: no download, no second hash", async () => {
  asked.length = 0;
  fileHashes = 0;
  handOver(GOOD, hex(GOOD.part));
  const pyodide = fakePyodide();
  assert.equal(await ensureModel(pyodide, { model: "good", text: "words" }, how()), null);
  assert.deepEqual(asked.filter((u) => u !== "index.json"), [], "nothing of the model was downloaded");
  assert.equal(fileHashes, 0, "the worker did not hash the page's file again");
  assert.deepEqual(pyodide.written.get("/models/good/part0.good.bin"), GOOD.part);
});

test("a file whose page hash is not the manifest's is downloaded and checked here", async () => {
  asked.length = 0;
  handOver(DAMAGED, "0".repeat(64));
  const pyodide = fakePyodide();
  assert.equal(await ensureModel(pyodide, { model: "damaged", text: "words" }, how()), null);
  assert.deepEqual(asked.filter((u) => u !== "index.json"), ["damaged/part0.damaged.bin"]);
  assert.deepEqual(pyodide.written.get("/models/damaged/part0.damaged.bin"), DAMAGED.part);
});

test("a request cancelled before its download began is answered as cancelled, and downloads nothing", async () => {
  const pyodide = fakePyodide();
  assert.equal(await ensureModel(pyodide, { model: "cancelled", text: "words" }, how()), null); // the model is here
  asked.length = 0;
  const chunk = { file: "rows-000.cancelled.bin", bytes: 16, sha256: "0".repeat(64) };
  pyodide.pyimport = () => ({ files_needed: () => JSON.stringify({ ok: true, files: [chunk] }) }); // new words
  const cancel = new AbortController();
  cancel.abort(); // the reader's Cancel came while the request waited (Python booting, a snapshot)
  await assert.rejects(ensureModel(pyodide, { model: "cancelled", text: "new words" }, { ...how(), signal: cancel.signal }),
    DownloadCancelled);
  assert.deepEqual(asked, [], "nothing was downloaded after the Cancel");
});
