/**
 * Head view (after bertviz): the tokens twice, in two columns, with a line from each query token
 * (left) to each key token (right) whose opacity is the attention weight; one colour per head,
 * several heads at once; hover a token (or tab to the drawing and use the arrow keys) to see only
 * its lines, and read its strongest links. Drawn on canvas.
 * Options: {text, model, stack, layer, heads (list of head indices), and view options (hide_special,
 * merge_subwords, hide_first, chat)}.
 */
import { getClient } from "../client.js";
import { el } from "../heatmap.js";
import { StatusLine } from "../status.js";
import { headMatrix, requester, stackOf, textBox } from "./common.js";
import { modelOptions, notesLine, viewOptions } from "./model-options.js";

/** Twelve distinguishable head colours (Tableau 10 plus two). The last is magenta, not a second
 * brown: the articles open on heads 9, 10 and 12, which must not look alike. */
export const HEAD_COLOURS = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948",
  "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac", "#17becf", "#c51b7d"];
const ROW = 22;
const FONT = "13px system-ui, sans-serif";

/** @param {object} options */
const initialState = (options) => ({ text: "The doctor asked the nurse a question because she was unsure.", model: "synthetic",
  layer: 2, heads: [0, 1, 2], ...options });

/** Every layer's attention (the layer and heads shown are the page's choice). @param {Record<string, any>} s */
const requestOf = (s) => ({ text: s.text, model: s.model, ...viewOptions(s), ...(s.stack ? { stack: s.stack } : {}) });

/** The requests the widget opens with (the build answers them ahead: built_answers.py). @param {object} options */
export const firstRequests = (options) => [requestOf(initialState(options))];

/** @param {HTMLElement} host @param {object} options */
export function mount(host, options) {
  const state = initialState(options);
  host.classList.add("av-widget", "av-head-view");
  const controls = el("div", "av-controls", host);
  textBox(controls, "Sentence", state.text, (v) => { state.text = v; compute(); });
  const layerLabel = el("label", "av-control", controls);
  el("span", null, layerLabel).textContent = "Layer";
  const layerSelect = el("select", null, layerLabel);
  layerSelect.addEventListener("change", () => { state.layer = Number(layerSelect.value); draw(); });
  modelOptions(controls, state, compute);
  const swatches = el("div", "av-swatches", host);
  const status = new StatusLine(host, getClient());
  const notes = el("p", "av-caption", host);
  const canvas = el("canvas", "av-lines", host);
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", "Head view: lines from each token to the tokens it attends to (not drawn yet)");
  canvas.tabIndex = 0; // arrow keys walk the tokens; what they show is read out below
  const spoken = el("p", "av-caption av-spoken", host);
  spoken.setAttribute("aria-live", "polite");
  const request = requester(host, status);
  let result = null;
  let focus = null; // {side: "q" | "k", index}

  function fillControls() {
    const [layers, heads] = stackOf(result).weights.shape;
    if (layerSelect.options.length !== layers) {
      layerSelect.replaceChildren(...Array.from({ length: layers }, (_, l) =>
        Object.assign(document.createElement("option"), { value: String(l), textContent: String(l + 1) })));
    }
    state.layer = Math.min(state.layer, layers - 1);
    layerSelect.value = String(state.layer);
    if (swatches.childElementCount !== heads) {
      swatches.replaceChildren(...Array.from({ length: heads }, (_, h) => {
        const label = el("label", "av-swatch");
        const box = el("input", null, label);
        box.type = "checkbox";
        box.checked = state.heads.includes(h);
        box.dataset.head = String(h);
        const chip = el("span", "av-swatch__chip", label);
        chip.style.background = HEAD_COLOURS[h % HEAD_COLOURS.length];
        el("span", null, label).textContent = `H${h + 1}`;
        box.addEventListener("change", () => {
          state.heads = [...swatches.querySelectorAll("input:checked")].map((b) => Number(b.dataset.head));
          draw();
        });
        return label;
      }));
    }
  }

  function geometry() {
    const width = Math.min(560, Math.max(300, host.clientWidth - 24));
    const n = Math.max(stackOf(result).query.length, stackOf(result).key.length);
    return { width, height: n * ROW + 16, left: width * 0.3, right: width * 0.7 };
  }

  function draw() {
    if (!result) return;
    const g = geometry();
    const dpr = window.devicePixelRatio || 1;
    canvas.width = g.width * dpr;
    canvas.height = g.height * dpr;
    canvas.style.width = `${g.width}px`;
    canvas.style.height = `${g.height}px`;
    const ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, g.width, g.height);
    const [, , q, k] = stackOf(result).weights.shape;
    ctx.globalCompositeOperation = "source-over";
    for (const h of state.heads) {
      const w = headMatrix(stackOf(result).weights, state.layer, h);
      ctx.strokeStyle = HEAD_COLOURS[h % HEAD_COLOURS.length];
      for (let i = 0; i < q; i++) {
        if (focus && focus.side === "q" && focus.index !== i) continue;
        for (let j = 0; j < k; j++) {
          if (focus && focus.side === "k" && focus.index !== j) continue;
          const a = w[i * k + j];
          if (a < 0.01) continue;
          ctx.globalAlpha = Math.min(1, a * (state.heads.length > 1 ? 0.8 : 1));
          ctx.lineWidth = 1 + 2 * a;
          ctx.beginPath();
          ctx.moveTo(g.left + 6, 8 + (i + 0.5) * ROW);
          ctx.lineTo(g.right - 6, 8 + (j + 0.5) * ROW);
          ctx.stroke();
        }
      }
    }
    ctx.globalAlpha = 1;
    ctx.font = FONT;
    ctx.textBaseline = "middle";
    const fg = getComputedStyle(host).color;
    const label = (tokens, x, align, side) => tokens.forEach((t, i) => {
      ctx.textAlign = align;
      ctx.fillStyle = fg;
      ctx.font = focus && focus.side === side && focus.index === i ? `bold ${FONT}` : FONT;
      ctx.fillText(t.text, x, 8 + (i + 0.5) * ROW);
    });
    label(stackOf(result).query, g.left - 2, "right", "q");
    label(stackOf(result).key, g.right + 2, "left", "k");
    canvas.setAttribute("aria-label", `Head view of layer ${state.layer + 1}, heads ${state.heads.map((h) => h + 1).join(", ")}`);
  }

  canvas.addEventListener("mousemove", (e) => {
    if (!result) return;
    const g = geometry();
    const rect = canvas.getBoundingClientRect();
    const x = e.clientX - rect.left, index = Math.floor((e.clientY - rect.top - 8) / ROW);
    const side = x < g.width / 2 ? "q" : "k";
    const count = side === "q" ? stackOf(result).query.length : stackOf(result).key.length;
    const next = index >= 0 && index < count ? { side, index } : null;
    if (JSON.stringify(next) !== JSON.stringify(focus)) { focus = next; draw(); }
  });
  canvas.addEventListener("mouseleave", () => { focus = null; draw(); });

  /** Up/Down move along a column, Left/Right switch between queries and keys, Escape shows all. */
  canvas.addEventListener("keydown", (e) => {
    if (!result) return;
    const count = (side) => (side === "q" ? stackOf(result).query.length : stackOf(result).key.length);
    let next = focus || { side: "q", index: -1 };
    if (e.key === "ArrowDown") next = { ...next, index: Math.min(next.index + 1, count(next.side) - 1) };
    else if (e.key === "ArrowUp") next = { ...next, index: Math.max(next.index - 1, 0) };
    else if (e.key === "ArrowLeft" || e.key === "ArrowRight") {
      const side = e.key === "ArrowLeft" ? "q" : "k";
      next = { side, index: Math.min(Math.max(next.index, 0), count(side) - 1) };
    } else if (e.key === "Escape") next = null;
    else return;
    e.preventDefault();
    focus = next;
    draw();
    spoken.textContent = focus ? describe(focus) : "";
  });

  /** The focused token's strongest link in each shown head, in words. @param {{side: string, index: number}} f */
  function describe(f) {
    const [, , , k] = stackOf(result).weights.shape;
    const [own, other] = f.side === "q" ? [stackOf(result).query, stackOf(result).key] : [stackOf(result).key, stackOf(result).query];
    const parts = state.heads.map((h) => {
      const w = headMatrix(stackOf(result).weights, state.layer, h);
      let best = 0, bestWeight = -1;
      for (let j = 0; j < other.length; j++) {
        const a = f.side === "q" ? w[f.index * k + j] : w[j * k + f.index];
        if (a > bestWeight) { best = j; bestWeight = a; }
      }
      return `head ${h + 1}: ${other[best].text} ${bestWeight.toFixed(2)}`;
    });
    const role = f.side === "q" ? "attends most to" : "is attended most by";
    return `“${own[f.index].text}” (${f.side === "q" ? "query" : "key"} ${f.index + 1}) ${role}: ${parts.join("; ")}.`;
  }

  async function compute() {
    const r = await request(requestOf(state));
    if (!r) return;
    result = r;
    notes.textContent = notesLine(r);
    fillControls();
    draw();
    host.dataset.ready = "true";
  }
  compute();
}
