/**
 * Revisits from a memory snapshot: a first visit keeps a copy of Python's memory (numpy and
 * attnviz imported) in the Cache API, and a later visit restores it instead of booting Python
 * and importing numpy again (about half the time to the first heatmap).
 *
 * Stock Pyodide refuses a snapshot once numpy's shared libraries are loaded: the libraries'
 * WebAssembly instances live outside the memory a snapshot copies. This module works around it,
 * and leans on Pyodide 0.27.7's internals to do so (so it refuses any other version):
 * - loadPyodide's `_makeSnapshot` / `_loadSnapshot` options and `pyodide.makeMemorySnapshot()`;
 * - Emscripten's `Module.loadDynamicLibrary(name, flags, localScope, handle)` (what Pyodide's
 *   dynlib loader calls) and the handle layout its `loadWebAssemblyModule` reads: byte 8 "loaded",
 *   u32 12 memory base, 16 memory size, 20 table base, 24 table size. Given a handle already
 *   marked loaded, it instantiates the library at the same memory and table addresses;
 * - `Module.LDSO.loadedLibsByName` / `loadedLibsByHandle` (the JavaScript half of dlopen).
 * While loading, every library gets such a handle (kept in Python's memory, so in the snapshot);
 * after a restore, the same `.so` bytes are instantiated again in the same order at the same
 * addresses, and their data sections are copied back from the snapshot (instantiating rewrites
 * them with their initial values). The garbage collector stays off from before the snapshot until
 * the libraries are back: a collection would call into numpy's code while it is missing.
 *
 * Every restore is checked: the snapshot's checksum, the build it was taken from, Pyodide's
 * version, then a small attention request whose answer was recorded when the snapshot was taken.
 * Any failure throws, and the worker boots the normal way.
 *
 * Python's files live outside its memory. A restore needs only numpy's libraries at once (read
 * out of the wheels in memory, zip.js); the wheels' other files are written when an import first
 * finds nothing, or once the first request has been answered (the caller's `unpackRest`).
 */
import { sha256 } from "./download-resume.js";
import { zipEntries, zipRead } from "./zip.js";

/** The one Pyodide version whose internals this module knows. */
export const PYODIDE_VERSION = "0.27.7";
/** Hash of the runtime files, the attnviz wheel and this module: the build writes it in. */
export const BUILD_HASH = "__SNAPSHOT_BUILD__";
const CACHE_NAME = "attnviz-snapshot";
/** Snapshots of a bigger Python heap are not kept (a page that loaded a real model's weights). */
export const MAX_HEAP_BYTES = 96 * 2 ** 20;
const FORMAT = 1;
const MAGIC = 0x31706e73; // "snp1", little-endian: our container around Pyodide's snapshot
// Emscripten's dlopen handle (struct dso): offsets loadWebAssemblyModule reads and writes.
const HANDLE_BYTES = 40;
const LOADED = 8;
const MEMORY_BASE = 12;
const MEMORY_SIZE = 16;
const TABLE_BASE = 20;
/** Where Pyodide's JS reference table holds `pyodide.loadedPackages` (its getExpectedKeys). */
const LOADED_PACKAGES_REF = 6;

/** The request whose answer every restore must reproduce: small, seeded, every step of a head. */
export const CHECK_REQUEST = Object.freeze({ text: "Snapshots keep every weight.", heads: 2, seed: 20260518,
  causal: true, intermediates: true, head: 1 });

/**
 * @typedef {{name: string, global: boolean, handle: number, memoryBase: number, memorySize: number,
 *            tableBase: number}} DynlibRecord
 * @typedef {{format: number, build: string, pyodide: string, heapSha256: string, dynlibs: DynlibRecord[],
 *            handles: [number, string][], sitePackages: string, packages: Record<string, string>,
 *            check: string, blockedMs: number}} SnapshotMeta
 */

/** Refuse every Pyodide but the one this module was written against. @param {string} version */
export function checkVersion(version) {
  if (version !== PYODIDE_VERSION) {
    throw new Error(`memory snapshots need Pyodide ${PYODIDE_VERSION}, this is ${version}`);
  }
}

/**
 * Give every shared library Pyodide loads from now on a dlopen handle, so its addresses are in
 * Python's memory and a restore can put it back in the same place. Call before loadPackage.
 * @param {any} pyodide a runtime started with `_makeSnapshot: true`
 * @returns {DynlibRecord[]} filled in as libraries load, in load order
 */
export function recordDynlibs(pyodide) {
  checkVersion(pyodide.version);
  const Module = pyodide._module;
  const load = Module.loadDynamicLibrary;
  /** @type {DynlibRecord[]} */
  const records = [];
  Module.loadDynamicLibrary = (name, flags, localScope, handle) => {
    if (handle || Module.LDSO.loadedLibsByName[name]) return load(name, flags, localScope, handle);
    // Zeroed, so Emscripten allocates as usual and writes the addresses it chose into it.
    const own = Module._calloc(1, HANDLE_BYTES);
    const record = { name, global: Boolean(flags && flags.global), handle: own, memoryBase: 0, memorySize: 0, tableBase: 0 };
    records.push(record);
    const done = () => {
      record.memoryBase = Module.HEAPU32[(own + MEMORY_BASE) >> 2];
      record.memorySize = Module.HEAPU32[(own + MEMORY_SIZE) >> 2];
      record.tableBase = Module.HEAPU32[(own + TABLE_BASE) >> 2];
    };
    const result = load(name, flags, localScope, own);
    if (result && typeof result.then === "function") return result.then((r) => { done(); return r; });
    done();
    return result;
  };
  return records;
}

/**
 * A request's full answer as bytes: its JSON (without timings) and every array's bytes.
 * Synchronous, so nothing else runs in Python meanwhile.
 * @param {Function} handle attnviz.bridge.handle @param {object} request @returns {Uint8Array}
 */
function answerBytes(handle, request) {
  const out = handle(JSON.stringify(request));
  try {
    const meta = JSON.parse(out.get(0));
    if (!meta.ok) throw new Error("the check request was refused");
    delete meta.timings; // how long it took is the one part of an answer that may differ
    const arrays = out.get(1);
    const parts = [new TextEncoder().encode(JSON.stringify(meta))];
    for (let i = 0; i < arrays.length; i++) {
      const array = arrays.get(i);
      const view = array.getBuffer("u8");
      parts.push(view.data.slice());
      view.release();
      array.destroy();
    }
    arrays.destroy();
    const joined = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    parts.reduce((at, p) => { joined.set(p, at); return at + p.length; }, 0);
    return joined;
  } finally {
    out.destroy();
  }
}

/**
 * @typedef {{heap: Uint8Array, copyMs: number, dynlibs: DynlibRecord[], handles: [number, string][],
 *   sitePackages: string, packages: object, version: string}} Capture
 *   a copy of Python's memory and what a restore needs to know about it, before any hashing
 */

/**
 * Copy the memory of a runtime booted with `_makeSnapshot: true` and `recordDynlibs`: one
 * synchronous step. CHECK_REQUEST's answer, which goes into the snapshot's description, is
 * computed apart (checkAnswer), when the worker is idle: a request waiting for this copy (a
 * model about to load) does not wait for the check too (~100 ms of a first visit).
 * @param {any} pyodide @param {DynlibRecord[]} dynlibs
 * @returns {Capture}
 */
function captureSnapshot(pyodide, dynlibs) {
  checkVersion(pyodide.version);
  const Module = pyodide._module;
  if (Module.HEAP8.length > MAX_HEAP_BYTES) {
    throw new Error(`Python's memory is ${Module.HEAP8.length} bytes: too big to keep`);
  }
  // Pyodide expects its record of loaded packages (an entry of its JS reference table) empty.
  if (Module.__hiwire_get(LOADED_PACKAGES_REF) !== pyodide.loadedPackages) {
    throw new Error("Pyodide's reference table is not laid out as expected");
  }
  const t0 = performance.now();
  // The reader's last forward pass stays out of the snapshot (and the check recomputes after a
  // restore); the collector stays off until a restore has numpy's code back.
  pyodide.runPython("import gc, attnviz.api\nattnviz.api.forget()\ngc.disable()");
  const packages = { ...pyodide.loadedPackages };
  for (const name of Object.keys(packages)) delete pyodide.loadedPackages[name];
  let heap;
  try {
    heap = pyodide.makeMemorySnapshot();
  } finally {
    Object.assign(pyodide.loadedPackages, packages);
    pyodide.runPython("import gc\ngc.enable()");
  }
  const copyMs = performance.now() - t0;
  const handles = Object.entries(Module.LDSO.loadedLibsByHandle)
    .filter(([h]) => Number(h) !== 0)
    .map(([h, dso]) => [Number(h), dso.name]);
  const sitePackages = pyodide.runPython("import site; site.getsitepackages()[0]");
  return { heap, copyMs, dynlibs: dynlibs.map((d) => ({ ...d })), handles, sitePackages, packages,
    version: pyodide.version };
}

/**
 * CHECK_REQUEST's answer from the runtime a capture was taken of (any time after it: the
 * answer depends on the request alone, which is seeded). Synchronous.
 * @param {Function} handle attnviz.bridge.handle @returns {{check: Uint8Array, checkMs: number}}
 */
function checkAnswer(handle) {
  const t0 = performance.now();
  const check = answerBytes(handle, CHECK_REQUEST);
  return { check, checkMs: performance.now() - t0 };
}

/**
 * The container to store for a capture: header, description (with the checksums), Pyodide's
 * snapshot. Python may run meanwhile: the capture is a copy.
 * @param {Capture} capture @param {{check: Uint8Array, checkMs: number}} checked its checkAnswer
 * @returns {Promise<Uint8Array>}
 */
async function packSnapshot(capture, { check, checkMs }) {
  const { heap, copyMs, dynlibs, handles, sitePackages, packages, version } = capture;
  /** @type {SnapshotMeta} */
  const meta = { format: FORMAT, build: BUILD_HASH, pyodide: version, heapSha256: await sha256(heap),
    dynlibs, handles, sitePackages, packages, check: await sha256(check),
    blockedMs: Math.round(Math.max(checkMs, copyMs)) };
  return pack(meta, heap);
}

/**
 * Capture, check and pack a snapshot at once (see captureSnapshot and checkAnswer).
 * @param {any} pyodide @param {DynlibRecord[]} dynlibs @param {Function} handle
 * @returns {Promise<Uint8Array>} the container to store
 */
export async function takeSnapshot(pyodide, dynlibs, handle) {
  const capture = captureSnapshot(pyodide, dynlibs);
  return packSnapshot(capture, checkAnswer(handle));
}

/** @param {SnapshotMeta} meta @param {Uint8Array} heap @returns {Uint8Array} */
export function pack(meta, heap) {
  const json = new TextEncoder().encode(JSON.stringify(meta));
  const offset = Math.ceil((8 + json.length) / 16) * 16; // Pyodide reads its snapshot as 32-bit words
  const out = new Uint8Array(offset + heap.length);
  const header = new DataView(out.buffer);
  header.setUint32(0, MAGIC, true);
  header.setUint32(4, json.length, true);
  out.set(json, 8);
  out.set(heap, offset);
  return out;
}

/** @param {Uint8Array} bytes @returns {{meta: SnapshotMeta, heap: Uint8Array}} */
export function unpack(bytes) {
  if (bytes.length < 8) throw new Error("the snapshot is truncated");
  const header = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (header.getUint32(0, true) !== MAGIC) throw new Error("the snapshot has no valid header");
  const length = header.getUint32(4, true);
  if (8 + length > bytes.length) throw new Error("the snapshot is truncated");
  let meta;
  try {
    meta = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length)));
  } catch {
    throw new Error("the snapshot's description is damaged");
  }
  return { meta, heap: bytes.subarray(Math.ceil((8 + length) / 16) * 16) };
}

/**
 * Check a snapshot's description and bytes against this build before any of it is used.
 * @param {SnapshotMeta} meta @param {Uint8Array} heap @param {string} build
 */
export async function validate(meta, heap, build) {
  if (meta.format !== FORMAT) throw new Error(`snapshot format ${meta.format} is not ${FORMAT}`);
  if (meta.build !== build) throw new Error("the snapshot was taken from another build");
  checkVersion(meta.pyodide);
  if ((await sha256(heap)) !== meta.heapSha256) throw new Error("the snapshot's bytes are damaged");
}

/**
 * Start Pyodide from a snapshot, put numpy's libraries and the packages' files back, and check
 * the known answer. Throws on any failure; the caller then boots the normal way.
 * @param {Function} loadPyodide @param {object} options loadPyodide's options (indexURL, lockFileURL)
 * @param {Uint8Array|Promise<Uint8Array>} bytes the stored container (Pyodide fetches and loads its
 *   own files while a promised one is read and checked)
 * @param {(name: string) => Promise<ArrayBuffer>} wheel the bytes of a package's wheel, by package name
 * @param {string} [build] the build the snapshot must come from
 * @returns {Promise<{pyodide: any, handle: Function, unpackRest: () => void}>} unpackRest writes
 *   the wheels' files not written yet (call it once the first request is answered)
 */
export async function restoreSnapshot(loadPyodide, options, bytes, wheel, build = BUILD_HASH) {
  const opened = Promise.resolve(bytes).then(async (container) => {
    const { meta, heap } = unpack(container);
    await validate(meta, heap, build);
    return { meta, heap };
  });
  // The wheels download, and numpy's libraries are read out of them, while Pyodide starts.
  const wheels = opened.then(({ meta }) => Promise.all(Object.keys(meta.packages).map(wheel)));
  const libraries = Promise.all([opened, wheels]).then(([{ meta }, buffers]) => librariesOf(meta, buffers));
  libraries.catch(() => {}); // a failure is thrown below, where it is awaited
  const pyodide = await loadPyodide({ ...options, _loadSnapshot: opened.then(({ heap }) => heap) });
  const { meta, heap } = await opened;
  checkVersion(pyodide.version);
  const Module = pyodide._module;
  let buffers = await wheels; // until their files are written
  const libs = await libraries;
  /** Write the wheels' files into the file system (once; true the first time). */
  const unpackWheels = () => {
    if (!buffers) return false;
    const todo = buffers;
    buffers = null;
    for (const buffer of todo) pyodide.unpackArchive(buffer, "wheel", { extractDir: meta.sitePackages });
    return true;
  };
  if (!libs) unpackWheels(); // a library outside the wheels: every file now, as a normal boot has them
  // Pyodide's snapshot: its own header, then the memory (the header's second word is the offset).
  const memory = heap.subarray(new DataView(heap.buffer, heap.byteOffset, 8).getUint32(4, true));
  const fs = libs && buffers
    ? { findObject: (p) => libs.has(p), readFile: (p) => libs.get(p) }
    : { findObject: (p) => Module.FS.findObject(p), readFile: (p, o) => Module.FS.readFile(p, o) };
  for (const lib of meta.dynlibs) {
    if (!Module.HEAPU8[lib.handle + LOADED]) throw new Error(`the snapshot does not know where ${lib.name} goes`);
    // Functions the libraries export get table slots as they load: the same order fills the same slots.
    if (Module.wasmTable.length !== lib.tableBase) throw new Error(`${lib.name} would not get its function table slots back`);
    await Module.loadDynamicLibrary(lib.name, { loadAsync: true, nodelete: true, allowUndefined: true, global: lib.global, fs },
      lib.global ? null : {}, lib.handle);
    // Instantiating wrote the library's initial data over the state the snapshot kept.
    Module.HEAPU8.set(memory.subarray(lib.memoryBase, lib.memoryBase + lib.memorySize), lib.memoryBase);
    const base = Module.PATH.basename(lib.name);
    Module.LDSO.loadedLibsByName[base] ||= Module.LDSO.loadedLibsByName[lib.name];
  }
  for (const [h, name] of meta.handles) {
    const dso = Module.LDSO.loadedLibsByName[name];
    if (!dso) throw new Error(`the snapshot refers to a library it did not load (${name})`);
    Module.LDSO.loadedLibsByHandle[h] = dso;
  }
  Object.assign(pyodide.loadedPackages, meta.packages);
  Module.__hiwire_set(LOADED_PACKAGES_REF, pyodide.loadedPackages); // a restore puts an empty object there
  const unpackRest = buffers ? writeFilesOnMiss(pyodide, unpackWheels) : () => {};
  // A restored runtime would draw the same "random" numbers on every visit: reseed.
  pyodide.runPython("import gc, random\nrandom.seed()\nimport numpy\nnumpy.random.seed()\ngc.enable()");
  const handle = pyodide.pyimport("attnviz.bridge").handle;
  const answer = await sha256(answerBytes(handle, CHECK_REQUEST));
  if (answer !== meta.check) throw new Error("the restored runtime gave a different answer to the check request");
  pyodide.runPython("import attnviz.api\nattnviz.api.forget()");
  return { pyodide, handle, unpackRest };
}

/**
 * numpy's libraries a restore loads, read out of the wheels: path -> bytes, or null when one of
 * them is not in a wheel.
 * @param {SnapshotMeta} meta @param {ArrayBuffer[]} buffers @returns {Promise<Map<string, Uint8Array>|null>}
 */
async function librariesOf(meta, buffers) {
  const wheels = buffers.map((b) => (b instanceof Uint8Array ? b : new Uint8Array(b)))
    .map((zip) => ({ zip, entries: zipEntries(zip) }));
  const libs = new Map();
  for (const { name } of meta.dynlibs) {
    const inside = name.startsWith(`${meta.sitePackages}/`) ? name.slice(meta.sitePackages.length + 1) : null;
    const wheel = inside && wheels.find((w) => w.entries.has(inside));
    if (!wheel) return null;
    libs.set(name, zipRead(wheel.zip, wheel.entries.get(inside)));
  }
  for (const [name, bytes] of libs) libs.set(name, await bytes);
  return libs;
}

/**
 * Until the wheels' files are written, an import that nothing else finds writes them, then looks
 * again. Returns the function that writes them (once) and takes the finder away.
 * @param {any} pyodide @param {() => boolean} unpackWheels @returns {() => void}
 */
function writeFilesOnMiss(pyodide, unpackWheels) {
  const scope = pyodide.globals.get("dict")(); // its own namespace, not the main module's
  const install = pyodide.runPython(`
import importlib, importlib.abc, importlib.machinery, sys

class WriteFilesOnMiss(importlib.abc.MetaPathFinder):
    def __init__(self, unpack_wheels):
        self.unpack_wheels = unpack_wheels

    def write_files(self):
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        written = self.unpack_wheels()
        importlib.invalidate_caches()
        return written

    def find_spec(self, name, path, target=None):
        if not self.write_files():
            return None
        return importlib.machinery.PathFinder.find_spec(name, path, target)

def install(unpack_wheels):
    finder = WriteFilesOnMiss(unpack_wheels)
    sys.meta_path.append(finder)
    return finder.write_files

install`, { globals: scope });
  const writeFiles = install(unpackWheels);
  install.destroy();
  scope.destroy();
  let done = false;
  return () => {
    if (done) return;
    done = true;
    writeFiles();
    writeFiles.destroy();
  };
}

/** @returns {Promise<Cache|null>} */
async function openCache() {
  return self.caches ? caches.open(CACHE_NAME).catch(() => null) : null;
}

/** The key a build's snapshot is stored under. @param {string} build */
function keyFor(build) {
  return new URL(`snapshot/${build}`, import.meta.url).href; // the same from the page and the worker
}

/** @param {string} [build] @returns {Promise<Response|null>} this build's snapshot, if kept, unread */
async function findStored(build = BUILD_HASH) {
  const cache = await openCache();
  return (cache && (await cache.match(keyFor(build)))) || null;
}

/** @param {string} [build] @returns {Promise<Uint8Array|null>} this build's snapshot, if kept */
export async function loadStored(build = BUILD_HASH) {
  const stored = await findStored(build);
  return stored ? new Uint8Array(await stored.arrayBuffer()) : null;
}

/** Keep this build's snapshot; drop every other build's. @param {Uint8Array} bytes @param {string} [build] */
export async function store(bytes, build = BUILD_HASH) {
  const cache = await openCache();
  if (!cache) return;
  for (const request of await cache.keys()) {
    if (request.url !== keyFor(build)) await cache.delete(request);
  }
  await cache.put(keyFor(build), new Response(bytes, { headers: { "Content-Type": "application/octet-stream" } }));
}

/** Forget a snapshot that failed. @param {string} [build] */
export async function discard(build = BUILD_HASH) {
  const cache = await openCache();
  if (cache) await cache.delete(keyFor(build));
}

/**
 * Start from this build's stored snapshot. Any failure discards the snapshot and says why; the
 * caller then boots the normal way (and may take a new snapshot).
 * @param {Function} loadPyodide @param {object} options @param {(name: string) => Promise<ArrayBuffer>} wheel
 * @returns {Promise<{runtime: {pyodide: any, handle: Function, unpackRest: () => void} | null, outcome: string}>}
 */
export async function restoreStored(loadPyodide, options, wheel) {
  let stored = null;
  try {
    stored = await findStored();
  } catch (err) {
    return { runtime: null, outcome: `unreadable: ${err.message}` };
  }
  if (!stored) return { runtime: null, outcome: "none" };
  // Read while Pyodide starts: most of the wait for 36 MB from the Cache API is hidden.
  const bytes = stored.arrayBuffer().then((buffer) => new Uint8Array(buffer));
  try {
    return { runtime: await restoreSnapshot(loadPyodide, options, bytes, wheel), outcome: "restored" };
  } catch (err) {
    const reason = err && err.message ? err.message : String(err);
    console.warn(`attnviz: the memory snapshot was not used (${reason}); starting Python the normal way.`);
    await discard().catch(() => {});
    return { runtime: null, outcome: `failed: ${reason}` };
  }
}

/** How long the worker waits, without a request, after a result before it takes the snapshot. */
const IDLE_MS = 1000;

/**
 * Takes this build's snapshot once, when the worker has had no request for IDLE_MS after a result
 * or after booting (a page whose widgets all drew from the build's answers asks nothing; the page
 * has long painted by then), or just before a request loads a model's weights into
 * Python's memory (a page that opens with a real model, like the home page): past that the heap
 * is too big to keep, and meanwhile the weights are still on their way. The copy is taken then;
 * the check request's answer, when the worker is next idle, and only then is the snapshot stored.
 * A runtime that cannot answer the check request (a crashed one) stores none.
 */
export class SnapshotTaker {
  /** @param {(report: {bytes?: number, ms?: number, blockedMs?: number, error?: string}) => void} report */
  constructor(report) {
    this.report = report;
    this.runtime = null;
    this.busy = 0;
    this.timer = 0;
    this.done = false;
    /** @type {(() => void)|null} what is left of a snapshot taken: its check, packing and storing */
    this.finish = null;
  }

  /** A normal boot is done: its runtime may be snapshotted. @param {any} pyodide @param {DynlibRecord[]} dynlibs @param {Function} handle */
  arm(pyodide, dynlibs, handle) {
    this.runtime = { pyodide, dynlibs, handle };
    if (!this.busy) this.timer = setTimeout(() => this.take(), IDLE_MS);
  }

  requestStarted() {
    this.busy++;
    clearTimeout(this.timer);
  }

  requestFinished() {
    this.busy--;
    if (this.busy) return;
    if (!this.done) this.timer = setTimeout(() => this.take(), IDLE_MS);
    else if (this.finish) this.timer = setTimeout(() => this.finishWhenIdle(), IDLE_MS);
  }

  /** The request under way is about to load a model's weights: the last moment to take the snapshot. */
  beforeModelLoads() {
    clearTimeout(this.timer);
    this.take(1);
  }

  /**
   * Copy Python's memory (only while no request runs but the `running` ones that wait for it);
   * the rest follows when the worker is idle.
   * @param {number} [running] the requests under way that wait for this (not a reason to wait)
   */
  take(running = 0) {
    if (this.done || this.busy > running || !this.runtime) return;
    this.done = true;
    const t0 = performance.now();
    const failed = (err) => this.report({ error: err && err.message ? err.message : String(err) });
    const { pyodide, dynlibs, handle } = this.runtime;
    let capture;
    try {
      capture = captureSnapshot(pyodide, dynlibs);
    } catch (err) {
      failed(err);
      return;
    }
    this.finish = () => {
      let checked;
      try {
        checked = checkAnswer(handle);
      } catch (err) {
        failed(err);
        return;
      }
      packSnapshot(capture, checked).then(async (bytes) => {
        await store(bytes);
        this.report({ bytes: bytes.length, ms: performance.now() - t0, blockedMs: unpack(bytes).meta.blockedMs });
      }).catch(failed);
    };
    // Taken while idle: the check follows on the next turn, so a request that came meanwhile
    // waits for one step at most.
    if (!this.busy) this.timer = setTimeout(() => this.finishWhenIdle(), 0);
  }

  /** The check and the storing of a snapshot taken, unless a request runs (then after it). */
  finishWhenIdle() {
    if (this.busy || !this.finish) return;
    const finish = this.finish;
    this.finish = null;
    finish();
  }
}
