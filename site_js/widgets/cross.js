/**
 * Cross-attention: queries from one sentence (the decoder side), keys and values from another
 * (the encoder side), so the matrix is (target tokens x source tokens).
 * Options: {text, source, heads, head} for the synthetic model (two texts you type), or
 * {model, text, target?, layer, head} for a real translator: it translates text (or reads the
 * translation you give) and its decoder's cross-attention is shown, with how likely it found each
 * word it wrote.
 */
import { getClient } from "../client.js";
import { Heatmap, el } from "../heatmap.js";
import { StatusLine } from "../status.js";
import { headPicker, heatmapData, knownAs, requester, roleOf, stackOf, textBox } from "./common.js";

/** @param {HTMLElement} host @param {object} options */
export function mount(host, options) {
  if (options.model) mountReal(host, options);
  else mountSynthetic(host, options);
}

/** The requests the widget opens with (the build answers them ahead: built_answers.py). @param {object} options */
export function firstRequests(options) {
  return [options.model ? realRequest(realState(options)) : syntheticRequest(syntheticState(options))];
}

/** @param {{text?: string, source?: string, heads?: number, head?: number}} options */
const syntheticState = (options) => ({ text: options.text || "Le chat est assis sur le tapis.",
  source: options.source || "The cat is sitting on the mat.", heads: options.heads || 8, head: options.head ?? 0 });

/** @param {{text: string, source: string, heads: number}} s */
const syntheticRequest = (s) => ({ text: s.text, source: s.source, mode: "cross", heads: s.heads });

/** @param {HTMLElement} host @param {{text?: string, source?: string, heads?: number, head?: number}} options */
function mountSynthetic(host, options) {
  const state = syntheticState(options);
  host.classList.add("av-widget", "av-cross");
  const controls = el("div", "av-controls", host);
  textBox(controls, "Decoder side (queries)", state.text, (v) => { state.text = v; compute(); });
  textBox(controls, "Encoder side (keys, values)", state.source, (v) => { state.source = v; compute(); });
  const picker = headPicker(controls, state, draw);
  const status = new StatusLine(host, getClient());
  const caption = el("p", "av-caption", host);
  const heatmap = new Heatmap(el("div", null, host), { label: "Cross-attention weights" });
  const request = requester(host, status);
  let result = null;

  function draw() {
    if (!result) return;
    heatmap.set(heatmapData(result, 0, state.head));
    const [, , q, k] = stackOf(result).weights.shape;
    caption.textContent = `${q} query tokens × ${k} key tokens — head ${state.head + 1}: ${roleOf(result, state.head).role}`;
    host.dataset.ready = "true";
  }

  async function compute() {
    const r = await request(syntheticRequest(state));
    if (!r) return;
    result = r;
    picker.update(r.built_roles.cross);
    draw();
  }
  compute();
}

/**
 * A number picker ("Layer", "Head") numbered from 1 on screen, 0-based in the state.
 * @param {HTMLElement} parent @param {string} label @param {() => number} get @param {(v: number) => void} set
 */
function indexPicker(parent, label, get, set) {
  const wrap = el("label", "av-control", parent);
  el("span", null, wrap).textContent = label;
  const select = el("select", null, wrap);
  select.dataset.control = label.toLowerCase();
  select.addEventListener("change", () => set(Number(select.value)));
  return {
    /** @param {number} n how many */
    update(n) {
      if (select.options.length !== n) {
        select.replaceChildren(...Array.from({ length: n }, (_, i) => Object.assign(document.createElement("option"),
          { value: String(i), textContent: String(i + 1) })));
      }
      select.value = String(Math.min(get(), n - 1));
    },
  };
}

/** @param {{model: string, text?: string, target?: string, layer?: number, head?: number}} options */
const realState = (options) => ({ model: options.model, text: options.text || "The red car is parked near the old house.",
  target: options.target || "", layer: options.layer ?? 1, head: options.head ?? 0 });

/** The translator's request: its own translation, or the reader's. @param {ReturnType<typeof realState>} s */
function realRequest(s) {
  const req = { model: s.model, text: s.text, stack: "cross", layer: s.layer, head: s.head };
  if (s.target.trim()) req.target = s.target;
  return req;
}

/** @param {HTMLElement} host @param {{model: string, text?: string, target?: string, layer?: number, head?: number}} options */
function mountReal(host, options) {
  const state = realState(options);
  host.classList.add("av-widget", "av-cross");
  const controls = el("div", "av-controls", host);
  textBox(controls, "Source", state.text, (v) => { state.text = v; compute(); });
  textBox(controls, "Your translation (empty: the model's own)", state.target, (v) => { state.target = v; compute(); });
  const layers = indexPicker(controls, "Layer", () => state.layer, (v) => { state.layer = v; compute(); });
  const heads = indexPicker(controls, "Head", () => state.head, (v) => { state.head = v; compute(); });
  const status = new StatusLine(host, getClient());
  const translation = el("p", "av-caption av-translation", host);
  const caption = el("p", "av-caption", host);
  const heatmap = new Heatmap(el("div", null, host), { label: "Cross-attention weights: target words by source words" });
  const request = requester(host, status);

  async function compute() {
    const r = await request(realRequest(state));
    if (!r) return;
    const [nLayers, nHeads] = stackOf(r).weights.shape;
    layers.update(nLayers);
    heads.update(nHeads);
    const t = r.translation;
    const likely = r.tokens.target.map((tok) => `${tok.text.trim() || tok.text} ${Math.round(tok.p * 100)}%`).join(" · ");
    translation.textContent = `${t.forced ? "Your translation" : "The model's translation"}: ${t.text}  (how likely the model found each piece: ${likely})`;
    heatmap.set(heatmapData(r, r.request.layer, r.request.head));
    const known = knownAs(r, r.request.layer, r.request.head);
    caption.textContent = `Layer ${r.request.layer + 1} of the decoder, head ${r.request.head + 1}` +
      `${known ? ` (the model's ${known})` : ""}: ${r.metrics.description}`;
    host.dataset.ready = "true";
  }
  compute();
}
