/**
 * Cross-attention: queries from one sentence (the decoder side), keys and values from another
 * (the encoder side), so the matrix is (target tokens x source tokens). Options: {text, source, heads, head}.
 */
import { getClient } from "../client.js";
import { Heatmap, el } from "../heatmap.js";
import { StatusLine } from "../status.js";
import { headPicker, heatmapData, requester, roleOf, stackOf, textBox } from "./common.js";

/** @param {HTMLElement} host @param {{text?: string, source?: string, heads?: number, head?: number}} options */
export function mount(host, options) {
  const state = { text: options.text || "Le chat est assis sur le tapis.",
    source: options.source || "The cat is sitting on the mat.", heads: options.heads || 8, head: options.head ?? 0 };
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
    const r = await request({ text: state.text, source: state.source, mode: "cross", heads: state.heads });
    if (!r) return;
    result = r;
    picker.update(r.roles.cross);
    draw();
  }
  compute();
}
