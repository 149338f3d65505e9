/**
 * The query–key map (after AttentionViz): the q and k vectors of every token of several sentences,
 * for the head in view, projected together onto their two main axes; queries and keys in two
 * colours, the strongest query→key pairs joined by lines. Hover a point, or tab to the map and use
 * the arrow keys, to read its token and sentence.
 */
import { el } from "../heatmap.js";
import { tensor, visible } from "../widgets/common.js";

const QUERY_COLOUR = "#e66100", KEY_COLOUR = "#5d3a9b"; // orange and purple: apart for colour-blind readers too
const PAD = 28;

export class QueryKeyMapView {
  /** @param {HTMLElement} root @param {import("./analysis.js").AnalysisActions} actions */
  constructor(root, actions) {
    this.root = root;
    const wrap = el("label", "av-control av-control--wide", el("div", "av-controls", root));
    el("span", null, wrap).textContent = "More sentences, one per line (empty: the model's own set)";
    this.sentences = el("textarea", null, wrap);
    Object.assign(this.sentences, { rows: 3, spellcheck: false });
    this.sentences.dataset.control = "sentences";
    let timer = 0;
    this.sentences.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(() => actions.changed({ sentences: this.sentences.value }), 400);
    });
    this.caption = el("p", "av-detail-caption", root);
    this.legend = el("p", "av-caption av-qk__legend", root);
    const q = el("span", "av-qk__swatch", this.legend);
    q.style.background = QUERY_COLOUR;
    el("span", null, this.legend).textContent = " queries  ";
    const k = el("span", "av-qk__swatch", this.legend);
    k.style.background = KEY_COLOUR;
    el("span", null, this.legend).textContent = " keys; lines join the strongest query → key pairs";
    this.box = el("div", "av-qk", root);
    this.canvas = el("canvas", "av-qk__canvas", this.box);
    this.canvas.tabIndex = 0;
    this.canvas.setAttribute("role", "img");
    this.tooltip = el("div", "av-tooltip", this.box);
    this.tooltip.hidden = true;
    this.live = el("div", "av-sr-only", root);
    this.live.setAttribute("aria-live", "polite");
    this.focus = -1;
    // Drawn while its panel had no width yet (or the window changed): draw again at the new size.
    new ResizeObserver(() => this.points && this.render()).observe(this.box);
    this.canvas.addEventListener("mousemove", (e) => {
      const r = this.canvas.getBoundingClientRect();
      this.hover(this.nearest(e.clientX - r.left, e.clientY - r.top));
    });
    this.canvas.addEventListener("mouseleave", () => this.hover(-1));
    this.canvas.addEventListener("keydown", (e) => {
      if (!this.points || (e.key !== "ArrowRight" && e.key !== "ArrowLeft")) return;
      e.preventDefault();
      const n = this.points.length, right = e.key === "ArrowRight";
      this.focus = this.focus < 0 ? (right ? 0 : n - 1) : (this.focus + (right ? 1 : n - 1)) % n;
      this.hover(this.focus);
      this.live.textContent = this.describe(this.focus);
    });
  }

  /** @param {import("./analysis.js").AnalysisContext} ctx */
  draw({ result, state }) {
    const m = result.qk_map;
    if (document.activeElement !== this.sentences) this.sentences.value = state.sentences;
    const queries = tensor(m.queries), keys = tensor(m.keys);
    const n = queries.shape[0], nk = keys.shape[0];
    const keyTokens = m.key_tokens || m.tokens; // a cross stack's keys are other tokens than its queries
    const explained = (m.explained || []).map((v) => `${(v * 100).toFixed(0)}%`).join(" and ");
    this.caption.textContent = `Layer ${m.layer + 1}, head ${m.head + 1}: ${n} queries and ${nk} keys of ${m.sentences.length} sentences, `
      + `queries and keys projected together onto their two main axes${explained ? ` (${explained} of the variance)` : ""}.`;
    /** @type {{x: number, y: number, kind: string, token: object}[]} */
    this.points = []; // every query, then every key
    for (let i = 0; i < n; i++) this.points.push({ x: queries.data[2 * i], y: queries.data[2 * i + 1], kind: "query", token: m.tokens[i] });
    for (let i = 0; i < nk; i++) this.points.push({ x: keys.data[2 * i], y: keys.data[2 * i + 1], kind: "key", token: keyTokens[i] });
    this.queryCount = n;
    this.sentenceTexts = m.sentences;
    this.pairs = m.pairs;
    this.canvas.setAttribute("aria-label", `Query–key map of ${n} queries and ${nk} keys: queries orange circles, keys purple squares. `
      + "Use the left and right arrow keys to read the points.");
    this.render();
    this.root.dataset.points = String(this.points.length);
    this.root.dataset.pairs = String(m.pairs.length);
  }

  /** Geometry and drawing: points scaled into the canvas, pairs as lines under them. */
  render() {
    const width = Math.max(280, Math.min(760, this.box.clientWidth - 4)), height = Math.round(width * 0.7);
    const dpr = window.devicePixelRatio || 1;
    Object.assign(this.canvas, { width: width * dpr, height: height * dpr });
    Object.assign(this.canvas.style, { width: `${width}px`, height: `${height}px` });
    const xs = this.points.map((p) => p.x), ys = this.points.map((p) => p.y);
    const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
    const sx = (width - 2 * PAD) / (x1 - x0 || 1), sy = (height - 2 * PAD) / (y1 - y0 || 1);
    for (const p of this.points) { p.px = PAD + (p.x - x0) * sx; p.py = height - PAD - (p.y - y0) * sy; }
    const ctx = this.canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    const strongest = Math.max(1e-9, ...this.pairs.map((p) => p[2]));
    ctx.strokeStyle = getComputedStyle(this.box).color;
    for (const [qi, ki, w] of this.pairs) {
      const a = this.points[qi], b = this.points[this.queryCount + ki];
      ctx.globalAlpha = 0.15 + 0.6 * (w / strongest);
      ctx.beginPath();
      ctx.moveTo(a.px, a.py);
      ctx.lineTo(b.px, b.py);
      ctx.stroke();
    }
    ctx.globalAlpha = 0.85;
    for (const p of this.points) {
      ctx.fillStyle = p.kind === "query" ? QUERY_COLOUR : KEY_COLOUR;
      ctx.beginPath();
      if (p.kind === "query") ctx.arc(p.px, p.py, 4, 0, 2 * Math.PI);
      else ctx.rect(p.px - 3.5, p.py - 3.5, 7, 7); // keys square: not colour alone
      ctx.fill();
    }
    ctx.globalAlpha = 1;
  }

  /** The point nearest (x, y) within 10 px, or -1. */
  nearest(x, y) {
    let best = -1, dist = 100;
    this.points.forEach((p, i) => {
      const d = (p.px - x) ** 2 + (p.py - y) ** 2;
      if (d < dist) { dist = d; best = i; }
    });
    return best;
  }

  /** "query “cat” (token 2) — sentence 1: The cat sat." @param {number} i */
  describe(i) {
    const p = this.points[i];
    return `${p.kind} “${visible(p.token.text)}” (token ${p.token.index}) — sentence ${p.token.sentence + 1}: ${this.sentenceTexts[p.token.sentence]}`;
  }

  /** Show the tooltip and a ring for point i (-1: none). */
  hover(i) {
    this.render();
    if (i < 0 || !this.points) { this.tooltip.hidden = true; return; }
    const p = this.points[i];
    this.canvas.dataset.point = JSON.stringify({ x: p.px, y: p.py }); // where it is, in css px: for tests
    const ctx = this.canvas.getContext("2d");
    ctx.strokeStyle = "#ff7043";
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.arc(p.px, p.py, 8, 0, 2 * Math.PI);
    ctx.stroke();
    ctx.lineWidth = 1;
    this.tooltip.textContent = this.describe(i); // text, never HTML
    this.tooltip.hidden = false;
    this.tooltip.style.left = `${Math.min(p.px + 12, this.box.clientWidth - 240)}px`;
    this.tooltip.style.top = `${p.py + 12}px`;
  }
}
