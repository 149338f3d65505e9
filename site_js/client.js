/**
 * The main thread's handle on the computation worker: one worker per visit, shared by every widget
 * of every page read (instant navigation keeps the document, so Pyodide boots once).
 * Requests go out one at a time; per channel only the newest waiting request is kept, so a user
 * typing fast never builds a queue. Results come back with their arrays as Float32Arrays.
 * Requests and subscriptions belong to the page that made them (page.js): once the reader has
 * left that page its waiting requests are dropped, an answer still computing is not delivered,
 * and its listeners are removed.
 * Requests of a page rehearsed off screen (the page the reader will likely open next, see
 * next-page.js) are prepared: computed when the worker has nothing else to do, and handed to the
 * first widget that asks the same, so the next page draws without waiting for Python.
 * The answer to each widget's first request on a page is kept between visits (kept-answers.js):
 * a later visit's widget that asks the same draws from it while Python still starts.
 */
import { findAnswer, keepAnswer } from "./kept-answers.js";
import { currentPage, isRehearsal } from "./page.js";

import { scriptURL } from "./script-url.js";
import { isOutOfMemory, memoryAdvice } from "./worker-recovery.js";

/** Thrown (as a rejection) for a request replaced by a newer one on the same channel, or whose
 * page the reader has left. */
export class Superseded extends Error {}

/**
 * @typedef {{data: Float32Array, shape: number[]}} Tensor
 * @typedef {{loaded: number, total: number, file?: string, label?: string}} ModelDownload
 * @typedef {{stage: string, loaded: number, file?: string, ready?: boolean, fatal?: string, notice?: string,
 *   model?: ModelDownload|null}} Status
 */

/** Replace {"$array": i, "shape"} references in parsed JSON with tensors. */
function attachArrays(value, buffers) {
  if (Array.isArray(value)) return value.map((v) => attachArrays(v, buffers));
  if (value && typeof value === "object") {
    if (typeof value.$array === "number") return { data: buffers[value.$array], shape: value.shape };
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k] = attachArrays(v, buffers);
    return out;
  }
  return value;
}

/**
 * The worker the page started from its <head> (start-worker.js), once, when it runs this script.
 * @param {string} url @returns {import("./start-worker.js").StartedWorker|null}
 */
function takeStartedWorker(url) {
  const key = Symbol.for("attnviz.startedWorker");
  const started = globalThis[key];
  globalThis[key] = null; // claimed: a later start-worker.js starts none, a Retry's worker is a new one
  return started && started.url === url ? started : null;
}

/** Prepared answers kept at most (the oldest go first): the built-in model's, a few kB each. */
const PREPARED_MAX = 12;

/** The page of a prepared request: never left (its answer is kept for whoever asks). */
const PREPARING = new AbortController().signal;

/** How long, once Python is ready, a widget's first request waits for its kept answer before it
 * goes to the worker (until then it costs nothing: the worker could not answer sooner). */
const KEPT_LOOKUP_MS = 250;
/** ... and at most this long in any case (a Cache API that never answers, a worker never ready). */
const KEPT_LOOKUP_MAX_MS = 10_000;

/** @type {WeakMap<object, {meta: string, buffers: Float32Array[], ms: number}>} each result as the worker sent it */
const sent = new WeakMap();

export class AttnvizClient {
  /** @param {string} workerURL */
  constructor(workerURL) {
    this.workerURL = workerURL;
    /** @type {Set<(s: Status) => void>} */
    this.listeners = new Set();
    /** @type {Status} */
    this.status = { stage: "start", loaded: 0 };
    this.nextId = 1;
    this.inFlight = null; // {id, request, resolve, reject, channel, page, preparing?: the prepared request's key}
    /** @type {Map<string, {request: object, resolve: Function, reject: Function}>} */
    this.waiting = new Map();
    /** @type {Map<string, {request: object, result: object|null, sent?: boolean}>} request (as JSON) -> its prepared answer */
    this.prepared = new Map();
    /** @type {WeakMap<AbortSignal, Set<string>>} the channels that have asked something on each page */
    this.asked = new WeakMap();
    this.start();
  }

  start() {
    this.status = { stage: "start", loaded: 0 };
    /** @type {Promise<void>} resolves when this worker's Python is ready */
    this.whenReady = new Promise((resolve) => { this.becameReady = resolve; });
    const started = takeStartedWorker(this.workerURL);
    const worker = (this.worker = started ? started.worker : new Worker(scriptURL(this.workerURL), { type: "module" }));
    // Messages from a worker that has since been replaced are ignored.
    worker.onmessage = (e) => worker === this.worker && this.onMessage(e.data);
    worker.onerror = (e) => {
      e.preventDefault();
      if (worker === this.worker) this.crash(e.message || "it could not start");
    };
    this.emit();
    if (started) { // what it said before this client listened, in order
      for (const e of started.said) worker.onmessage(e);
      for (const e of started.failed) worker.onerror(e);
    }
  }

  /** The worker died or Python failed beyond repair: stop it; Retry starts a new one. @param {string} why */
  crash(why) {
    if (isOutOfMemory(why)) {
      this.recoverFromMemory(this.inFlight, { ok: false, error: { field: "memory", message: why } });
      return;
    }
    this.worker.terminate();
    this.fail(`The computation stopped unexpectedly (${why}). Retry starts it again; the last result stays on screen.`);
  }

  /**
   * The request ran out of memory: answer it with what happened and what to try, and go on with a
   * fresh worker (the old heap cannot shrink); requests waiting behind it run there.
   * Without a request in flight, the reader is told in the status notes.
   * @param {{resolve: Function, request: object}|null} job @param {{ok: false, error: {field: string, message: string}}} result
   */
  async recoverFromMemory(job, result) {
    this.worker.terminate();
    this.inFlight = null;
    this.start();
    result.error.message = await memoryAdvice(result.error.message, job ? job.request : {});
    if (job && job.page.aborted) job.reject(new Superseded()); // its page was left meanwhile
    else if (job) job.resolve(result);
    else {
      this.status = { ...this.status, notice: result.error.message };
      this.emit();
    }
    this.pump();
  }

  /**
   * The reader's Cancel: stop the model download under way (the request waiting for it gets a
   * "cancelled" error). A download the page makes for the worker (prefetch.js) stops too and is
   * no longer shown: the files it completed are handed to the worker, which uses them when the
   * model is chosen again and downloads only the rest.
   */
  cancelDownload() {
    if (!this.status.model) return;
    this.stopDownloads();
    if (this.pageDownload) {
      this.pageDownloadHidden = true; // until that download ends (showDownload(null))
      this.status = { ...this.status, model: null };
      this.emit();
    }
  }

  /** Stop the model downloads under way, the page's for the worker and the worker's own (files
   * verified stay cached). */
  stopDownloads() {
    if (this.pageDownloadStop) this.pageDownloadStop.abort();
    this.worker.postMessage({ type: "cancel" });
  }

  /** Stop the worker and start a fresh one; waiting and failed requests are sent again. */
  retry() {
    const resend = this.inFlight;
    this.worker.terminate();
    this.inFlight = null;
    this.start();
    if (resend && resend.preparing) this.prepared.delete(resend.preparing);
    else if (resend && !this.waiting.has(resend.channel)) this.waiting.set(resend.channel, resend);
    this.pump();
  }

  /** Model files the page is downloading for the worker (prefetch.js): its requests wait for them. @param {string[]} urls */
  expectFiles(urls) {
    this.worker.postMessage({ type: "expect", urls });
  }

  /**
   * Hand a downloaded model file to the worker (null: the download failed), with the sha256 the
   * page computed of it, if any (the worker then need not hash it again).
   * @param {string} url @param {ArrayBuffer|null} bytes @param {string|null} [sha256] hex
   */
  sendFile(url, bytes, sha256 = null) {
    this.worker.postMessage({ type: "file", url, bytes, sha256 }, bytes ? [bytes] : []);
  }

  /** The page starts downloading model files for the worker (prefetch.js). @returns {AbortSignal}
   * aborted when the downloads stop (the reader's Cancel, another model chosen) */
  startPageDownload() {
    this.pageDownloadStop = new AbortController();
    return this.pageDownloadStop.signal;
  }

  /** A model download the page itself makes, for the status lines (null: it has ended). @param {ModelDownload|null} model */
  showDownload(model) {
    this.pageDownload = Boolean(model);
    if (!model) {
      this.pageDownloadHidden = false;
      this.pageDownloadStop = null;
    } else if (this.pageDownloadHidden) return; // the reader cancelled it
    if (this.status.fatal) return;
    this.status = { ...this.status, model };
    this.emit();
  }

  /**
   * Call fn with the status now and on every change, until unsubscribed or its page is left.
   * @param {(s: Status) => void} fn @param {AbortSignal} [page] @returns {() => void} unsubscribe
   */
  subscribe(fn, page = currentPage()) {
    const off = () => this.listeners.delete(fn);
    if (page.aborted) return off;
    if (isRehearsal(page)) { fn(this.status); return off; } // nobody sees a rehearsal: the status once is enough
    this.listeners.add(fn);
    page.addEventListener("abort", off, { once: true });
    fn(this.status);
    return off;
  }

  emit() { for (const fn of this.listeners) fn(this.status); }

  /** @param {string} message */
  fail(message) {
    this.status = { ...this.status, fatal: message, ready: false };
    this.emit();
  }

  /**
   * Compute a request. Rejects with Superseded when a newer request on the same channel replaces it.
   * Also rejects with Superseded once the reader has left the page the request belongs to.
   * onPartial(result so far) is called between the steps of a model that writes step by step.
   * answeredOnly: answer only from an answer kept or computed by the build, else resolve null (the
   * worker would download a model the reader has not agreed to).
   * @param {object} request @param {string} [channel] @param {((r: object) => void)|null} [onPartial]
   * @param {AbortSignal} [page] the page whose widget asks (by default the page on screen)
   * @param {{answeredOnly?: boolean}} [options]
   * @returns {Promise<{ok: boolean, error?: {field: string|null, message: string}, ms?: number} & Record<string, any>>}
   */
  run(request, channel = "default", onPartial = null, page = currentPage(), { answeredOnly = false } = {}) {
    return new Promise((resolve, reject) => {
      if (isRehearsal(page)) { this.prepare(request); reject(new Superseded()); return; }
      if (page.aborted) { reject(new Superseded()); return; }
      const old = this.waiting.get(channel);
      if (old) { this.waiting.delete(channel); old.reject(new Superseded()); }
      const job = { request, resolve, reject, channel, onPartial, page, opening: this.firstAsk(page, channel), answeredOnly };
      if (answeredOnly && !job.opening) { resolve(null); return; } // only a first request has an answer ahead
      if (this.takePrepared(job)) return;
      const current = this.inFlight;
      if (current && current.channel === channel && this.status.model && current.request.model !== request.model) {
        current.superseded = true; // another model chosen while this one downloads: stop it
        this.stopDownloads();
      }
      this.waiting.set(channel, job);
      if (job.opening) this.answerFromKept(job);
      else this.pump();
    });
  }

  /** Whether this is the first request of a channel (a widget's view) on its page. @param {AbortSignal} page @param {string} channel */
  firstAsk(page, channel) {
    let channels = this.asked.get(page);
    if (!channels) this.asked.set(page, (channels = new Set()));
    if (channels.has(channel)) return false;
    channels.add(channel);
    return true;
  }

  /**
   * A widget's first request waits (briefly) for its answer kept from an earlier visit or computed
   * by the build: found, it is answered with it and never computed; otherwise it goes to the worker.
   * @param {{request: object, resolve: Function, channel: string, page: AbortSignal}} job
   */
  async answerFromKept(job) {
    job.lookingUp = true;
    const deadline = this.whenReady.then(() => new Promise((resolve) => setTimeout(() => resolve(null), KEPT_LOOKUP_MS)));
    const cap = new Promise((resolve) => setTimeout(() => resolve(null), KEPT_LOOKUP_MAX_MS));
    const kept = await Promise.race([findAnswer(job.request), deadline, cap]);
    job.lookingUp = false;
    if (this.waiting.get(job.channel) === job && !job.page.aborted && (kept || job.answeredOnly)) {
      this.waiting.delete(job.channel);
      if (kept) {
        const result = attachArrays(JSON.parse(kept.meta), kept.buffers);
        result.ms = kept.ms;
        result.kept = true; // from an earlier visit, or the build: not computed now
        if (kept.built) result.built = true;
        job.resolve(result);
      } else job.resolve(null);
    }
    this.pump();
  }

  /** Keep the answer to a widget's first request for later visits (not a failed one). @param {object} request @param {object} result */
  keep(request, result) {
    const raw = sent.get(result);
    if (raw && result.ok && !result.cancelled) keepAnswer(request, raw.meta, raw.buffers, raw.ms);
  }

  /**
   * Compute a request ahead of its widget, when nothing else waits. Only the built-in model's:
   * a real model's weights are downloaded on the reader's word alone.
   * @param {object} request
   */
  prepare(request) {
    if (request.model) return;
    const key = JSON.stringify(request);
    if (this.prepared.has(key)) return;
    this.prepared.set(key, { request, result: null });
    if (this.prepared.size > PREPARED_MAX) this.prepared.delete(this.prepared.keys().next().value);
    this.pump();
  }

  /**
   * Answer a job from its prepared request, once: at once when the answer is here, or when it
   * arrives if the worker is computing it now. False when there is none (or it was not sent yet).
   * @param {{request: object, resolve: Function}} job @returns {boolean}
   */
  takePrepared(job) {
    const key = JSON.stringify(job.request);
    const prepared = this.prepared.get(key);
    if (!prepared) return false;
    this.prepared.delete(key);
    if (prepared.result) {
      if (job.opening) this.keep(job.request, prepared.result);
      job.resolve(prepared.result);
      return true;
    }
    if (this.inFlight && this.inFlight.preparing === key) {
      this.inFlight = { ...job, id: this.inFlight.id }; // its answer is this job's now
      return true;
    }
    return false;
  }

  pump() {
    // Requests of pages the reader has left are never sent.
    for (const [channel, job] of this.waiting) {
      if (job.page.aborted) { this.waiting.delete(channel); job.reject(new Superseded()); }
    }
    if (this.inFlight || this.status.fatal) return;
    if (this.waiting.size === 0) { this.pumpPrepared(); return; }
    const next = [...this.waiting].find(([, j]) => !j.lookingUp); // the others wait for their kept answer
    if (!next) return;
    const [channel, job] = next;
    this.waiting.delete(channel);
    this.inFlight = { ...job, id: this.nextId++ };
    this.worker.postMessage({ type: "run", id: this.inFlight.id, request: job.request });
  }

  /** Send the oldest prepared request not computed yet (the worker is idle). */
  pumpPrepared() {
    const next = [...this.prepared].find(([, p]) => !p.result && !p.sent);
    if (!next) return;
    const [key, prepared] = next;
    prepared.sent = true;
    // A kept answer must be one the widget would get: a failed one (out of memory) is dropped.
    const keep = (result) => { if (result.ok && this.prepared.get(key) === prepared) prepared.result = result; };
    this.inFlight = { request: prepared.request, preparing: key, resolve: keep, reject() {}, channel: null,
      onPartial: null, page: PREPARING, id: this.nextId++ };
    this.worker.postMessage({ type: "run", id: this.inFlight.id, request: prepared.request, ahead: true });
  }

  onMessage(msg) {
    if (msg.type === "progress") {
      if (this.status.fatal) return; // downloads still finishing after a failure change nothing
      this.status = { stage: msg.stage, loaded: msg.loaded, file: msg.file, model: this.status.model };
      this.emit();
    } else if (msg.type === "ready") {
      this.status = { stage: "ready", loaded: msg.loaded, ready: true, timings: msg.timings, model: this.status.model };
      this.becameReady();
      this.emit();
    } else if (msg.type === "notice") {
      this.status = { ...this.status, notice: msg.message };
      this.emit();
    } else if (msg.type === "model") {
      if (!msg.done) this.pageDownload = false; // the worker downloads by itself now
      this.status = { ...this.status, model: msg.done ? null : msg };
      this.emit();
    } else if (msg.type === "crashed") {
      this.crash(msg.message);
    } else if (msg.type === "fatal") {
      this.fail(`Loading failed while ${STAGE_TEXT[msg.stage] || msg.stage}: ${msg.message}`);
    } else if (msg.type === "partial" && this.inFlight && msg.id === this.inFlight.id) {
      const job = this.inFlight;
      if (job.onPartial && !job.page.aborted) job.onPartial(attachArrays(JSON.parse(msg.meta), msg.buffers));
    } else if (msg.type === "result" && this.inFlight && msg.id === this.inFlight.id) {
      const job = this.inFlight;
      this.inFlight = null;
      const result = attachArrays(JSON.parse(msg.meta), msg.buffers);
      sent.set(result, { meta: msg.meta, buffers: msg.buffers, ms: msg.ms });
      // Out of memory: a fresh worker takes over, whether or not the page that asked is still on screen.
      if (result.error && result.error.field === "memory") { this.recoverFromMemory(job, result); return; }
      if (job.page.aborted) { // answered after its page was left: nobody is there to draw it
        job.reject(new Superseded());
        this.pump();
        return;
      }
      if (result.traceback) { // a bug in attnviz, not bad input: its trace is for developers
        console.error(result.traceback);
        delete result.traceback;
      }
      result.ms = msg.ms;
      result.memory = msg.memory; // bytes of Pyodide's WebAssembly memory after this request
      result.resident = msg.resident; // the models the worker keeps loaded (worker-health.js)
      if (result.cancelled && job.superseded) job.reject(new Superseded());
      else {
        if (job.opening) this.keep(job.request, result);
        job.resolve(result);
      }
      this.pump();
    }
  }
}

/** Human words for each loading stage. */
export const STAGE_TEXT = {
  start: "starting the worker",
  runtime: "loading the Python runtime (Pyodide)",
  packages: "loading numpy and attnviz",
  ready: "ready",
};

let shared = null;

/** The visit's one client (the worker starts on first use). @returns {AttnvizClient} */
export function getClient() {
  if (!shared) shared = new AttnvizClient(new URL("./worker.js", import.meta.url).href);
  return shared;
}
