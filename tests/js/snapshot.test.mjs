// Memory snapshots (site_js/snapshot.js) under Node: the container and its checks, then a real
// snapshot of Pyodide with numpy and attnviz loaded, restored into a second runtime. Run by
// tests/sitecheck/test_state_js.py (`node --test tests/js/`); the restore needs the assembled runtime (build/runtime, from `make site`).
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";

import * as snapshot from "../../site_js/snapshot.js";

// The runtime the site serves, as the build assembles it (its own package.json keeps Pyodide CommonJS).
const RUNTIME = resolve(dirname(fileURLToPath(import.meta.url)), "../../build/runtime");
const sha256 = async (bytes) => Buffer.from(await crypto.subtle.digest("SHA-256", bytes)).toString("hex");

/** A description and memory that pass validate() for the build "b". */
async function valid(heap = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])) {
  const meta = { format: 1, build: "b", pyodide: snapshot.PYODIDE_VERSION, heapSha256: await sha256(heap),
    dynlibs: [], handles: [], sitePackages: "/sp", packages: {}, check: "c", blockedMs: 0 };
  return { meta, heap };
}

describe("the container", () => {
  test("pack and unpack round-trip, with the memory 16-byte aligned for Pyodide", async () => {
    const { meta, heap } = await valid();
    const bytes = snapshot.pack(meta, heap);
    const back = snapshot.unpack(bytes);
    assert.deepEqual(back.meta, meta);
    assert.deepEqual(Array.from(back.heap), Array.from(heap));
    assert.equal(back.heap.byteOffset % 16, 0);
  });

  test("truncated, foreign or damaged bytes are refused with a reason", async () => {
    const { meta, heap } = await valid();
    const bytes = snapshot.pack(meta, heap);
    assert.throws(() => snapshot.unpack(bytes.subarray(0, 4)), /truncated/);
    assert.throws(() => snapshot.unpack(bytes.subarray(0, 20)), /truncated/);
    const foreign = bytes.slice();
    foreign[0] ^= 0xff;
    assert.throws(() => snapshot.unpack(foreign), /no valid header/);
    const damaged = bytes.slice();
    damaged[8] = 0x7b; // "{" then garbage
    damaged[9] = 0x7b;
    assert.throws(() => snapshot.unpack(damaged), /description is damaged/);
  });
});

describe("validate", () => {
  test("accepts this build's snapshot as it was stored", async () => {
    const { meta, heap } = await valid();
    await snapshot.validate(meta, heap, "b");
  });

  test("refuses another build, another Pyodide, another format and changed bytes", async () => {
    const { meta, heap } = await valid();
    await assert.rejects(snapshot.validate(meta, heap, "other"), /another build/);
    await assert.rejects(snapshot.validate({ ...meta, pyodide: "0.27.6" }, heap, "b"), /Pyodide 0\.27\.7/);
    await assert.rejects(snapshot.validate({ ...meta, format: 2 }, heap, "b"), /format/);
    const flipped = heap.slice();
    flipped[3] ^= 1;
    await assert.rejects(snapshot.validate(meta, flipped, "b"), /damaged/);
  });

  test("the taker takes the snapshot once the worker has been idle after booting, or after its last request", async () => {
    const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
    /** Records when it would take a snapshot (the copy itself needs a real runtime: below). */
    class Recording extends snapshot.SnapshotTaker {
      take() { this.taken = (this.taken || 0) + 1; }
    }
    const idle = new Recording(() => {});
    idle.arm({}, [], () => {}); // every widget drew from the build's answers: no request comes
    const asked = new Recording(() => {});
    asked.arm({}, [], () => {});
    asked.requestStarted(); // the reader's request, before the worker was idle for long
    await pause(1300);
    assert.equal(idle.taken, 1, "taken once the booted worker had been idle");
    assert.equal(asked.taken, undefined, "not while a request runs");
    asked.requestFinished();
    await pause(1300);
    assert.equal(asked.taken, 1, "taken once idle after the request");
  });

  test("checkVersion knows exactly one Pyodide", () => {
    snapshot.checkVersion("0.27.7");
    for (const other of ["0.27.6", "0.28.0", "0.27.7.dev0", ""]) assert.throws(() => snapshot.checkVersion(other), /0\.27\.7/);
  });
});

describe("a real snapshot", { skip: existsSync(join(RUNTIME, "pyodide.mjs")) ? false : "the runtime is not assembled (make site)" }, () => {
  test("a restored runtime answers as the booted one did, and draws new random numbers", async () => {
    const { loadPyodide } = await import(join(RUNTIME, "pyodide.mjs"));
    const lock = JSON.parse(readFileSync(join(RUNTIME, "pyodide-lock.json"), "utf8"));
    const wheel = async (name) => new Uint8Array(readFileSync(join(RUNTIME, lock.packages[name].file_name)));
    const answer = (handle, request) => {
      const out = handle(JSON.stringify(request));
      const meta = JSON.parse(out.get(0));
      const arrays = out.get(1);
      const weights = arrays.get(meta.attention.self.weights.$array).toJs();
      out.destroy();
      return { tokens: meta.tokens, weights: Array.from(weights) };
    };
    // A request the snapshot has never seen, so the restored runtime must compute it.
    const request = { text: "A revisit computes this sentence for the first time.", heads: 3, seed: 7, head: 2 };

    const booted = await loadPyodide({ indexURL: RUNTIME + "/", _makeSnapshot: true });
    const dynlibs = snapshot.recordDynlibs(booted);
    await booted.loadPackage(["numpy", "attnviz"], { messageCallback: () => {} });
    assert.ok(dynlibs.length > 10 && dynlibs.every((d) => d.handle && d.memoryBase), "numpy's libraries were recorded");
    const bootedHandle = booted.pyimport("attnviz.bridge").handle;
    answer(bootedHandle, { text: "The first heatmap.", heads: 4 });
    const bytes = await snapshot.takeSnapshot(booted, dynlibs, bootedHandle);
    const expected = answer(bootedHandle, request);

    const draws = [];
    for (let i = 0; i < 2; i++) {
      const { pyodide, handle, unpackRest } = await snapshot.restoreSnapshot(loadPyodide, { indexURL: RUNTIME + "/" },
        bytes, wheel, snapshot.BUILD_HASH);
      const written = () => pyodide.runPython("import os, numpy; os.path.isdir(os.path.join(os.path.dirname(numpy.__file__), 'polynomial'))");
      assert.equal(written(), false, "only numpy's libraries are written before the first answer");
      assert.deepEqual(answer(handle, request), expected);
      assert.equal(pyodide.runPython("import sys; 'numpy.polynomial' in sys.modules"), false);
      if (i === 1) unpackRest(); // as the worker does once the first request is answered
      // A part of numpy imported for the first time loads from the wheel's files: on the first
      // run they are written by the import that misses them. The collector runs safely.
      assert.equal(pyodide.runPython("import gc, numpy.polynomial; gc.collect(); float(numpy.polynomial.Polynomial([1.0, 2.0])(1.0))"), 3);
      assert.equal(pyodide.runPython("import numpy.fft; float(numpy.fft.fft([1.0, 2.0]).real[0])"), 3);
      assert.equal(written(), true);
      unpackRest(); // a second time does nothing
      draws.push(pyodide.runPython("import random, numpy; (random.random(), float(numpy.random.random()))").toJs());
    }
    assert.notDeepEqual(draws[0], draws[1], "two restores drew the same random numbers");
  });

  test("a snapshot taken as a model is about to load leaves its check for when the worker is idle", async () => {
    const { loadPyodide } = await import(join(RUNTIME, "pyodide.mjs"));
    const booted = await loadPyodide({ indexURL: RUNTIME + "/", _makeSnapshot: true });
    const dynlibs = snapshot.recordDynlibs(booted);
    await booted.loadPackage(["numpy", "attnviz"], { messageCallback: () => {} });
    const handle = booted.pyimport("attnviz.bridge").handle;
    const checks = [];
    const counted = (json) => { checks.push(JSON.parse(json)); return handle(json); };
    const reports = [];
    globalThis.self ??= globalThis; // the worker's global; Node has no Cache API, so nothing is stored
    const stored = new Promise((resolve) => {
      const taker = new snapshot.SnapshotTaker((r) => { reports.push(r); resolve(); });
      taker.arm(booted, dynlibs, counted);
      taker.requestStarted(); // the request that will load the model
      taker.beforeModelLoads();
      assert.equal(checks.length, 0, "the request waits for the copy, not for the check too");
      taker.requestStarted(); // a second request: still not idle
      taker.requestFinished();
      setTimeout(() => {
        assert.equal(checks.length, 0, "no check while a request runs");
        taker.requestFinished();
      }, 1500);
    });
    await stored;
    assert.deepEqual(checks, [snapshot.CHECK_REQUEST], "checked once, when idle");
    assert.equal(reports.length, 1);
    assert.ok(reports[0].bytes > 20 * 2 ** 20 && !reports[0].error, JSON.stringify(reports[0]));
  });
});
