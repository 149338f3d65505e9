/**
 * Token-to-token maps that combine or reweigh the attention: attention rollout and attention flow
 * (Abnar & Zuidema 2020: how much of a token at the output of a layer traces back to each input
 * token), and value-weighted attention (Kobayashi et al. 2020: ‖α_ij · v_j W_O‖, what each key
 * actually moves). Each is a heatmap for the layer (and head) in view, and bars over the input for
 * the chosen token's row.
 */
import { drawBars } from "../bars.js";
import { Heatmap, el } from "../heatmap.js";
import { headMatrix, matrixAt, tensor } from "../widgets/common.js";

/** @param {Float32Array} row @returns {Float32Array} the row divided by its sum (all 0 if it sums to 0) */
export function shares(row) {
  let total = 0;
  for (const v of row) total += v;
  return row.map((v) => (total > 0 ? v / total : 0));
}

const ABOUT = {
  rollout: "Rollout multiplies the layers' attention, each mixed half and half with the identity for the residual "
    + "connection: row i says how much of token i at the output of this layer traces back to each input token.",
  flow: "Flow treats the layers' mixed attention as a network of pipes and sends as much as it can from token i at "
    + "the output of this layer to each input token: a maximum flow, not a product of paths.",
  value_norm: "Value-weighted attention is the size of what each key sends, ‖α·v·W_O‖, not only its weight α: a key "
    + "with a large weight but a small value vector moves little.",
};

/** A bar chart's canvas in a scrolling figure, with a title when given. @returns {HTMLCanvasElement} */
function barChart(parent, title) {
  const box = el("div", "av-analysis__barbox", parent); // not a figure: Material shrinks those to their content
  if (title) el("p", "av-caption", box).textContent = title;
  return el("canvas", "av-analysis__bars", box);
}

export class LayerMapView {
  /**
   * @param {HTMLElement} root @param {import("./analysis.js").AnalysisActions} actions
   * @param {"rollout"|"flow"|"value_norm"} kind
   */
  constructor(root, actions, kind) {
    this.root = root;
    this.kind = kind;
    this.actions = actions;
    el("p", "av-caption", root).textContent = ABOUT[kind];
    if (kind === "rollout") {
      const wrap = el("label", "av-control", el("div", "av-controls", root));
      el("span", null, wrap).textContent = "Rollout of";
      this.heads = el("select", null, wrap);
      this.heads.dataset.control = "rollout_heads";
      for (const [value, name] of [["mean", "the mean of the heads"], ["each", "each head (the head in view)"]]) {
        this.heads.appendChild(Object.assign(document.createElement("option"), { value, textContent: name }));
      }
      this.heads.addEventListener("change", () => actions.changed({ rollout_heads: this.heads.value }));
    }
    this.caption = el("p", "av-detail-caption", root);
    this.caption.dataset.role = "map-caption";
    this.heatmap = new Heatmap(el("div", "av-analysis__map", root), {
      label: `${kind === "value_norm" ? "Value-weighted attention" : kind === "flow" ? "Attention flow" : "Attention rollout"}: rows are tokens at this layer's output, columns input tokens`,
      maxCell: 34, onSelect: (row) => actions.changed({ token: row }),
    });
    this.barsCaption = el("p", "av-caption", root);
    this.bars = barChart(root, kind === "value_norm" ? "Attention weights α of the chosen token" : "");
    this.compare = kind === "value_norm" ? barChart(root, "Shares of what is moved, ‖α·v·W_O‖ over the row's total") : null;
  }

  /** @param {import("./analysis.js").AnalysisContext} ctx */
  draw({ result, layer, head, token, queryLabels, keyLabels, stack }) {
    const t = tensor(result[this.kind]);
    const perHead = t.shape.length === 4;
    const [q, k] = t.shape.slice(-2);
    const matrix = perHead ? matrixAt(t, layer, head) : matrixAt(t, layer);
    if (this.heads) this.heads.value = result.request.rollout_heads || "mean";
    const where = `layer ${layer + 1}${perHead ? `, head ${head + 1}` : ""}`;
    this.caption.textContent = this.kind === "value_norm" ? `‖α·v·W_O‖ of ${where} (its raw weights α are in the Explorer's heatmap)`
      : `${this.kind === "flow" ? "Flow" : "Rollout"} up to and including ${where}${perHead ? "" : " (mean of the heads)"}`;
    this.heatmap.set({ weights: matrix, rows: q, cols: k, rowLabels: queryLabels, colLabels: keyLabels });
    this.heatmap.select(token);
    const row = matrix.subarray(token * k, (token + 1) * k);
    const few = k <= 24;
    const barOpts = { values: few, labelEvery: few ? 1 : Math.ceil(k / 24), maxWidth: 900, format: (v) => v.toFixed(2) };
    if (this.kind !== "value_norm") {
      this.barsCaption.textContent = `Where “${queryLabels[token]}” (token ${token}) comes from, over the input tokens:`;
      drawBars(this.bars, Array.from(row, (value, i) => ({ label: keyLabels[i], value })),
        { ...barOpts, name: `${this.kind} of ${queryLabels[token]} over the input` });
      return;
    }
    // Beside the raw weights: the share of the row each key takes by weight, and by what it moves.
    const raw = headMatrix(stack.weights, layer, head).subarray(token * k, (token + 1) * k);
    const moved = shares(row);
    const top = moved.reduce((best, v, i) => (v > moved[best] ? i : best), 0);
    const rawTop = raw.reduce((best, v, i) => (v > raw[best] ? i : best), 0);
    this.barsCaption.textContent = `“${queryLabels[token]}” (token ${token}): the largest weight goes to “${keyLabels[rawTop]}” `
      + `(${(raw[rawTop] * 100).toFixed(1)}% of the weight, ${(moved[rawTop] * 100).toFixed(1)}% of what is moved); `
      + `the most is moved from “${keyLabels[top]}” (${(moved[top] * 100).toFixed(1)}%).`;
    this.barsCaption.dataset.rawTop = String(rawTop);
    this.barsCaption.dataset.movedTop = String(top);
    const max = Math.max(1e-9, ...raw, ...moved); // one scale for both, so that they compare
    drawBars(this.bars, Array.from(raw, (value, i) => ({ label: keyLabels[i], value })),
      { ...barOpts, max, name: `Attention weights of ${queryLabels[token]}` });
    drawBars(this.compare, Array.from(moved, (value, i) => ({ label: keyLabels[i], value })),
      { ...barOpts, max, name: `Shares of what ${queryLabels[token]} moves from each key` });
  }
}
