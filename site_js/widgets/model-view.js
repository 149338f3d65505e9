/**
 * Model view: every head of every layer as a grid of small heatmaps (e.g. 6 x 12); click one to
 * open it large. Options: {text, model (a name in the model index), stack, hide_special, merge_subwords}.
 */
import { getClient } from "../client.js";
import { Heatmap, el } from "../heatmap.js";
import { StatusLine } from "../status.js";
import { drawThumb } from "../thumbs.js";
import { headMatrix, heatmapData, requester, roleOf, stackOf, textBox } from "./common.js";
import { modelOptions, notesLine } from "./model-options.js";

const THUMB = 64; // largest thumbnail, css px
const MIN_THUMB = 32; // below this a row scrolls sideways instead
const ROW_LABEL = 56; // "Layer 6"
const THUMB_EXTRA = 11; // a thumbnail's padding and border (8) and the grid gap (3)

/** @param {HTMLElement} host @param {object} options */
export function mount(host, options) {
  const state = { text: "The doctor asked the nurse a question because she was unsure.", model: "synthetic",
    hide_special: false, merge_subwords: false, layer: 0, head: 0, ...options };
  host.classList.add("av-widget", "av-model-view");
  const controls = el("div", "av-controls", host);
  textBox(controls, "Sentence", state.text, (v) => { state.text = v; compute(); });
  modelOptions(controls, state, compute);
  const status = new StatusLine(host, getClient());
  const notes = el("p", "av-caption", host);
  const grid = el("div", "av-grid", host);
  const detailCaption = el("p", "av-detail-caption", host);
  const detail = new Heatmap(el("div", null, host), { label: "The selected head" });
  const request = requester(host, status);
  let result = null;

  function open(layer, head) {
    state.layer = layer;
    state.head = head;
    grid.querySelectorAll("button").forEach((b) => b.setAttribute("aria-pressed",
      String(b.dataset.layer === String(layer) && b.dataset.head === String(head))));
    detail.set(heatmapData(result, layer, head));
    detailCaption.textContent = `Layer ${layer + 1}, head ${head + 1}`;
    describe(layer, head);
  }

  /** What the opened head does: its metrics come from attnviz for the head in view (the forward
   * pass is remembered there, so this costs only the metrics). */
  async function describe(layer, head) {
    const r = await request(requestFor(layer, head), "describe");
    if (!r || state.layer !== layer || state.head !== head) return;
    detailCaption.textContent = `Layer ${layer + 1}, head ${head + 1}: ${r.metrics.description}`;
  }

  function requestFor(layer = 0, head = 0) {
    const req = { text: state.text, model: state.model, layer, head };
    if (state.stack) req.stack = state.stack;
    for (const key of ["hide_special", "merge_subwords"]) if (state[key]) req[key] = true;
    return req;
  }

  /** Thumbnail size that fits every head of a layer in the widget's width. @param {number} heads */
  function thumbSize(heads) {
    const free = grid.clientWidth - ROW_LABEL - heads * THUMB_EXTRA;
    return Math.max(MIN_THUMB, Math.min(THUMB, Math.floor(free / heads)));
  }

  function drawGrid() {
    const { weights } = stackOf(result);
    const [layers, heads, q, k] = weights.shape;
    const size = thumbSize(heads);
    grid.style.gridTemplateColumns = `auto repeat(${heads}, ${size + 8}px)`;
    const cells = [el("span", "av-grid__corner")];
    for (let h = 0; h < heads; h++) Object.assign(cells[cells.push(el("span", "av-grid__col")) - 1], { textContent: `H${h + 1}` });
    for (let l = 0; l < layers; l++) {
      cells.push(Object.assign(el("span", "av-grid__row"), { textContent: `Layer ${l + 1}` }));
      for (let h = 0; h < heads; h++) {
        const button = el("button", "av-thumb");
        button.type = "button";
        button.dataset.layer = String(l);
        button.dataset.head = String(h);
        const role = roleOf(result, h);
        button.title = `Layer ${l + 1}, head ${h + 1}${role ? `: ${role.role}` : ""}`;
        button.setAttribute("aria-label", button.title);
        drawThumb(el("canvas", null, button), headMatrix(weights, l, h), q, k, size);
        button.addEventListener("click", () => open(l, h));
        cells.push(button);
      }
    }
    grid.replaceChildren(...cells);
  }

  async function compute() {
    const r = await request(requestFor());
    if (!r) return;
    result = r;
    notes.textContent = notesLine(r);
    drawGrid();
    const [layers, heads] = stackOf(r).weights.shape;
    open(Math.min(state.layer, layers - 1), Math.min(state.head, heads - 1));
    host.dataset.ready = "true";
  }
  compute();
}
