/**
 * The neuron view (after bertviz's): for the chosen query and key of the head in view, q and k
 * dimension by dimension, their element-wise product, and its sum — the score the softmax sees,
 * once divided by √d — next to the weight the heatmap shows. Choose the pair with the two lists
 * or by choosing a cell of the heatmap.
 */
import { drawBars } from "../bars.js";
import { el } from "../heatmap.js";
import { tensor, visible } from "../widgets/common.js";

export class NeuronView {
  /** @param {HTMLElement} root @param {import("./analysis.js").AnalysisActions} actions */
  constructor(root, actions) {
    this.root = root;
    el("p", "av-caption", root).textContent = "Choose a query and a key (or a cell of the heatmap above): the score is "
      + "the sum of q × k over the head's dimensions.";
    const row = el("div", "av-controls", root);
    const pick = (label, key) => {
      const wrap = el("label", "av-control", row);
      el("span", null, wrap).textContent = label;
      const s = el("select", null, wrap);
      s.dataset.control = key;
      s.addEventListener("change", () => actions.changed({ [key]: Number(s.value) }));
      return s;
    };
    this.query = pick("Query", "query");
    this.key = pick("Key", "key");
    this.sum = el("p", "av-neuron__sum", root);
    this.sum.setAttribute("aria-live", "polite");
    this.rotary = el("p", "av-caption", root);
    this.charts = {};
    for (const [name, title] of [["q", "q (the query's vector)"], ["k", "k (the key's vector)"], ["product", "q × k, dimension by dimension"]]) {
      const box = el("div", "av-neuron__chart", root); // not a figure: Material shrinks those to their content
      el("p", "av-caption", box).textContent = title;
      this.charts[name] = el("canvas", null, box);
      this.charts[name].dataset.chart = name;
    }
  }

  /** @param {import("./analysis.js").AnalysisContext} ctx */
  draw({ result, queryLabels, keyLabels }) {
    const n = result.neuron;
    fill(this.query, queryLabels, n.query);
    fill(this.key, keyLabels, n.key);
    const q = tensor(n.q).data, k = tensor(n.k).data, product = tensor(n.product).data;
    const d = q.length;
    const where = `Layer ${n.layer + 1}, head ${n.head + 1}`;
    const tempered = n.temperature && n.temperature !== 1 ? `; ÷ T (${n.temperature}) = ${(n.scaled / n.temperature).toFixed(4)}` : "";
    this.sum.textContent = `${where}: “${visible(n.tokens.query)}” → “${visible(n.tokens.key)}”: Σ q×k = ${n.score.toFixed(4)}; `
      + `÷ √${d} = ${n.scaled.toFixed(4)}${tempered}; `
      + (n.masked ? "the causal mask hides this key from this query, so its weight is 0." : `after the softmax the weight is ${n.weight.toFixed(4)}.`);
    Object.assign(this.sum.dataset, { score: String(n.score), scaled: String(n.scaled), weight: String(n.weight) });
    this.rotary.textContent = n.rotary ? `${n.about || ""} The outlined bars are q and k before the rotation.` : "";
    this.rotary.hidden = !n.rotary;
    const scale = Math.max(absMax(q), absMax(k), n.rotary ? Math.max(absMax(tensor(n.q_unrotated).data), absMax(tensor(n.k_unrotated).data)) : 0);
    const opts = { signed: true, values: false, labelEvery: d > 32 ? 8 : 4, height: 120, maxWidth: 900 };
    const bars = (values) => Array.from(values, (value, i) => ({ label: String(i), value }));
    drawBars(this.charts.q, bars(q), { ...opts, max: scale, name: `q of ${queryLabels[n.query]}, ${d} dimensions` });
    drawBars(this.charts.k, bars(k), { ...opts, max: scale, name: `k of ${keyLabels[n.key]}, ${d} dimensions` });
    drawBars(this.charts.product, bars(product), { ...opts, name: `q × k by dimension; they sum to ${n.score.toFixed(4)}` });
    if (n.rotary) {
      overlay(this.charts.q, tensor(n.q_unrotated).data, scale, opts.height);
      overlay(this.charts.k, tensor(n.k_unrotated).data, scale, opts.height);
    }
  }
}

/** @param {Float32Array} a */
function absMax(a) {
  return a.reduce((m, v) => Math.max(m, Math.abs(v)), 1e-9);
}

/** Fill a token list (if it changed) and select one. @param {HTMLSelectElement} select @param {string[]} labels */
function fill(select, labels, value) {
  const names = labels.map((t, i) => `${i}: ${t}`);
  if ([...select.options].map((o) => o.textContent).join("\u0000") !== names.join("\u0000")) {
    select.replaceChildren(...names.map((name, i) => Object.assign(document.createElement("option"), { value: String(i), textContent: name })));
  }
  select.value = String(value);
}

/**
 * Outline the values before the rotation over a signed bar chart drawn by drawBars (same geometry:
 * its zero line and slots).
 * @param {HTMLCanvasElement} canvas @param {Float32Array} values @param {number} max @param {number} height
 */
function overlay(canvas, values, max, height) {
  const ctx = canvas.getContext("2d");
  const width = parseFloat(canvas.style.width);
  const top = 18, bottom = 22, span = height - top - bottom, zero = top + span / 2, slot = width / values.length;
  const barW = Math.max(1, Math.min(56, slot * 0.7));
  ctx.strokeStyle = getComputedStyle(canvas.parentElement).color;
  ctx.globalAlpha = 0.45;
  ctx.lineWidth = 1;
  values.forEach((v, i) => {
    const h = (v / max) * (span / 2);
    ctx.strokeRect(i * slot + (slot - barW) / 2 + 0.5, h >= 0 ? zero - h : zero, barW - 1, Math.abs(h));
  });
  ctx.globalAlpha = 1;
}
