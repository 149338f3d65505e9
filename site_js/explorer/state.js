/**
 * The Explorer's whole state, and its round trip through the URL hash (so a link reproduces the
 * view). Values from the URL are checked one by one: anything missing, mistyped, out of range or
 * enormous falls back to its default, and the caller is told which fields did.
 */

export const MAX_URL_TEXT = 10000; // the same limit attnviz applies to text

/** @typedef {{text: string, source: string, mode: string, model: string, heads: number, head: number,
 *   layer: number, causal: boolean, temperature: number, rowscale: boolean, view: string, step: boolean,
 *   stage: number, token: number, self: boolean, hide: boolean, merge: boolean}} ExplorerState */

/** @type {ExplorerState} */
export const DEFAULTS = Object.freeze({
  text: "The cat sat on the mat because it was tired.",
  source: "Le chat était fatigué.",
  mode: "self", model: "synthetic", heads: 8, head: 0, layer: 0, causal: false, temperature: 1,
  rowscale: false, view: "single", step: false, stage: 0, token: -1, self: false, hide: false, merge: false,
});

const int = (lo, hi) => (s) => (/^-?\d+$/.test(s) && +s >= lo && +s <= hi ? +s : undefined);
const num = (lo, hi) => (s) => (/^-?\d*\.?\d+(e-?\d+)?$/i.test(s) && +s >= lo && +s <= hi ? +s : undefined);
const bool = (s) => (s === "1" || s === "true" ? true : s === "0" || s === "false" ? false : undefined);
const oneOf = (...values) => (s) => (values.includes(s) ? s : undefined);
const text = (s) => (s.trim() && s.length <= MAX_URL_TEXT ? s : undefined);

/** How each field is read from the URL. */
const PARSERS = {
  text, source: text, mode: oneOf("self", "cross"), model: oneOf("synthetic", "minilm"),
  heads: int(1, 16), head: int(0, 15), layer: int(0, 5), causal: bool, temperature: num(0.05, 10),
  rowscale: bool, view: oneOf("single", "grid"), step: bool, stage: int(0, 8), token: int(-1, 511),
  self: bool, hide: bool, merge: bool,
};

/**
 * Read a state from a location hash like "#text=...&heads=4".
 * @param {string} hash @returns {{state: ExplorerState, rejected: string[]}}
 */
export function fromHash(hash) {
  const state = { ...DEFAULTS };
  const rejected = [];
  let params;
  try {
    params = new URLSearchParams(hash.replace(/^#/, ""));
  } catch {
    return { state, rejected: ["the whole link"] };
  }
  for (const [key, raw] of params) {
    // Own keys only: "__proto__" or "constructor" in a link must not reach Object.prototype.
    const parse = Object.hasOwn(PARSERS, key) ? PARSERS[key] : undefined;
    const value = parse ? parse(raw) : undefined;
    if (value === undefined) rejected.push(key);
    else state[key] = value;
  }
  if (state.head >= state.heads && state.model === "synthetic") { state.head = 0; rejected.push("head"); }
  return { state, rejected: [...new Set(rejected)] };
}

/** The hash for a state: only fields that differ from the defaults, so links stay short. */
export function toHash(state) {
  const params = new URLSearchParams();
  for (const key of Object.keys(PARSERS)) {
    const value = state[key];
    if (value === DEFAULTS[key]) continue;
    params.set(key, typeof value === "boolean" ? (value ? "1" : "0") : String(value));
  }
  const s = params.toString();
  return s ? `#${s}` : "";
}

/**
 * The attnviz request for a state (see attnviz/api.py).
 * @param {ExplorerState} s
 */
export function requestFor(s) {
  const req = { text: s.text, mode: s.mode, model: s.model, causal: s.causal, temperature: s.temperature,
    intermediates: s.step, layer: s.layer, head: s.head };
  if (s.mode === "cross") req.source = s.source;
  if (s.model === "synthetic") { req.heads = s.heads; req.layer = 0; }
  else { req.hide_special = s.hide; req.merge_subwords = s.merge; }
  return req;
}
