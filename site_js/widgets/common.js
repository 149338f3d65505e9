/**
 * Pieces the small article widgets share: a debounced text box, a head picker, slicing one head
 * out of the (layers, heads, q, k) weights, and running a request with status and error display.
 */
import { formatBytes } from "../bytes.js";
import { getClient, Superseded } from "../client.js";
import { askConsent, needsConsent } from "../download-consent.js";
import { noteKept } from "../download-storage.js";
import { el } from "../heatmap.js";
import { findModel, modelIndex } from "../models.js";
import { currentPage } from "../page.js";

/** Slice one head's (q, k) matrix out of the (layers, heads, q, k) weights tensor. */
export function headMatrix(weights, layer, head) {
  return matrixAt(weights, layer, head);
}

/**
 * An array of a result as {data, shape}: the worker's typed arrays already are; nested lists (a
 * JSON export read back) are flattened.
 * @param {{data: Float32Array, shape: number[]}|number[]|number[][]} x
 * @returns {{data: Float32Array, shape: number[]}}
 */
export function tensor(x) {
  if (x && x.data && x.shape) return x;
  const shape = [];
  for (let level = x; Array.isArray(level); level = level[0]) shape.push(level.length);
  return { data: Float32Array.from(x.flat(Infinity)), shape };
}

/**
 * The (rows, cols) matrix at the leading indices of a tensor: matrixAt(t, l, h) of a
 * (layers, heads, q, k) tensor is head h of layer l; matrixAt(t) of a (q, k) one is all of it.
 * @param {{data: Float32Array, shape: number[]}} t @param {...number} index
 * @returns {Float32Array} (rows * cols) row-major, a view into t
 */
export function matrixAt(t, ...index) {
  const { data, shape } = t;
  const size = shape.slice(index.length).reduce((a, b) => a * b, 1);
  let start = 0;
  index.forEach((i, d) => { start = start * shape[d] + i; });
  return data.subarray(start * size, (start + 1) * size);
}

/**
 * One attention stack of a result (schema 2): its (layers, heads, q, k) weights and the token
 * lists of its rows and columns. Without a name, the stack the request's head belongs to.
 * @param {object} result @param {string} [name]
 * @returns {{name: string, weights: {data: Float32Array, shape: number[]}, query: object[], key: object[]}}
 */
export function stackOf(result, name = result.request.stack) {
  const s = result.attention[name];
  return { name, weights: s.weights, query: result.tokens[s.query], key: result.tokens[s.key] };
}

/** The role a synthetic head was built with, or null for a trained model's head. */
export function roleOf(result, head, stack = result.request.stack) {
  const roles = result.built_roles && result.built_roles[stack];
  return roles ? roles[head] : null;
}

/**
 * What a head is known for: the synthetic model's built role, or the name the model index gives a
 * trained model's head (a translator's alignment head); "" for none.
 * @param {object} result @param {number} layer @param {number} head @param {string} [stack]
 */
export function knownAs(result, layer, head, stack = result.request.stack) {
  const role = roleOf(result, head, stack);
  if (role) return role.role;
  const named = (result.model.named_heads || []).find(([s, l, h]) => s === stack && l === layer && h === head);
  return named ? named[3] : "";
}

/** A token's text as labels show it: line breaks and tabs, which would vanish, drawn as symbols. @param {string} t */
export function visible(t) {
  return t.replace(/\r?\n/g, "⏎").replace(/\t/g, "⇥");
}

/** Heatmap input for one head of a result's stack. */
export function heatmapData(result, layer, head, extra = {}, stack = result.request.stack) {
  const s = stackOf(result, stack);
  const [, , q, k] = s.weights.shape;
  return { weights: headMatrix(s.weights, layer, head), rows: q, cols: k,
    rowLabels: s.query.map((t) => visible(t.text)), colLabels: s.key.map((t) => visible(t.text)), ...extra };
}

/**
 * A labelled text box that calls onChange (debounced) as the user types.
 * @param {HTMLElement} parent @param {string} label @param {string} value @param {(v: string) => void} onChange
 */
export function textBox(parent, label, value, onChange, delay = 250) {
  const wrap = el("label", "av-control av-control--text", parent);
  el("span", null, wrap).textContent = label;
  const input = el("input", null, wrap);
  input.type = "text";
  input.value = value;
  input.spellcheck = false;
  let timer = 0;
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => onChange(input.value), delay);
  });
  return input;
}

/** A head picker filled from a result's head roles. @returns {{update: (roles: object[]) => void}} */
export function headPicker(parent, state, onChange) {
  const wrap = el("label", "av-control", parent);
  el("span", null, wrap).textContent = "Head";
  const select = el("select", null, wrap);
  select.addEventListener("change", () => { state.head = Number(select.value); onChange(); });
  return {
    update(heads) {
      const names = heads.map((h, i) => `${i + 1}: ${h.role}`); // shown from 1; the value stays the 0-based index
      if ([...select.options].map((o) => o.textContent).join() !== names.join()) {
        select.replaceChildren(...names.map((name, i) => Object.assign(document.createElement("option"),
          { value: String(i), textContent: name })));
      }
      state.head = Math.min(state.head, heads.length - 1);
      select.value = String(state.head);
    },
  };
}

let counter = 0;
/** @type {Map<string, number>} ms of forward pass per character of text, per model, from its last result */
const pace = new Map();

/** "about 4.6 s" for a request the last result of its model says will be slow, else "". @param {object} request */
function estimate(request) {
  const ms = (pace.get(request.model) || 0) * (request.text || "").length;
  return ms > 1500 ? `about ${(ms / 1000).toFixed(1)} s` : "";
}

/**
 * Bind a widget to the page's worker: `request(req, key, onPartial, {ask})` resolves with the
 * result, or shows the error in the status line and resolves null (a superseded request also
 * resolves null); onPartial gets the result so far between the steps of a model that writes step
 * by step. A model whose download is the reader's choice is asked for first, unless the request's
 * answer is here already (kept from a visit, or computed by the build: a widget's first view of a
 * big model costs no download); ask: false never asks, and resolves null instead.
 * onRefused(error) hears of each request attnviz refused ({field, message, too_long?}). Without
 * it, text past the model's limit is offered its first tokens: the refused request waits for the
 * reader, and resolves with the result of reading the first tokens (from then on, every request
 * of the widget does), or null once the widget asks for something else.
 * @param {HTMLElement} host @param {import("../status.js").StatusLine} status
 * @param {(error: {field: string|null, message: string, too_long?: {tokens: number, limit: number}}) => void} [onRefused]
 */
export function requester(host, status, onRefused = null) {
  const client = getClient();
  const page = currentPage(); // a request made after the reader has left (a debounce firing late) is dropped
  const id = `w${++counter}`;
  host.dataset.avId = id;
  /** @type {Set<object>} models downloaded on the reader's word: noted once they are kept (download-storage.js) */
  const remember = new Set();
  /** The request's model when its download is the reader's choice and they have not made it yet. */
  async function unagreed(request) {
    if (!request.model) return null;
    const entry = findModel(await modelIndex(), request.model);
    return entry && (await needsConsent(entry)) ? entry : null;
  }
  /** Ask the reader (once per page: askConsent shares the question among requests and widgets). */
  async function agrees(entry) {
    const box = el("div", "av-consent-host");
    status.root.before(box);
    host.dataset.waiting = "consent"; // for anyone waiting for the widget to draw: it is the reader's turn
    let agreed;
    try {
      agreed = await askConsent(box, entry);
    } finally {
      box.remove();
      delete host.dataset.waiting;
    }
    if (agreed) { remember.add(entry); return true; }
    status.error(`${entry.label} was not downloaded, so it could not compute this view. Change anything to be asked again.`, false);
    return false;
  }
  let cutting = false; // the reader chose to read the first tokens of a long text
  /** @type {Map<string, {resolve: (r: object|null) => void, request: object, onPartial: Function|null}>}
   * key -> a refused request waiting for the reader's choice */
  const waiting = new Map();
  /** The reader's choice: every waiting request reads the first tokens, and so do later ones. */
  const readFirstTokens = () => {
    cutting = true;
    const all = [...waiting];
    waiting.clear();
    for (const [key, w] of all) w.resolve(run(w.request, key, w.onPartial));
  };
  const run = async (request, key = "main", onPartial = null, { ask = true } = {}) => {
    const before = waiting.get(key);
    if (before) { waiting.delete(key); before.resolve(null); } // superseded by this one
    if (cutting && typeof request.text === "string" && !("kind" in request)) request = { ...request, truncate: true };
    let unagreedModel;
    try {
      unagreedModel = await unagreed(request);
    } catch (err) {
      status.error(String(err.message || err), false); // the model list could not be read
      return null;
    }
    const channel = `${id}-${key}`;
    status.setBusy(true, estimate(request));
    try {
      // Not agreed to: only an answer already here (the worker would download the model).
      let result = unagreedModel ? await client.run(request, channel, onPartial, page, { answeredOnly: true }) : null;
      if (unagreedModel && !result) {
        status.setBusy(false);
        if (!ask || !(await agrees(unagreedModel))) return null;
        status.setBusy(true, estimate(request));
      }
      result = result || (await client.run(request, channel, onPartial, page));
      // Sent before the reader chose the first tokens (a widget's second view, answered after the
      // first's offer was taken): it reads them too, with no error shown in between.
      if (!result.ok && result.error.too_long && cutting && !request.truncate) return run(request, key, onPartial);
      if (!result.ok) {
        status.error(result.error.message, false);
        if (onRefused) onRefused(result.error);
        else if (result.error.too_long) {
          const { limit } = result.error.too_long;
          status.offer(`Use the first ${limit} tokens`, readFirstTokens);
          return new Promise((resolve) => waiting.set(key, { resolve, request, onPartial }));
        }
        return null;
      }
      if (request.model && request.text) pace.set(request.model, result.timings.model_ms / request.text.length);
      for (const entry of remember) if (entry.name === request.model) { remember.delete(entry); noteKept(entry); }
      status.clearError();
      // A widget reading the first tokens says so (the note attnviz wrote), as not every widget
      // shows notes; one drawn from the build's answer of a model not downloaded says what a change costs.
      if (cutting && !onRefused) status.info((result.notes || []).join(" "));
      else status.info(unagreedModel && result.built ? `Computed when this site was built; ${unagreedModel.label} is not `
        + `downloaded yet. Changing anything asks to download it (${formatBytes(unagreedModel.base_bytes)}).` : "");
      return result;
    } catch (err) {
      if (!(err instanceof Superseded)) status.error(String(err.message || err), false);
      return null;
    } finally {
      status.setBusy(false);
    }
  };
  return run;
}
