/**
 * A compact heatmap with one control (head, temperature or causal mask), for the home page and
 * the articles. Options (data-options JSON): {text, heads, head, temperature, causal, control}.
 */
import { getClient } from "../client.js";
import { Heatmap, el } from "../heatmap.js";
import { StatusLine } from "../status.js";
import { headPicker, heatmapData, requester, roleOf } from "./common.js";

const DEFAULTS = { text: "The cat sat on the mat because it was tired.", heads: 8, head: 1,
  temperature: 1, causal: false, control: "head" };

/** What the widget asks Python for its state. @param {typeof DEFAULTS} s */
const requestOf = (s) => ({ text: s.text, heads: s.heads, causal: s.causal, temperature: s.temperature });

/** The requests the widget opens with (the build answers them ahead: built_answers.py). @param {object} options */
export const firstRequests = (options) => [requestOf({ ...DEFAULTS, ...options })];

/** @param {HTMLElement} host @param {object} options */
export function mount(host, options) {
  const state = { ...DEFAULTS, ...options };
  host.classList.add("av-widget");
  const controls = el("div", "av-controls", host);
  const status = new StatusLine(host, getClient());
  const caption = el("p", "av-caption", host);
  const heatmap = new Heatmap(el("div", null, host), { label: "Attention weights of one head" });
  const request = requester(host, status);
  let result = null;

  const control = buildControl(controls, state, () => (state.control === "head" ? draw() : compute()));

  function draw() {
    if (!result) return;
    heatmap.set(heatmapData(result, 0, state.head));
    const info = roleOf(result, state.head);
    caption.textContent = `Head ${state.head + 1}: ${info.role} — ${info.description}`;
    host.dataset.ready = "true";
  }

  async function compute() {
    const r = await request(requestOf(state));
    if (!r) return;
    result = r;
    control.update(result.built_roles[result.request.stack]);
    draw();
  }
  compute();
}

/** The single control. @returns {{update: (heads: object[]) => void}} */
function buildControl(parent, state, changed) {
  if (state.control === "temperature") {
    const label = el("label", "av-control", parent);
    const text = el("span", null, label);
    const input = el("input", null, label);
    Object.assign(input, { type: "range", min: "0.1", max: "5", step: "0.1", value: String(state.temperature) });
    const show = () => (text.textContent = `Temperature T = ${Number(state.temperature).toFixed(1)} `);
    show();
    input.addEventListener("input", () => { state.temperature = Number(input.value); show(); changed(); });
    return { update() {} };
  }
  if (state.control === "causal") {
    const label = el("label", "av-control", parent);
    const input = el("input", null, label);
    input.type = "checkbox";
    input.checked = Boolean(state.causal);
    el("span", null, label).textContent = " Causal mask (each token sees only itself and the past)";
    input.addEventListener("change", () => { state.causal = input.checked; changed(); });
    return { update() {} };
  }
  return headPicker(parent, state, changed);
}
