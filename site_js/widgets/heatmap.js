/**
 * A compact heatmap with one control (head, temperature or causal mask), for the home page and
 * the articles. Options (data-options JSON): {text, heads, head, temperature, causal, control}.
 */
import { getClient, Superseded } from "../client.js";
import { Heatmap, el } from "../heatmap.js";
import { StatusLine } from "../status.js";

const DEFAULTS = { text: "The cat sat on the mat because it was tired.", heads: 8, head: 1,
  temperature: 1, causal: false, control: "head" };

/** Slice one head's matrix out of the (layers, heads, q, k) weights. */
export function headMatrix(weights, layer, head) {
  const [, heads, q, k] = weights.shape;
  const start = (layer * heads + head) * q * k;
  return weights.data.subarray(start, start + q * k);
}

/** @param {HTMLElement} host @param {object} options */
export function mount(host, options) {
  const state = { ...DEFAULTS, ...options };
  const client = getClient();
  host.classList.add("av-widget");
  const controls = el("div", "av-controls", host);
  const status = new StatusLine(host, client);
  const caption = el("p", "av-caption", host);
  const heatmap = new Heatmap(el("div", null, host), { label: "Attention weights of one head" });
  let result = null;

  const control = buildControl(controls, state, () => (state.control === "head" ? draw() : compute()));

  function draw() {
    if (!result) return;
    const toks = (list) => list.map((t) => t.text);
    const [, , q, k] = result.weights.shape;
    heatmap.set({ weights: headMatrix(result.weights, 0, state.head), rows: q, cols: k,
      rowLabels: toks(result.query_tokens), colLabels: toks(result.key_tokens) });
    const info = result.heads[state.head];
    caption.textContent = `Head ${state.head}: ${info.role}${info.description ? ` — ${info.description}` : ""}`;
    host.dataset.ready = "true";
  }

  async function compute() {
    status.setBusy(true);
    try {
      const r = await client.run({ text: state.text, heads: state.heads, causal: state.causal,
        temperature: state.temperature }, `heatmap-${widgetId(host)}`);
      if (!r.ok) { status.error(r.error.message, false); return; }
      status.clearError();
      result = r;
      control.update(result);
      draw();
    } catch (err) {
      if (!(err instanceof Superseded)) status.error(String(err.message || err), false);
    } finally {
      status.setBusy(false);
    }
  }
  compute();
}

/** The single control. @returns {{update: (result: object) => void}} */
function buildControl(parent, state, changed) {
  const label = el("label", "av-control", parent);
  if (state.control === "temperature") {
    const text = el("span", null, label);
    const input = el("input", null, label);
    Object.assign(input, { type: "range", min: "0.1", max: "5", step: "0.1", value: String(state.temperature) });
    const show = () => (text.textContent = `Temperature T = ${Number(state.temperature).toFixed(1)} `);
    show();
    input.addEventListener("input", () => { state.temperature = Number(input.value); show(); changed(); });
    return { update() {} };
  }
  if (state.control === "causal") {
    const input = el("input", null, label);
    input.type = "checkbox";
    input.checked = Boolean(state.causal);
    el("span", null, label).textContent = " Causal mask (each token sees only itself and the past)";
    input.addEventListener("change", () => { state.causal = input.checked; changed(); });
    return { update() {} };
  }
  el("span", null, label).textContent = "Head ";
  const select = el("select", null, label);
  select.addEventListener("change", () => { state.head = Number(select.value); changed(); });
  return {
    update(result) {
      if (select.options.length === result.heads.length) return;
      select.replaceChildren(...result.heads.map((h, i) => {
        const o = document.createElement("option");
        o.value = String(i);
        o.textContent = `${i}: ${h.role}`;
        return o;
      }));
      state.head = Math.min(state.head, result.heads.length - 1);
      select.value = String(state.head);
    },
  };
}

let counter = 0;
/** A stable id per mounted widget, for the client's latest-only channels. */
function widgetId(host) {
  if (!host.dataset.avId) host.dataset.avId = String(++counter);
  return host.dataset.avId;
}
