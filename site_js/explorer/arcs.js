/**
 * Arcs from the selected query token to the keys it attends to: tokens in a row, one arc per key,
 * line width and opacity by weight, drawn on canvas (user text is drawn, never parsed as HTML).
 * Next to it, the ranked list of the token's top keys.
 */
import { el } from "../heatmap.js";

const FONT = "13px system-ui, sans-serif";
const PAD = 10;
const MAX_ARCS = 16; // past this many keys, arcs go to the strongest only: hundreds of faint arcs hide them all

export class Arcs {
  /** @param {HTMLElement} parent */
  constructor(parent) {
    this.root = el("div", "av-arcs", parent);
    this.caption = el("p", "av-caption", this.root);
    this.scroll = el("div", "av-arcs__scroll", this.root);
    this.canvas = el("canvas", null, this.scroll);
    this.canvas.setAttribute("role", "img");
    this.canvas.setAttribute("aria-label", "Arcs from the selected token to the tokens it attends to (not drawn yet)");
    this.list = el("ol", "av-topkeys", this.root);
  }

  /**
   * @param {{text: string}[]} keys @param {string} queryText @param {number} queryIndex
   * @param {Float32Array} row (k,) weights of the selected query @param {boolean} sameRow keys are the queries
   */
  draw(keys, queryText, queryIndex, row, sameRow) {
    const strongest = Array.from(row.keys()).sort((a, b) => row[b] - row[a]).slice(0, MAX_ARCS);
    const drawn = keys.length > MAX_ARCS ? new Set(strongest) : null; // null: every key
    this.caption.textContent = `Where “${queryText}” (position ${queryIndex}) looks: ` + (drawn
      ? `arcs to its ${MAX_ARCS} strongest keys of ${keys.length}, thicker and bolder for more weight (the heatmap's row has them all).`
      : "arcs to every key, thicker and bolder for more weight.");
    const ctx = this.canvas.getContext("2d");
    ctx.font = FONT;
    const widths = keys.map((t) => Math.min(120, ctx.measureText(t.text).width) + 12);
    const xs = [];
    let x = PAD;
    for (const w of widths) { xs.push(x + w / 2); x += w; }
    const width = Math.min(x + PAD, 30000);
    const max = Math.max(...row, 1e-9);
    const from = sameRow ? xs[queryIndex] : width / 2;
    const height = 40 + Math.min(180, (Math.max(...xs.map((c) => Math.abs(c - from))) || 1) / 2.2);
    const dpr = window.devicePixelRatio || 1;
    this.canvas.width = Math.round(width * dpr);
    this.canvas.height = Math.round(height * dpr);
    this.canvas.style.width = `${width}px`;
    this.canvas.style.height = `${height}px`;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const style = getComputedStyle(this.root);
    const accent = style.getPropertyValue("--md-accent-fg-color").trim() || "#ff6e42";
    const base = height - 22;
    ctx.lineCap = "round";
    keys.forEach((_, j) => {
      const w = row[j] / max;
      if (w < 0.01 || (drawn && !drawn.has(j))) return;
      ctx.strokeStyle = accent;
      ctx.globalAlpha = 0.15 + 0.85 * w;
      ctx.lineWidth = 0.5 + 6 * w;
      ctx.beginPath();
      const mid = (from + xs[j]) / 2, rise = Math.min(base - 6, Math.abs(xs[j] - from) / 2.2 + 10);
      ctx.moveTo(from, base);
      ctx.quadraticCurveTo(mid, base - rise * 2, xs[j], base);
      ctx.stroke();
    });
    ctx.globalAlpha = 1;
    ctx.font = FONT;
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    keys.forEach((t, j) => {
      ctx.fillStyle = sameRow && j === queryIndex ? accent : style.color;
      ctx.fillText(t.text.length > 14 ? `${Array.from(t.text).slice(0, 13).join("")}…` : t.text, xs[j], base + 4);
    });
    this.canvas.setAttribute("aria-label", `Arcs from ${queryText} to the keys it attends to.`);
    this.drawList(keys, row);
    // A long text is wider than the panel: bring the selected token (or, for another text's keys,
    // its strongest key) to the middle of the view.
    const focus = sameRow ? xs[queryIndex] : xs[strongest[0]];
    this.scroll.scrollLeft = Math.max(0, focus - this.scroll.clientWidth / 2);
    this.canvas.dataset.focusX = String(Math.round(focus)); // for tests: where the selected token is drawn
  }

  /** The top keys of the row, ranked, with bars. */
  drawList(keys, row) {
    const order = Array.from(row.keys()).sort((a, b) => row[b] - row[a]).slice(0, 8);
    this.list.replaceChildren(...order.map((j) => {
      const li = document.createElement("li");
      const name = el("span", "av-topkeys__token", li);
      name.textContent = keys[j].text;
      el("span", "av-topkeys__pos", li).textContent = `#${j}`;
      const bar = el("span", "av-topkeys__bar", li);
      bar.style.width = `${(row[j] / (row[order[0]] || 1)) * 6}em`;
      el("span", "av-topkeys__weight", li).textContent = row[j].toFixed(3);
      return li;
    }));
  }
}
