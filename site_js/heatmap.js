/**
 * A canvas heatmap of one attention matrix: rows are queries (attending from), columns are keys
 * (attending to). Cells are drawn one pixel each into an offscreen canvas and scaled up with
 * smoothing off (crisp at any size, fast at 512 x 512); labels are drawn as canvas text, so user
 * text is never interpreted as HTML. Hover and keyboard focus draw on an overlay canvas and never
 * touch the cells or Python.
 */
import { DIVERGING, VIRIDIS, cssColor, divergingColor } from "./colormap.js";
import { currentPage } from "./page.js";

const LABEL_FONT = "12px system-ui, sans-serif";
const MAX_LABEL_CHARS = 12;

/** @param {string} s */
function shortLabel(s) {
  const chars = Array.from(s);
  return chars.length > MAX_LABEL_CHARS ? chars.slice(0, MAX_LABEL_CHARS - 1).join("") + "…" : s;
}

/**
 * @typedef {object} HeatmapData
 * @property {Float32Array} weights (rows * cols) row-major
 * @property {number} rows
 * @property {number} cols
 * @property {string[]} rowLabels
 * @property {string[]} colLabels
 * @property {boolean} [rowScale] colour each row by its own maximum
 * @property {number} [vmax] the top of the colour scale (default: the largest weight shown)
 * @property {string} [scaleName] what the legend says of the scale, e.g. "0 → 1, the same for all heads"
 * @property {boolean} [signed] signed values (a difference): a diverging map from -max|w| to +max|w|
 */

export class Heatmap {
  /**
   * @param {HTMLElement} host
   * @param {{maxCell?: number, minCell?: number, label?: string, onSelect?: (row: number) => void,
   *   onCell?: (row: number, col: number) => void}} [opts] onCell: a cell clicked, or Enter on the cell in focus
   */
  constructor(host, opts = {}) {
    this.opts = { maxCell: 34, minCell: 2, label: "Attention heatmap", ...opts };
    this.host = host;
    host.classList.add("av-heatmap");
    this.scroller = el("div", "av-heatmap__scroll", host);
    this.stack = el("div", "av-heatmap__stack", this.scroller);
    this.canvas = el("canvas", "av-heatmap__cells", this.stack);
    this.overlay = el("canvas", "av-heatmap__overlay", this.stack);
    this.overlay.tabIndex = 0;
    this.overlay.setAttribute("role", "img");
    this.overlay.setAttribute("aria-label", `${this.opts.label}. Use the arrow keys to read cells.`);
    this.tooltip = el("div", "av-tooltip", host);
    this.tooltip.hidden = true;
    this.legendRow = el("div", "av-legend", host);
    this.legend = el("canvas", "av-legend__bar", this.legendRow);
    this.legendName = el("span", "av-legend__name", this.legendRow);
    this.live = el("div", "av-sr-only", host);
    this.live.setAttribute("aria-live", "polite");
    /** @type {HeatmapData|null} */
    this.data = null;
    this.hover = null; // {row, col}
    this.selected = -1; // the selected query row, outlined
    this.overlay.addEventListener("mousemove", (e) => this.onPointer(e));
    this.overlay.addEventListener("mouseleave", () => this.setHover(null));
    this.overlay.addEventListener("click", (e) => {
      const cell = this.opts.onCell && this.cellAt(e);
      if (cell) this.opts.onCell(cell.row, cell.col);
      const row = this.rowAt(e); // a cell or a row label: both select the row's query token
      if (row !== null && this.opts.onSelect) this.opts.onSelect(row);
    });
    this.overlay.addEventListener("keydown", (e) => this.onKey(e));
    const resize = new ResizeObserver(() => this.data && this.draw());
    resize.observe(host);
    currentPage().addEventListener("abort", () => resize.disconnect(), { once: true });
  }

  /** @param {HeatmapData} data */
  set(data) {
    this.data = data;
    this.draw();
  }

  /** Geometry for the current size: label margins and the cell size. */
  layout() {
    const { rows, cols, rowLabels, colLabels } = this.data;
    const ctx = this.canvas.getContext("2d");
    ctx.font = LABEL_FONT;
    const widest = (labels) => labels.reduce((m, s) => Math.max(m, ctx.measureText(shortLabel(s)).width), 0);
    const width = Math.max(200, this.host.clientWidth - 4);
    let cell = Math.floor((width - 90) / cols);
    cell = Math.max(this.opts.minCell, Math.min(this.opts.maxCell, cell));
    const showLabels = cell >= 9;
    const left = showLabels ? Math.ceil(widest(rowLabels)) + 10 : 8;
    const top = showLabels ? Math.ceil(widest(colLabels) * 0.75) + 14 : 8;
    return { cell, left, top, showLabels, width: left + cols * cell + 2, height: top + rows * cell + 2 };
  }

  draw() {
    const d = this.data;
    const g = (this.geom = this.layout());
    // Geometry in the DOM, so tests can read exact cells: {left, top, cell, rows, cols} in css px.
    this.canvas.dataset.geom = JSON.stringify({ left: g.left, top: g.top, cell: g.cell, rows: d.rows, cols: d.cols });
    const dpr = window.devicePixelRatio || 1;
    for (const c of [this.canvas, this.overlay]) {
      c.width = Math.round(g.width * dpr);
      c.height = Math.round(g.height * dpr);
      c.style.width = `${g.width}px`;
      c.style.height = `${g.height}px`;
    }
    const ctx = this.canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, g.width, g.height);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(this.cellImage(), g.left, g.top, d.cols * g.cell, d.rows * g.cell);
    if (g.showLabels) this.drawLabels(ctx, g);
    this.drawLegend();
    // New data may be smaller than the cell under the pointer (another text, another model): drop it.
    if (this.hover && (this.hover.row >= d.rows || this.hover.col >= d.cols)) this.hover = null;
    this.setHover(this.hover);
  }

  /** One pixel per cell, coloured through the LUT. @returns {HTMLCanvasElement} */
  cellImage() {
    const { weights, rows, cols, rowScale, signed } = this.data;
    if (signed) return this.signedImage();
    const off = document.createElement("canvas");
    off.width = cols;
    off.height = rows;
    const octx = off.getContext("2d");
    const img = octx.createImageData(cols, rows);
    const px = img.data;
    const vmax = rowScale ? 0 : this.top();
    for (let r = 0; r < rows; r++) {
      const rowMax = rowScale ? maxOf(weights.subarray(r * cols, (r + 1) * cols)) || 1 : vmax;
      for (let c = 0; c < cols; c++) {
        const i = r * cols + c;
        const lut = Math.round(Math.min(1, Math.max(0, weights[i] / rowMax)) * 255) * 3;
        px[i * 4] = VIRIDIS[lut];
        px[i * 4 + 1] = VIRIDIS[lut + 1];
        px[i * 4 + 2] = VIRIDIS[lut + 2];
        px[i * 4 + 3] = 255;
      }
    }
    octx.putImageData(img, 0, 0);
    return off;
  }

  /** Signed cells through the diverging map, symmetric about 0. @returns {HTMLCanvasElement} */
  signedImage() {
    const { weights, rows, cols } = this.data;
    const off = document.createElement("canvas");
    off.width = cols;
    off.height = rows;
    const octx = off.getContext("2d");
    const img = octx.createImageData(cols, rows);
    const m = absMax(weights) || 1;
    for (let i = 0; i < rows * cols; i++) {
      const lut = Math.round((Math.min(1, Math.max(-1, weights[i] / m)) + 1) * 127.5) * 3;
      img.data.set([DIVERGING[lut], DIVERGING[lut + 1], DIVERGING[lut + 2], 255], i * 4);
    }
    octx.putImageData(img, 0, 0);
    return off;
  }

  drawLabels(ctx, g) {
    const { rowLabels, colLabels } = this.data;
    ctx.font = LABEL_FONT;
    ctx.fillStyle = getComputedStyle(this.host).color;
    ctx.textBaseline = "middle";
    ctx.textAlign = "right";
    rowLabels.forEach((s, r) => ctx.fillText(shortLabel(s), g.left - 6, g.top + (r + 0.5) * g.cell));
    ctx.textAlign = "left";
    colLabels.forEach((s, c) => {
      ctx.save();
      ctx.translate(g.left + (c + 0.5) * g.cell, g.top - 6);
      ctx.rotate(-Math.PI / 3);
      ctx.fillText(shortLabel(s), 0, 0);
      ctx.restore();
    });
  }

  /** The top of the colour scale (without a row scale or signed values): the data's vmax (a scale
   * chosen in scale.js, or an analysis's fixed top), else its largest weight. */
  top() {
    return this.data.vmax || maxOf(this.data.weights) || 1;
  }

  /** What the legend says of the scale in use. */
  scaleText() {
    const { rowScale, scaleName, signed, weights } = this.data;
    if (signed) {
      const m = absMax(weights).toFixed(3);
      return `Colour scale: blue −${m}, white 0, red +${m}`;
    }
    if (rowScale) return "Colour scale: 0 → each row's maximum";
    return `Colour scale: 0 → ${this.top().toFixed(3)}${scaleName ? `, ${scaleName}` : ""}`;
  }

  drawLegend() {
    const { weights, rowScale, signed } = this.data;
    const dpr = window.devicePixelRatio || 1;
    const w = 220, h = 34;
    this.legend.width = w * dpr;
    this.legend.height = h * dpr;
    this.legend.style.width = `${w}px`;
    this.legend.style.height = `${h}px`;
    const ctx = this.legend.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    for (let x = 0; x < w - 20; x++) {
      ctx.fillStyle = signed ? divergingColor((2 * x) / (w - 21) - 1) : cssColor(x / (w - 21));
      ctx.fillRect(10 + x, 2, 1, 12);
    }
    ctx.font = LABEL_FONT;
    ctx.fillStyle = getComputedStyle(this.host).color;
    ctx.textBaseline = "top";
    ctx.textAlign = "left";
    if (signed) {
      const m = absMax(weights);
      ctx.fillText(`−${m.toFixed(3)}`, 10, 18);
      ctx.textAlign = "center";
      ctx.fillText("0", w / 2, 18);
      ctx.textAlign = "right";
      ctx.fillText(`+${m.toFixed(3)}`, w - 10, 18);
      this.legend.setAttribute("aria-hidden", "true"); // the text beside it says the same
      this.legendName.textContent = this.scaleText();
      return;
    }
    ctx.fillText("0", 10, 18);
    ctx.textAlign = "right";
    ctx.fillText(rowScale ? "Row max" : this.top().toFixed(3), w - 10, 18);
    this.legend.setAttribute("aria-hidden", "true"); // the text beside it says the same
    this.legendName.textContent = this.scaleText();
  }

  /** @param {MouseEvent} e @returns {{row: number, col: number}|null} */
  cellAt(e) {
    const g = this.geom;
    const rect = this.overlay.getBoundingClientRect();
    const col = Math.floor((e.clientX - rect.left - g.left) / g.cell);
    const row = Math.floor((e.clientY - rect.top - g.top) / g.cell);
    if (row < 0 || col < 0 || row >= this.data.rows || col >= this.data.cols) return null;
    return { row, col };
  }

  /** The row under the pointer, over a cell or over its label. @param {MouseEvent} e */
  rowAt(e) {
    const g = this.geom;
    const rect = this.overlay.getBoundingClientRect();
    const x = e.clientX - rect.left, row = Math.floor((e.clientY - rect.top - g.top) / g.cell);
    if (row < 0 || row >= this.data.rows || x > g.left + this.data.cols * g.cell) return null;
    return row;
  }

  /** Mark the selected query row (-1: none). @param {number} row */
  select(row) {
    this.selected = row;
    if (this.data && this.geom) this.setHover(this.hover);
  }

  onPointer(e) {
    this.setHover(this.cellAt(e), e);
  }

  /** @param {KeyboardEvent} e */
  onKey(e) {
    if (e.key === "Enter" && this.hover && this.opts.onCell) this.opts.onCell(this.hover.row, this.hover.col);
    if (e.key === "Enter" && this.hover && this.opts.onSelect) this.opts.onSelect(this.hover.row);
    if (!this.data) return;
    const next = moveCell(this.hover, e.key, this.data.rows, this.data.cols);
    if (!next) return;
    e.preventDefault();
    this.setHover(next);
    this.live.textContent = this.describe(next.row, next.col);
  }

  /** "query → key: weight (rank k of n in this row)". */
  describe(row, col) {
    const { weights, cols, rowLabels, colLabels } = this.data;
    const w = weights[row * cols + col];
    let rank = 1;
    for (let c = 0; c < cols; c++) if (weights[row * cols + c] > w) rank++;
    if (this.data.signed) return `${rowLabels[row]} → ${colLabels[col]}: ${w >= 0 ? "+" : ""}${w.toFixed(4)}`;
    return `${rowLabels[row]} → ${colLabels[col]}: ${w.toFixed(4)} (rank ${rank} of ${cols} in this row)`;
  }

  /** @param {{row: number, col: number}|null} cell @param {MouseEvent} [e] */
  setHover(cell, e) {
    this.hover = cell;
    const g = this.geom;
    const dpr = window.devicePixelRatio || 1;
    const ctx = this.overlay.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, g.width, g.height);
    const { rows, cols } = this.data;
    if (this.selected >= 0 && this.selected < rows) {
      ctx.strokeStyle = getComputedStyle(this.host).getPropertyValue("--md-accent-fg-color").trim() || "#ff6e42";
      ctx.lineWidth = 2;
      ctx.strokeRect(1, g.top + this.selected * g.cell, g.left + cols * g.cell - 1, g.cell);
    }
    if (!cell) { this.tooltip.hidden = true; return; }
    ctx.fillStyle = "rgba(255, 255, 255, 0.18)";
    ctx.fillRect(g.left, g.top + cell.row * g.cell, cols * g.cell, g.cell);
    ctx.fillRect(g.left + cell.col * g.cell, g.top, g.cell, rows * g.cell);
    ctx.strokeStyle = "#ff7043";
    ctx.lineWidth = 2;
    ctx.strokeRect(g.left + cell.col * g.cell, g.top + cell.row * g.cell, g.cell, g.cell);
    this.tooltip.textContent = this.describe(cell.row, cell.col);
    this.tooltip.hidden = false;
    const hostRect = this.host.getBoundingClientRect();
    const x = e ? e.clientX - hostRect.left : g.left + (cell.col + 1) * g.cell;
    const y = e ? e.clientY - hostRect.top : g.top + cell.row * g.cell;
    this.tooltip.style.left = `${Math.min(x + 14, hostRect.width - 220)}px`;
    this.tooltip.style.top = `${y + 14}px`;
  }
}

const MOVES = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };

/**
 * Where an arrow key takes a cell cursor in a rows × cols grid, clamped at the edges; a cursor not
 * yet placed starts from the first cell. Null for any other key.
 * @param {{row: number, col: number}|null} cursor @param {string} key @param {number} rows @param {number} cols
 * @returns {{row: number, col: number}|null}
 */
export function moveCell(cursor, key, rows, cols) {
  const move = MOVES[key];
  if (!move) return null;
  const cur = cursor || { row: 0, col: 0 };
  return { row: Math.min(rows - 1, Math.max(0, cur.row + move[0])), col: Math.min(cols - 1, Math.max(0, cur.col + move[1])) };
}

/** @param {Float32Array} a */
export function maxOf(a) {
  let m = -Infinity;
  for (let i = 0; i < a.length; i++) if (a[i] > m) m = a[i];
  return m;
}

/** The largest magnitude in an array. @param {Float32Array} a */
export function absMax(a) {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/** Create an element with a class inside a parent. */
export function el(tag, className, parent) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (parent) parent.appendChild(node);
  return node;
}
