/**
 * Model view: every head of every layer as a grid of small heatmaps (e.g. 6 x 12); click one to
 * open it large. Heads that share a key/value head (grouped-query attention) stand together.
 * For self-attention, the heads can be marked by a score attnviz measured on the text (sink,
 * previous token, self, induction: see metrics.head_scores); the three highest are named, and
 * the highest opens (unless the options name a layer and head).
 * The colour scale is each head's own maximum, or one for all heads (0 → 1, or the model's
 * maximum), so that a broad head does not look as vivid as a sharp one.
 * Options: {text, model (a name in the model index), stack, score, scale ("head", "one" or
 * "model"), layer, head, and view options (hide_special, merge_subwords, hide_first, chat)}.
 */
import { getClient } from "../client.js";
import { Heatmap, el } from "../heatmap.js";
import { StatusLine } from "../status.js";
import { SCALES, scaleFor } from "../scale.js";
import { drawThumb } from "../thumbs.js";
import { headMatrix, heatmapData, knownAs, requester, roleOf, stackOf, textBox } from "./common.js";
import { modelOptions, notesLine, viewOptions } from "./model-options.js";

/** Score name -> what the select calls it. */
const SCORES = { sink: "first token (sink)", previous: "previous token", self: "itself", induction: "induction" };
const MARKED = 3;

const THUMB = 64; // largest thumbnail, css px
const MIN_THUMB = 32; // below this a row scrolls sideways instead
const ROW_LABEL = 56; // "Layer 6"
const THUMB_EXTRA = 11; // a thumbnail's padding and border (8) and the grid gap (3)

/** @param {object} options */
const initialState = (options) => ({ text: "The doctor asked the nurse a question because she was unsure.", model: "synthetic",
  layer: 0, head: 0, score: "", scale: "head", ...options });

/** Every head's attention, with the metrics of one. @param {Record<string, any>} s @param {number} layer @param {number} head */
function requestOf(s, layer = 0, head = 0) {
  const req = { text: s.text, model: s.model, layer, head, ...viewOptions(s) };
  if (s.stack) req.stack = s.stack;
  return req;
}

/** The request the widget opens with (the build answers it ahead: built_answers.py); the opened
 * head's description follows from its answer. @param {object} options */
export function firstRequests(options) {
  const state = initialState(options);
  return [requestOf(state, state.layer, state.head)];
}

/** @param {HTMLElement} host @param {object} options */
export function mount(host, options) {
  const state = initialState(options);
  // With a score and no head of its own, the widget opens the head that scores highest.
  const openBest = Boolean(options.score) && !("layer" in options) && !("head" in options);
  host.classList.add("av-widget", "av-model-view");
  const controls = el("div", "av-controls", host);
  textBox(controls, "Sentence", state.text, (v) => { state.text = v; compute(); });
  modelOptions(controls, state, compute);
  const scoreLabel = el("label", "av-control", controls);
  el("span", null, scoreLabel).textContent = "Mark heads by";
  const scoreSelect = el("select", null, scoreLabel);
  scoreSelect.dataset.control = "score";
  scoreSelect.replaceChildren(...[["", "nothing"], ...Object.entries(SCORES)].map(([value, textContent]) =>
    Object.assign(document.createElement("option"), { value, textContent })));
  scoreSelect.value = state.score;
  scoreSelect.addEventListener("change", () => { state.score = scoreSelect.value; drawGrid(); });
  scoreLabel.hidden = true; // until a result has scores
  const scaleLabel = el("label", "av-control", controls);
  el("span", null, scaleLabel).textContent = "Colour scale";
  const scaleSelect = el("select", null, scaleLabel);
  scaleSelect.dataset.control = "scale";
  scaleSelect.replaceChildren(...Object.entries(SCALES).map(([value, [textContent]]) =>
    Object.assign(document.createElement("option"), { value, textContent })));
  scaleSelect.value = SCALES[state.scale] ? state.scale : "head";
  scaleSelect.addEventListener("change", () => { state.scale = scaleSelect.value; drawGrid(); open(state.layer, state.head); });
  const status = new StatusLine(host, getClient());
  const notes = el("p", "av-caption", host);
  const marked = el("p", "av-caption av-marked", host);
  marked.setAttribute("aria-live", "polite");
  const gridScale = el("p", "av-caption av-model-view__scale", host);
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
    const { weights } = stackOf(result);
    const scaled = scaleFor(state.scale, headMatrix(weights, layer, head), weights.data);
    detail.set(heatmapData(result, layer, head, { vmax: scaled.vmax, scaleName: scaled.name }));
    const known = knownAs(result, layer, head);
    detailCaption.textContent = `Layer ${layer + 1}, head ${head + 1}${known ? ` (${known})` : ""}`;
    describe(layer, head);
  }

  /** What the opened head does: its metrics come from attnviz for the head in view (the forward
   * pass is reused there (api.forward), so this costs only the metrics). */
  async function describe(layer, head) {
    const r = await request(requestOf(state, layer, head), "describe", null, { ask: false }); // a caption: never worth a question
    if (!r || state.layer !== layer || state.head !== head) return;
    const known = knownAs(r, layer, head);
    detailCaption.textContent = `Layer ${layer + 1}, head ${head + 1}${known ? ` (${known})` : ""}: ${r.metrics.description}`;
  }

  /** Thumbnail size that fits every head of a layer in the widget's width. @param {number} heads */
  function thumbSize(heads) {
    const free = grid.clientWidth - ROW_LABEL - heads * THUMB_EXTRA;
    return Math.max(MIN_THUMB, Math.min(THUMB, Math.floor(free / heads)));
  }

  /** The MARKED heads with the highest score, [{layer, head, value}], or [] without a score. */
  function best() {
    const scores = result.overview[result.request.stack].scores;
    if (!state.score || !scores || !scores[state.score]) return [];
    const { data, shape } = scores[state.score];
    return Array.from(data.keys()).sort((a, b) => data[b] - data[a]).slice(0, MARKED)
      .map((i) => ({ layer: Math.floor(i / shape[1]), head: i % shape[1], value: data[i] }));
  }

  function drawGrid() {
    const { weights } = stackOf(result);
    const [layers, heads, q, k] = weights.shape;
    const group = heads / result.model.kv_heads; // query heads per key/value head
    const size = thumbSize(heads);
    const top = best();
    const isTop = (l, h) => top.some((t) => t.layer === l && t.head === h);
    scoreLabel.hidden = !result.overview[result.request.stack].scores;
    marked.textContent = top.length ? `Highest “${SCORES[state.score]}” scores on this text: ${top.map((t) =>
      `layer ${t.layer + 1}, head ${t.head + 1} (${t.value.toFixed(2)})`).join("; ")}.` : "";
    grid.style.gridTemplateColumns = `auto repeat(${heads}, ${size + 8}px)`;
    const scaled = (l, h) => scaleFor(state.scale, headMatrix(weights, l, h), weights.data);
    gridScale.textContent = `Colour scale of the heads below: 0 → ${state.scale !== "head" ? `${scaled(0, 0).vmax.toFixed(3)}, ` : ""}${scaled(0, 0).name}.`;
    const cells = [el("span", "av-grid__corner")];
    for (let h = 0; h < heads; h++) {
      const col = el("span", "av-grid__col");
      col.textContent = `H${h + 1}`;
      if (group > 1) {
        col.title = `Head ${h + 1} reads key/value head ${Math.floor(h / group) + 1} (with ${group - 1} other heads)`;
        if (h % group === 0) col.textContent = `KV${Math.floor(h / group) + 1}: H${h + 1}`;
      }
      cells.push(col);
    }
    for (let l = 0; l < layers; l++) {
      cells.push(Object.assign(el("span", "av-grid__row"), { textContent: `Layer ${l + 1}` }));
      for (let h = 0; h < heads; h++) {
        const button = el("button", `av-thumb${group > 1 && h % group === 0 && h ? " av-thumb--group" : ""}` +
          `${isTop(l, h) ? " av-thumb--marked" : ""}${knownAs(result, l, h) && !roleOf(result, h) ? " av-thumb--named" : ""}`);
        button.type = "button";
        button.dataset.layer = String(l);
        button.dataset.head = String(h);
        const known = knownAs(result, l, h);
        button.title = `Layer ${l + 1}, head ${h + 1}${known ? `: ${known}` : ""}`;
        button.setAttribute("aria-label", button.title);
        drawThumb(el("canvas", null, button), headMatrix(weights, l, h), q, k, size, scaled(l, h).vmax);
        button.addEventListener("click", () => open(l, h));
        cells.push(button);
      }
    }
    grid.replaceChildren(...cells);
  }

  async function compute() {
    const r = await request(requestOf(state, state.layer, state.head));
    if (!r) return;
    result = r;
    notes.textContent = notesLine(r);
    drawGrid();
    const [layers, heads] = stackOf(r).weights.shape;
    const top = openBest ? best() : [];
    if (top.length) open(top[0].layer, top[0].head); // the head the measurement found, not a chosen one
    else open(Math.min(state.layer, layers - 1), Math.min(state.head, heads - 1));
    host.dataset.ready = "true";
  }
  compute();
}
