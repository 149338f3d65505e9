/**
 * Why divide by sqrt(d_k): sample random q, k in d dimensions and compare Var(q·k) with
 * Var(q·k / sqrt d), and how peaked a softmax over 8 such scores gets. Numbers from
 * attnviz.demos.variance_demo. Options: {dims: number[], samples?: number}.
 */
import { getClient } from "../client.js";
import { drawBars } from "../bars.js";
import { el } from "../heatmap.js";
import { StatusLine } from "../status.js";
import { requester } from "./common.js";

/** @param {{dims?: number[], samples?: number}} options */
const initialState = (options) => ({ dims: options.dims || [4, 16, 64, 256], samples: options.samples || 2000, seed: 0 });

/** @param {{dims: number[], samples: number, seed: number}} s */
const requestOf = (s) => ({ kind: "variance", dims: s.dims, samples: s.samples, seed: s.seed });

/** The requests the widget opens with (the build answers them ahead: built_answers.py). @param {object} options */
export const firstRequests = (options) => [requestOf(initialState(options))];

/** @param {HTMLElement} host @param {{dims?: number[], samples?: number}} options */
export function mount(host, options) {
  const state = initialState(options);
  host.classList.add("av-widget", "av-variance");
  const controls = el("div", "av-controls", host);
  const again = el("button", "md-button av-button", controls);
  again.type = "button";
  again.textContent = "Sample again";
  again.addEventListener("click", () => { state.seed += 1; compute(); });
  const status = new StatusLine(host, getClient());
  const charts = el("div", "av-variance__charts", host);
  const rawBox = el("figure", null, charts);
  const rawCanvas = el("canvas", "av-bars", rawBox);
  el("figcaption", null, rawBox).textContent = "Variance of q·k (unscaled): grows like d";
  const scaledBox = el("figure", null, charts);
  const scaledCanvas = el("canvas", "av-bars", scaledBox);
  el("figcaption", null, scaledBox).textContent = "Variance of q·k / √d: stays near 1";
  const table = el("table", "av-table", host);
  const request = requester(host, status);

  async function compute() {
    const r = await request(requestOf(state));
    if (!r) return;
    drawBars(rawCanvas, r.rows.map((row) => ({ label: `d=${row.d}`, value: row.var_raw })), { format: (v) => v.toFixed(1) });
    drawBars(scaledCanvas, r.rows.map((row) => ({ label: `d=${row.d}`, value: row.var_scaled })),
      { max: 2, format: (v) => v.toFixed(2) });
    const head = ["d", "Var(q·k)", "Var(q·k/√d)", "largest softmax weight over 8 keys, unscaled", "… scaled"];
    const rows = r.rows.map((row) => [String(row.d), row.var_raw.toFixed(1), row.var_scaled.toFixed(2),
      row.max_weight_raw.toFixed(3), row.max_weight_scaled.toFixed(3)]);
    table.replaceChildren(...[head, ...rows].map((cells, ri) => {
      const tr = document.createElement("tr");
      cells.forEach((c) => { el(ri === 0 ? "th" : "td", null, tr).textContent = c; });
      return tr;
    }));
    host.dataset.ready = "true";
    host.dataset.seed = String(r.seed);
  }
  compute();
}
