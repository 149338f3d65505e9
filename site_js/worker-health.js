/**
 * The worker's memory: Pyodide's WebAssembly heap can only grow (to 4 GB at most, and less when
 * the tab or the device runs short), never shrink. So the worker keeps few models in memory
 * (one large one at a time: loading a model unloads others beyond RESIDENT_BYTES), checks before
 * loading one that the heap can still grow by what it needs, and recognises an out-of-memory
 * failure so the page can start a fresh worker instead of a dead one.
 */
import { dropBundleFiles } from "./model-files.js";
export { isOutOfMemory } from "./worker-recovery.js";

/** Model files kept in memory at once: a model that fills most of it (the LLM's 98 MB) is alone. */
export const RESIDENT_BYTES = 100e6;
/** Heap a model needs per byte of its files, at least: measured in Chromium after a session
 * (tools/bench.py --only session, over the synthetic model's 44 MB): 3.8 for the encoder, 6.1 for
 * a translator, about 7 for the language model after generating. The check asks for this lower bound, as the heap it grows stays
 * grown; a model that needs more and finds no room is recovered from (worker-recovery.js). */
export const HEAP_PER_FILE_BYTE = 3.5;

/** @type {Map<string, {bytes: number, bundle: string}>} models loaded, least recently used first */
const resident = new Map();
/** @type {string|null} a failure a browser test asked for, raised on the next request */
let armed = null;

/** @param {any} pyodide @returns {{current: number, max: number}} heap bytes now and at most */
export function heapSize(pyodide) {
  const module = pyodide._module;
  return { current: module.HEAP8.length, max: module._emscripten_get_heap_max() };
}

/**
 * Whether Python can still get `bytes` at once: numpy asks the allocator for them (which grows the
 * WebAssembly memory if it must, without touching the pages) and gives them back. The memory stays
 * grown, ready for the model. @param {any} pyodide @param {number} bytes
 */
function heapCanGive(pyodide, bytes) {
  const numpy = pyodide.pyimport("numpy");
  try {
    numpy.empty(Math.ceil(bytes), numpy.uint8).destroy();
    return true;
  } catch (err) {
    if (err.type === "MemoryError") return false;
    throw err;
  } finally {
    numpy.destroy();
  }
}

/**
 * Make room for a model before its files load: unload others (least recently used first) until
 * the resident files fit RESIDENT_BYTES, then check the heap can take it. Returns null when it
 * may load, or a memory error result naming what to try.
 * @param {any} pyodide @param {import("./models.js").ModelEntry} entry
 * @returns {object|null}
 */
export function makeRoom(pyodide, entry) {
  if (!entry.bundle || !entry.bytes) return null;
  if (resident.has(entry.name)) { // most recently used now
    const kept = resident.get(entry.name);
    resident.delete(entry.name);
    resident.set(entry.name, kept);
    return null;
  }
  const bridge = pyodide.pyimport("attnviz.bridge");
  let total = [...resident.values()].reduce((n, m) => n + m.bytes, 0);
  for (const [name, model] of resident) {
    if (total + entry.bytes <= RESIDENT_BYTES) break;
    bridge.unload(name);
    if (![...resident].some(([other, m]) => other !== name && m.bundle === model.bundle)) {
      dropBundleFiles(pyodide, model.bundle);
    }
    resident.delete(name);
    total -= model.bytes;
  }
  if (!heapCanGive(pyodide, entry.bytes * HEAP_PER_FILE_BYTE)) {
    const { current, max } = heapSize(pyodide);
    return memoryRefusal(`${entry.label} needs about ${mb(entry.bytes * HEAP_PER_FILE_BYTE)} of memory; ` +
      `this tab could not give it (Python uses ${mb(current)} of at most ${mb(max)})`);
  }
  resident.set(entry.name, { bytes: entry.bytes, bundle: entry.bundle });
  return null;
}

/** A model that failed to load or run holds no place. @param {string} name */
export function forgetResident(name) {
  resident.delete(name);
}

/** @returns {string[]} the models loaded now, least recently used first */
export function residentModels() {
  return [...resident.keys()];
}

/** @param {number} n */
function mb(n) {
  return `${Math.round(n / 1e6)} MB`;
}

/** @param {string} detail @returns {object} the error result of a request that ran out of memory */
export function memoryRefusal(detail) {
  return { schema: 2, ok: false, error: { field: "memory", message: detail } };
}

/**
 * Tests force a failure the reader might meet on a small device (see tests/e2e/test_hardening.py):
 * "python-memory" (a MemoryError in Python) or "js-memory" (a RangeError in the worker).
 * @param {string} failure
 */
export function arm(failure) {
  armed = failure;
}

/** Set off the armed failure, once, in the next request. @param {any} pyodide */
export function raiseArmed(pyodide) {
  const failure = armed;
  armed = null;
  if (failure === "python-memory") { // the next request's computation raises it, as a real one would
    pyodide.runPython(`import attnviz.api as api
run = api.run
def exhausted(*args, **kwargs):
    api.run = run
    raise MemoryError
api.run = exhausted`);
  }
  if (failure === "js-memory") throw new RangeError("Array buffer allocation failed");
}
