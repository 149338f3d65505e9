/**
 * The Explorer's whole state, and its round trip through the URL hash (so a link reproduces the
 * view). Values from the URL are checked one by one: anything missing, mistyped, out of range or
 * enormous falls back to its default, and the caller is told which fields did. Which models exist
 * (and their layers and heads) is the model index's business: the Explorer checks a link's model
 * against it (see `fitToModel`).
 */

export const MAX_URL_TEXT = 10000; // the same limit attnviz applies to text

/** @typedef {{text: string, source: string, mode: string, model: string, heads: number, head: number,
 *   target: string, stack: string, layer: number, causal: boolean, generate: number, chat: boolean, sink: boolean, temperature: number, rowscale: boolean,
 *   scale: string, cut: boolean, view: string, step: boolean,
 *   stage: number, token: number, self: boolean, hide: boolean, merge: boolean, analysis: string,
 *   rollout_heads: string, hidden: number[], ablate_token: number, ablate_head: boolean, query: number, key: number,
 *   sentences: string}} ExplorerState */

/** The analyses a request can ask for (attnviz's `analysis` field), "" for the raw attention alone. */
export const ANALYSES = Object.freeze(["", "roles", "rollout", "flow", "value_norm", "ablate", "neuron", "qk_map"]);
export const MAX_HIDDEN = 64; // hidden tokens a link may carry

/** @type {ExplorerState} */
export const DEFAULTS = Object.freeze({
  text: "The cat sat on the mat because it was tired.",
  source: "Le chat était fatigué.",
  target: "", mode: "self", model: "synthetic", heads: 8, head: 0, stack: "", layer: 0, causal: false, temperature: 1,
  generate: 0, chat: false, sink: false,
  rowscale: false, scale: "head", cut: false,
  view: "single", step: false, stage: 0, token: -1, self: false, hide: false, merge: false,
  analysis: "", rollout_heads: "mean", hidden: Object.freeze([]), ablate_token: -1, ablate_head: false, query: 0, key: 0,
  sentences: "",
});

const int = (lo, hi) => (s) => (/^-?\d+$/.test(s) && +s >= lo && +s <= hi ? +s : undefined);
const num = (lo, hi) => (s) => (/^-?\d*\.?\d+(e-?\d+)?$/i.test(s) && +s >= lo && +s <= hi ? +s : undefined);
const bool = (s) => (s === "1" || s === "true" ? true : s === "0" || s === "false" ? false : undefined);
const oneOf = (...values) => (s) => (values.includes(s) ? s : undefined);
const text = (s) => (s.trim() && s.length <= MAX_URL_TEXT ? s : undefined);
const optionalText = (s) => (s.length <= MAX_URL_TEXT ? s : undefined);
/** "3,0,7": distinct token indices, sorted; "" is none. */
const indices = (s) => {
  if (s === "") return [];
  const parts = s.split(",");
  if (parts.length > MAX_HIDDEN || !parts.every((p) => /^\d{1,3}$/.test(p) && +p <= 511)) return undefined;
  return [...new Set(parts.map(Number))].sort((a, b) => a - b);
};
const name = (s) => (/^[a-z][a-z0-9-]{0,39}$/.test(s) ? s : undefined);

/** How each field is read from the URL. */
const PARSERS = {
  text, source: text, target: optionalText, mode: oneOf("self", "cross"), model: name, stack: name,
  heads: int(1, 16), head: int(0, 63), layer: int(0, 63), causal: bool, temperature: num(0.05, 10),
  generate: int(0, 20), chat: bool, sink: bool,
  rowscale: bool, scale: oneOf("head", "one", "model"), cut: bool, view: oneOf("single", "grid"), step: bool, stage: int(0, 9), token: int(-1, 511),
  self: bool, hide: bool, merge: bool,
  analysis: oneOf(...ANALYSES.filter(Boolean)), rollout_heads: oneOf("mean", "each"), hidden: indices,
  ablate_token: int(-1, 511), ablate_head: bool, query: int(0, 511), key: int(0, 511), sentences: optionalText,
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
  return { state, rejected: [...new Set(rejected)] };
}

/**
 * Make a state fit its model (an entry of the model index, or undefined for a name the index
 * does not know): an unknown model falls back to the default one, a head or layer past the
 * model's falls back to 0, modes and stacks it does not have to its first. Returns the fields
 * that had to change.
 * @param {ExplorerState} state @param {import("../models.js").ModelEntry|undefined} entry
 * @param {import("../models.js").ModelEntry} fallback @returns {string[]}
 */
export function fitToModel(state, entry, fallback) {
  const changed = [];
  if (!entry) { state.model = fallback.name; entry = fallback; changed.push("model"); }
  const has = (option) => entry.options.includes(option);
  if (state.mode === "cross" && !has("mode")) { state.mode = "self"; changed.push("mode"); }
  const stacks = has("mode") ? [state.mode] : entry.stacks;
  if (state.stack && !stacks.includes(state.stack)) { state.stack = ""; changed.push("stack"); }
  const stack = state.stack || stacks[0];
  const layers = (entry.stack_layers && entry.stack_layers[stack]) || entry.layers;
  const heads = has("heads") ? state.heads : entry.heads;
  if (state.layer >= layers) { state.layer = 0; changed.push("layer"); }
  if (state.head >= heads) { state.head = 0; changed.push("head"); }
  return changed;
}

/** The hash for a state: only fields that differ from the defaults, so links stay short. */
export function toHash(state) {
  const params = new URLSearchParams();
  for (const key of Object.keys(PARSERS)) {
    const value = state[key];
    if (Array.isArray(value) ? value.length === 0 : value === DEFAULTS[key]) continue;
    params.set(key, typeof value === "boolean" ? (value ? "1" : "0") : Array.isArray(value) ? value.join(",") : String(value));
  }
  const s = params.toString();
  return s ? `#${s}` : "";
}

/** Request fields the Explorer's controls set, by the option name in the model index. */
const OPTION_FIELDS = { mode: ["mode"], heads: ["heads"], causal: ["causal"], temperature: ["temperature"],
  hide_special: ["hide"], merge_subwords: ["merge"], target: ["target"], generate: ["generate"], chat: ["chat"],
  hide_first: ["sink"] };

/**
 * The attnviz request for a state (see attnviz/api.py): only the options the model has.
 * @param {ExplorerState} s @param {import("../models.js").ModelEntry} entry
 */
export function requestFor(s, entry) {
  const req = { text: s.text, model: s.model, intermediates: s.step, layer: s.layer, head: s.head };
  if (s.stack) req.stack = s.stack;
  for (const [option, [key]] of Object.entries(OPTION_FIELDS)) {
    if (entry.options.includes(option)) req[option] = s[key];
  }
  if (req.mode === "cross") req.source = s.source;
  if (s.cut) req.truncate = true; // text past the model's limit: read its first tokens
  if (s.hidden.length) req.hide = [...s.hidden];
  return { ...req, ...analysisFields(s) };
}

/** Each analysis's own request fields: only those of the analysis asked for, so that a field of
 * another one never makes a new request. */
const ANALYSIS_FIELDS = {
  rollout: (s) => ({ rollout_heads: s.rollout_heads }),
  ablate: (s) => ({ ablate_token: s.ablate_token, ablate_head: s.ablate_head }),
  neuron: (s) => ({ query: s.query, key: s.key }),
  qk_map: (s) => ({ sentences: s.sentences.split("\n").map((t) => t.trim()).filter(Boolean) }),
};

/** @param {ExplorerState} s @returns {object} */
function analysisFields(s) {
  if (!s.analysis) return {};
  return { analysis: s.analysis, ...(ANALYSIS_FIELDS[s.analysis] ? ANALYSIS_FIELDS[s.analysis](s) : {}) };
}
