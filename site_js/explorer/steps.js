/**
 * Step-by-step mode: X → Q, K, V → QKᵀ → ÷√d_k → ÷T → mask → softmax → A·V → concat · W_O, each
 * stage as small labelled matrices with their shape and formula. Hovering a cell of a (q × k)
 * stage, or moving to it with the arrow keys, explains where its number came from (the dot product,
 * scaling, exp and row sum), computed here from the intermediates attnviz returned: never in Python.
 */
import { VIRIDIS } from "../colormap.js";
import { el, moveCell } from "../heatmap.js";
import { scriptURL } from "../script-url.js";

/** @type {Promise<any>|null} KaTeX, loaded the first time a step is shown: no other view needs it
 * at run time (the pages' formulas are rendered when the site is built), so no page waits for it. */
let katexLoading = null;

/** @returns {Promise<any>} window.katex, or null where the site serves no KaTeX */
function loadKatex() {
  if (window.katex) return Promise.resolve(window.katex);
  katexLoading ||= new Promise((resolve) => {
    const script = document.createElement("script");
    script.onload = () => resolve(window.katex || null);
    script.onerror = () => resolve(null);
    script.src = scriptURL(new URL("../../vendor/katex/katex.min.js", import.meta.url));
    document.head.append(script);
  });
  return katexLoading;
}

/** Each stage: title, KaTeX formula, the intermediates it shows, a sentence. */
export const STAGES = [
  { title: "Input X", tex: "X \\in \\mathbb{R}^{n \\times d_{model}}", show: ["x_query", "x_key"],
    text: "One row per token: the vector the head reads. The synthetic model builds it (position code, word features, punctuation flag); in a real model it is the layer's input after its norm." },
  { title: "Queries, keys, values", tex: "Q = XW_Q,\\; K = XW_K,\\; V = XW_V", show: ["q", "k", "v"],
    text: "Three linear projections of the same rows (keys and values from the source in cross-attention)." },
  { title: "Rotary positions", only: "q_unrotated",
    tex: "q_i \\leftarrow R_{\\theta i}\\, q_i,\\; k_j \\leftarrow R_{\\theta j}\\, k_j \\;\\Rightarrow\\; q_i \\cdot k_j \\text{ depends on } i - j",
    show: ["q_unrotated", "q", "k_unrotated", "k"],
    text: "This model has no position vectors: RoPE turns each pair of coordinates of a query and a key by an angle that grows with the token's position (fast for the first pairs, slow for the last), so a dot product sees only how far apart two tokens are. Compare the rows before and after." },
  { title: "Scores", tex: "S = QK^\\top", show: ["scores"],
    text: "Every query's dot product with every key: large when they point the same way." },
  { title: "Scale", tex: "S / \\sqrt{d_k}", show: ["scaled"],
    text: "Dividing by √d_k keeps the scores' spread independent of the head size." },
  { title: "Temperature", tex: "S / (\\sqrt{d_k}\\, T)", show: ["tempered"],
    text: "T < 1 sharpens the softmax that follows, T > 1 flattens it." },
  { title: "Mask", tex: "S_{ij} = -\\infty \\text{ where } j \\text{ is hidden}", show: ["mask", "masked"],
    text: "Hidden keys (the future under a causal mask, padding) get −∞, so softmax gives them 0." },
  { title: "Softmax", tex: "A_{ij} = \\frac{e^{S_{ij}}}{\\sum_{j'} e^{S_{ij'}}}", show: ["pattern"],
    text: "Each row becomes positive weights that sum to 1: the attention heatmap." },
  { title: "Output", tex: "O = AV", show: ["z"],
    text: "Each token's output is the weighted average of the value rows." },
  { title: "All heads", only: "concat", tex: "\\operatorname{MultiHead} = \\operatorname{Concat}(O_1,\\dots,O_h)\\,W_O", show: ["concat", "w_o", "output"],
    text: "The heads' outputs side by side, mixed back to d_model by the output projection." },
];

const NAMES = { x_query: "X (queries)", x_key: "X (keys)", q: "Q", k: "K", v: "V", q_unrotated: "Q before rotation",
  k_unrotated: "K before rotation", scores: "QKᵀ",
  scaled: "÷ √d_k", tempered: "÷ T", mask: "Mask (1 = visible)", masked: "Masked scores", pattern: "A = softmax",
  z: "O = AV", concat: "Concat", w_o: "W_O", output: "Output" };
const QK = new Set(["scores", "scaled", "tempered", "mask", "masked", "pattern"]);
/** Matrices whose rows are the query tokens, or the key tokens (their columns are dimensions). */
const QUERY_ROWS = new Set(["x_query", "q", "q_unrotated", "z", "concat", "output", ...QK]);
const KEY_ROWS = new Set(["x_key", "k", "k_unrotated", "v"]);
const LABEL_PX = 11; // font size of the token labels; a label every few rows when cells are smaller
const LABEL_CHARS = 10;

/** PuOr, a colour-blind-safe diverging map: purple (negative), light grey (0), orange (positive). */
function diverging(t) {
  const ends = t < 0 ? [84, 39, 136] : [179, 88, 6];
  const a = Math.min(1, Math.abs(t));
  return [247, 247, 247].map((c, i) => Math.round(c + (ends[i] - c) * a));
}

/**
 * @typedef {object} MatrixGeom
 * @property {number} cellW css px per column
 * @property {number} cellH css px per row: taller than wide for a few tokens by many dimensions,
 *   so that each token's row has room for its label
 * @property {number} rows
 * @property {number} cols
 * @property {HTMLCanvasElement} image one pixel per cell
 */

/** Draw a matrix one pixel per cell, scaled up. @returns {MatrixGeom} */
function drawMatrix(canvas, tensor, weightsLike) {
  const [rows, cols] = tensor.shape.length === 2 ? tensor.shape : [1, tensor.shape[0]];
  const data = tensor.data;
  let absMax = 0;
  for (const v of data) if (Number.isFinite(v)) absMax = Math.max(absMax, Math.abs(v));
  absMax = absMax || 1;
  const off = document.createElement("canvas");
  off.width = cols;
  off.height = rows;
  const octx = off.getContext("2d");
  const img = octx.createImageData(cols, rows);
  for (let i = 0; i < rows * cols; i++) {
    const v = data[i];
    let rgb;
    if (!Number.isFinite(v)) rgb = [40, 40, 40]; // -inf: masked
    else if (weightsLike) { const l = Math.round(Math.min(1, v / absMax) * 255) * 3; rgb = [VIRIDIS[l], VIRIDIS[l + 1], VIRIDIS[l + 2]]; }
    else rgb = diverging(v / absMax);
    img.data.set([...rgb, 255], i * 4);
  }
  octx.putImageData(img, 0, 0);
  const cellW = Math.max(1, Math.min(16, Math.floor(260 / Math.max(rows, cols))));
  const cellH = Math.max(cellW, Math.min(16, Math.floor(260 / rows)));
  const dpr = window.devicePixelRatio || 1;
  canvas.width = cols * cellW * dpr;
  canvas.height = rows * cellH * dpr;
  canvas.style.width = `${cols * cellW}px`;
  canvas.style.height = `${rows * cellH}px`;
  const geom = { cellW, cellH, rows, cols, image: off };
  paintMatrix(canvas, geom, null);
  return geom;
}

/**
 * Paint a matrix's cells, and outline the keyboard cursor's cell.
 * @param {HTMLCanvasElement} canvas @param {MatrixGeom} geom @param {{row: number, col: number}|null} cursor
 */
function paintMatrix(canvas, geom, cursor) {
  const ctx = canvas.getContext("2d");
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(geom.image, 0, 0, canvas.width, canvas.height);
  if (!cursor) return;
  const w = canvas.width / geom.cols, h = canvas.height / geom.rows;
  ctx.strokeStyle = "#ff7043";
  ctx.lineWidth = Math.max(1, Math.min(w, h) / 6);
  ctx.strokeRect(cursor.col * w, cursor.row * h, w, h);
}

/**
 * Token labels along one side of a matrix, on a canvas of their own (so the matrix's cells keep
 * their coordinates): every token when cells are tall enough, else every n-th, numbered.
 * @param {string[]} labels @param {number} cell css px per cell @param {boolean} across columns (rotated) instead of rows
 * @param {string} color @returns {HTMLCanvasElement}
 */
function labelCanvas(labels, cell, across, color) {
  const canvas = document.createElement("canvas");
  canvas.className = across ? "av-steps__cols" : "av-steps__rows";
  const every = Math.ceil(LABEL_PX / cell);
  const shown = labels.map((t, i) => (i % every ? "" : every > 1 ? `${i} ${short(t)}` : short(t)));
  const ctx = canvas.getContext("2d");
  const font = `${LABEL_PX}px system-ui, sans-serif`;
  ctx.font = font;
  const depth = Math.ceil(Math.max(...shown.map((t) => ctx.measureText(t).width), 0)) + 6;
  const length = labels.length * cell;
  const [w, h] = across ? [length, depth] : [depth, length];
  const dpr = window.devicePixelRatio || 1;
  canvas.width = Math.round(w * dpr);
  canvas.height = Math.round(h * dpr);
  canvas.style.width = `${w}px`;
  canvas.style.height = `${h}px`;
  ctx.scale(dpr, dpr);
  ctx.font = font;
  ctx.fillStyle = color;
  ctx.textBaseline = "middle";
  shown.forEach((t, i) => {
    if (!t) return;
    const at = (i + 0.5) * cell;
    if (!across) { ctx.textAlign = "right"; ctx.fillText(t, depth - 4, at); return; }
    ctx.save();
    ctx.translate(at, depth - 3);
    ctx.rotate(-Math.PI / 2);
    ctx.textAlign = "left";
    ctx.fillText(t, 0, 0);
    ctx.restore();
  });
  canvas.setAttribute("aria-hidden", "true"); // the cells' explanations name the tokens
  canvas.dataset.labels = String(shown.filter(Boolean).length);
  return canvas;
}

/** @param {string} t */
function short(t) {
  const chars = Array.from(t.replace(/\r?\n/g, "⏎"));
  return chars.length > LABEL_CHARS ? `${chars.slice(0, LABEL_CHARS - 1).join("")}…` : chars.join("");
}

const fmt = (v) => (Number.isFinite(v) ? (Math.abs(v) >= 1000 || (Math.abs(v) < 0.001 && v !== 0) ? v.toExponential(2) : v.toFixed(3)) : "−∞");

export class Steps {
  /** @param {HTMLElement} parent @param {(stage: number) => void} onStage */
  constructor(parent, onStage) {
    this.onStage = onStage;
    this.root = el("section", "av-steps", parent);
    this.root.tabIndex = 0;
    this.root.setAttribute("aria-label", "Step-by-step computation. Left and right arrow keys change the step.");
    const nav = el("div", "av-steps__nav", this.root);
    this.back = el("button", "md-button av-button", nav);
    this.back.type = "button";
    this.back.textContent = "← Back";
    this.title = el("strong", "av-steps__title", nav);
    this.title.setAttribute("aria-live", "polite");
    this.next = el("button", "md-button av-button", nav);
    this.next.type = "button";
    this.next.textContent = "Next →";
    this.formula = el("div", "av-steps__formula", this.root);
    this.text = el("p", "av-caption", this.root);
    this.mats = el("div", "av-steps__mats", this.root);
    this.explain = el("pre", "av-steps__explain", this.root);
    this.explain.setAttribute("aria-live", "polite");
    this.back.addEventListener("click", () => this.go(this.stage - 1));
    this.next.addEventListener("click", () => this.go(this.stage + 1));
    this.root.addEventListener("keydown", (e) => {
      if (e.target !== this.root) return;
      if (e.key === "ArrowRight") { e.preventDefault(); this.go(this.stage + 1); }
      if (e.key === "ArrowLeft") { e.preventDefault(); this.go(this.stage - 1); }
    });
    this.stage = 0;
    this.result = null;
  }

  /** The stages this result has: a stage marked `only` needs that intermediate in the trace. */
  get stages() {
    const trace = this.result && this.result.trace;
    return STAGES.filter((st) => !st.only || (trace && st.only in trace));
  }

  go(stage) {
    const s = Math.max(0, Math.min(this.stages.length - 1, stage));
    if (s === this.stage) return;
    this.stage = s;
    this.onStage(s);
    this.render();
  }

  /** @param {object} result with a trace @param {number} stage */
  draw(result, stage) {
    this.result = result;
    this.stage = Math.max(0, Math.min(this.stages.length - 1, stage));
    this.render();
  }

  render() {
    const st = this.stages[this.stage];
    const inter = this.result && this.result.trace;
    this.title.textContent = `Step ${this.stage + 1} of ${this.stages.length}: ${st.title}`;
    this.setEnds();
    this.formula.textContent = st.tex; // as TeX until KaTeX is here (and where a site serves none)
    loadKatex().then((katex) => {
      if (katex && this.stages[this.stage] === st) katex.render(st.tex, this.formula, { throwOnError: false, displayMode: true });
    });
    this.text.textContent = st.text + this.sharedKV(st);
    this.explain.textContent = "";
    if (!inter) { this.mats.replaceChildren(); return; }
    const selfAttention = this.result.request.mode === "self" && this.result.request.stack !== "cross";
    const figures = [];
    for (const name of st.show) {
      const tensor = inter[name];
      if (!tensor || (name === "x_key" && selfAttention)) continue;
      const fig = el("figure", "av-steps__mat");
      const cap = el("figcaption", null, fig);
      const grid = el("div", "av-steps__grid", fig);
      const canvas = document.createElement("canvas");
      const geom = drawMatrix(canvas, tensor, name === "pattern" || name === "mask");
      canvas.dataset.matrix = name;
      // Token labels: rows are the query or key tokens; a (q × k) stage's columns are the keys.
      const tokens = this.result.trace_tokens;
      const rows = QUERY_ROWS.has(name) ? tokens.query : KEY_ROWS.has(name) ? tokens.key : null;
      const color = getComputedStyle(this.root).color;
      const labelled = rows && rows.length === geom.rows;
      grid.classList.toggle("av-steps__grid--cols", labelled && QK.has(name));
      if (labelled && QK.has(name)) {
        el("span", null, grid);
        grid.appendChild(labelCanvas(tokens.key.map((t) => t.text), geom.cellW, true, color));
      }
      if (labelled) grid.appendChild(labelCanvas(rows.map((t) => t.text), geom.cellH, false, color));
      grid.appendChild(canvas);
      cap.textContent = `${name === "x_query" && selfAttention ? "X" : NAMES[name]}  (${geom.rows} × ${geom.cols})`;
      canvas.setAttribute("role", "img");
      canvas.setAttribute("aria-label", `${NAMES[name]}, ${geom.rows} by ${geom.cols}. Use the arrow keys to explain a cell.`);
      canvas.addEventListener("mousemove", (e) => {
        const r = canvas.getBoundingClientRect();
        const i = Math.floor((e.clientY - r.top) / geom.cellH), j = Math.floor((e.clientX - r.left) / geom.cellW);
        if (i >= 0 && j >= 0 && i < geom.rows && j < geom.cols) this.explainCell(name, i, j);
      });
      this.readByKeyboard(canvas, name, geom);
      figures.push(fig);
    }
    this.mats.replaceChildren(...figures);
  }

  /** For grouped-query attention, at the projections: which key/value head this query head reads. @param {object} st */
  sharedKV(st) {
    const r = this.result, inter = r && r.trace;
    if (!inter || inter.kv_head === undefined || !st.show.includes("k")) return "";
    const group = r.model.heads / r.model.kv_heads;
    const heads = Array.from({ length: group }, (_, i) => inter.kv_head * group + i + 1);
    return ` Grouped-query attention: ${r.model.heads} query heads share ${r.model.kv_heads} key/value heads, so K and V ` +
      `here belong to key/value head ${inter.kv_head + 1}, which query heads ${heads.join(", ")} all read.`;
  }

  /** Disable Back on the first step and Next on the last; a button disabled under the focus would
   * drop it to the page, so the focus stays in the step view, where the arrow keys still work. */
  setEnds() {
    const focused = document.activeElement;
    this.back.disabled = this.stage === 0;
    this.next.disabled = this.stage === this.stages.length - 1;
    if ((focused === this.back || focused === this.next) && focused.disabled) this.root.focus();
  }

  /**
   * Keyboard users get what hovering gives: the matrix is a tab stop, and the arrow keys move an
   * outlined cursor over its cells and explain the cell under it.
   * @param {HTMLCanvasElement} canvas @param {string} name @param {MatrixGeom} geom
   */
  readByKeyboard(canvas, name, geom) {
    canvas.tabIndex = 0;
    let cursor = null;
    canvas.addEventListener("keydown", (e) => {
      const next = moveCell(cursor, e.key, geom.rows, geom.cols);
      if (!next) return;
      e.preventDefault();
      cursor = next;
      paintMatrix(canvas, geom, cursor);
      this.explainCell(name, cursor.row, cursor.col);
    });
    canvas.addEventListener("blur", () => paintMatrix(canvas, geom, null));
    canvas.addEventListener("focus", () => cursor && paintMatrix(canvas, geom, cursor));
  }

  /** Where the number at (i, j) of a stage came from. */
  explainCell(name, i, j) {
    const r = this.result, inter = r.trace;
    const cols = inter[name].shape[1];
    const value = inter[name].data[i * cols + j];
    if (!QK.has(name)) {
      this.explain.textContent = `${NAMES[name]}[${i}, ${j}] = ${fmt(value)}`;
      return;
    }
    const q = r.trace_tokens.query[i].text, k = r.trace_tokens.key[j].text;
    const dk = inter.d_k, T = inter.temperature;
    const [, d] = inter.q.shape;
    let dot = 0;
    for (let t = 0; t < d; t++) dot += inter.q.data[i * d + t] * inter.k.data[j * d + t];
    const visible = inter.mask.data[i * cols + j] > 0;
    const row = inter.masked.data.subarray(i * cols, (i + 1) * cols);
    let max = -Infinity;
    for (const v of row) if (v > max) max = v;
    let sum = 0;
    for (const v of row) if (Number.isFinite(v)) sum += Math.exp(v - max);
    const e = visible ? Math.exp(inter.masked.data[i * cols + j] - max) : 0;
    this.explain.textContent = [
      `“${q}” (query ${i}) → “${k}” (key ${j})`,
      `q·k = Σ_t q[t]·k[t] over ${d} dims = ${fmt(dot)}`,
      `÷ √d_k = ÷ ${fmt(Math.sqrt(dk))}  → ${fmt(dot / Math.sqrt(dk))}`,
      `÷ T = ÷ ${fmt(T)}  → ${fmt(dot / Math.sqrt(dk) / T)}`,
      visible ? "mask: visible" : "mask: hidden → −∞",
      `exp(s − row max) = exp(${fmt(visible ? inter.masked.data[i * cols + j] : -Infinity)} − ${fmt(max)}) = ${fmt(e)}`,
      `row sum of exp = ${fmt(sum)}`,
      `weight = ${fmt(e)} / ${fmt(sum)} = ${fmt(sum > 0 ? e / sum : 0)}   (attnviz: ${fmt(inter.pattern.data[i * cols + j])})`,
    ].join("\n");
  }
}
