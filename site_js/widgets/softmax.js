/**
 * Softmax/temperature playground: edit a few scores, move the temperature, watch the weights.
 * Python computes every number (attnviz.demos.softmax_demo); this only draws.
 * Options: {scores: number[], temperature: number}.
 */
import { getClient } from "../client.js";
import { drawBars } from "../bars.js";
import { el } from "../heatmap.js";
import { StatusLine } from "../status.js";
import { requester } from "./common.js";

/** @param {{scores?: number[], temperature?: number}} options */
const initialState = (options) => ({ scores: options.scores || [2.0, 1.0, 0.1, -1.0], temperature: options.temperature ?? 1.0 });

/** @param {{scores: number[], temperature: number}} s */
const requestOf = (s) => ({ kind: "softmax", scores: s.scores, temperature: s.temperature });

/** The requests the widget opens with (the build answers them ahead: built_answers.py). @param {object} options */
export const firstRequests = (options) => [requestOf(initialState(options))];

/** @param {HTMLElement} host @param {{scores?: number[], temperature?: number}} options */
export function mount(host, options) {
  const state = initialState(options);
  host.classList.add("av-widget", "av-softmax");
  const controls = el("div", "av-controls", host);
  const inputs = state.scores.map((s, i) => {
    const label = el("label", "av-control", controls);
    el("span", null, label).textContent = `Score ${i + 1}`;
    const input = el("input", null, label);
    Object.assign(input, { type: "number", step: "0.1", value: String(s) });
    input.style.width = "5em";
    input.addEventListener("input", compute);
    return input;
  });
  const tLabel = el("label", "av-control", controls);
  const tText = el("span", null, tLabel);
  const slider = el("input", null, tLabel);
  Object.assign(slider, { type: "range", min: "0.05", max: "5", step: "0.05", value: String(state.temperature) });
  slider.addEventListener("input", compute);
  const status = new StatusLine(host, getClient());
  const canvas = el("canvas", "av-bars", host);
  const table = el("table", "av-table", host);
  const summary = el("p", "av-caption", host);
  const request = requester(host, status);

  async function compute() {
    state.temperature = Number(slider.value);
    tText.textContent = `Temperature T = ${state.temperature.toFixed(2)}`;
    const scores = inputs.map((i) => Number(i.value));
    if (inputs.some((i) => i.value.trim() === "" || !Number.isFinite(Number(i.value)))) {
      status.error("Every score must be a number.", false);
      return;
    }
    const r = await request(requestOf({ scores, temperature: state.temperature }));
    if (!r) return;
    drawBars(canvas, r.weights.map((w, i) => ({ label: `p${i + 1}`, value: w })), { max: 1 });
    const rows = [["", ...scores.map((_, i) => `token ${i + 1}`)],
      ["score s", ...r.scores.map((v) => v.toFixed(2))],
      ["s / T", ...r.tempered.map((v) => v.toFixed(3))],
      ["exp(s/T − max)", ...r.exp.map((v) => v.toFixed(4))],
      ["p = exp / sum", ...r.weights.map((v) => v.toFixed(4))]];
    table.replaceChildren(...rows.map((cells, ri) => {
      const tr = document.createElement("tr");
      cells.forEach((c) => { el(ri === 0 ? "th" : "td", null, tr).textContent = c; });
      return tr;
    }));
    summary.textContent = `Sum of exp = ${r.sum.toFixed(4)}. Entropy H = ${r.entropy_bits.toFixed(3)} bits `
      + `(uniform would be ${r.max_entropy_bits.toFixed(3)} bits). Lower T sharpens, higher T flattens.`;
    host.dataset.ready = "true";
  }
  compute();
}
