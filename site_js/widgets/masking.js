/**
 * Masking before/after: the same sentence and head without a mask and with a causal mask,
 * side by side. Options: {text, heads, head}.
 */
import { getClient } from "../client.js";
import { Heatmap, el } from "../heatmap.js";
import { StatusLine } from "../status.js";
import { headPicker, heatmapData, requester, textBox } from "./common.js";

/** @param {{text?: string, heads?: number, head?: number}} options */
const initialState = (options) => ({ text: options.text || "The robot picked up the ball because it was light.",
  heads: options.heads || 8, head: options.head ?? 4 });

/** The two requests of a state: without a mask and with the causal one. @param {{text: string, heads: number}} s */
const requestsOf = (s) => [{ text: s.text, heads: s.heads }, { text: s.text, heads: s.heads, causal: true }];

/** The requests the widget opens with (the build answers them ahead: built_answers.py). @param {object} options */
export const firstRequests = (options) => requestsOf(initialState(options));

/** @param {HTMLElement} host @param {{text?: string, heads?: number, head?: number}} options */
export function mount(host, options) {
  const state = initialState(options);
  host.classList.add("av-widget", "av-masking");
  const controls = el("div", "av-controls", host);
  textBox(controls, "Sentence", state.text, (v) => { state.text = v; compute(); });
  const picker = headPicker(controls, state, draw);
  const status = new StatusLine(host, getClient());
  const pair = el("div", "av-pair", host);
  const panels = ["No mask (encoder, e.g. BERT)", "Causal mask (decoder, e.g. GPT)"].map((title) => {
    const box = el("figure", null, pair);
    el("figcaption", null, box).textContent = title;
    return new Heatmap(el("div", null, box), { maxCell: 26, label: title });
  });
  const request = requester(host, status);
  let results = null;

  function draw() {
    if (!results) return;
    results.forEach((r, i) => panels[i].set(heatmapData(r, 0, state.head)));
    host.dataset.ready = "true";
  }

  async function compute() {
    const [plain, masked] = requestsOf(state);
    const [open, causal] = await Promise.all([request(plain, "open"), request(masked, "causal")]);
    if (!open || !causal) return;
    results = [open, causal];
    picker.update(open.built_roles.self);
    draw();
  }
  compute();
}
