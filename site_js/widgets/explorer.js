/**
 * The Explorer: type text, pick a model from the model index, heads, mask, temperature, self or
 * cross, and see every head's attention; select a token for its arcs and top keys; walk through
 * the computation step by step; hide any tokens; analyse the heads (roles, rollout, flow,
 * value-weighted attention, ablation, the neuron view, the query–key map: explorer/analysis.js);
 * share the state as a link; export PNG, SVG, CSV and JSON.
 * All numbers come from attnviz through the worker; this module only draws and listens.
 */
import { getClient } from "../client.js";
import { currentPage } from "../page.js";
import { Heatmap, el } from "../heatmap.js";
import { formatBytes } from "../bytes.js";
import { StatusLine } from "../status.js";
import { drawThumb } from "../thumbs.js";
import { Arcs } from "../explorer/arcs.js";
import * as files from "../explorer/export.js";
import { fitToModel, fromHash, requestFor, toHash } from "../explorer/state.js";
import { Stats } from "../explorer/stats.js";
import { Steps } from "../explorer/steps.js";
import { NextTokens } from "../explorer/next-tokens.js";
import { ANALYSIS_CHOICES, AnalysisPanel } from "../explorer/analysis.js";
import { tokenSlots, toggled } from "../explorer/hidden.js";
import { findModel, layersOf, modelIndex } from "../models.js";
import { SCALES, scaleFor } from "../scale.js";
import { headMatrix, heatmapData, knownAs, requester, stackOf, visible } from "./common.js";

const THUMB = 96;

/**
 * Name a few fields, summarise the rest: a link can carry thousands. Names are cut short too.
 * @param {string[]} names @returns {string}
 */
function fieldList(names, shown = 6) {
  const listed = names.slice(0, shown).map((n) => (n.length > 24 ? `${n.slice(0, 24)}…` : n)).join(", ");
  return names.length > shown ? `${listed} and ${names.length - shown} more` : listed;
}

/** "Label (encoder, 6 × 12, 43.1 MB)": what the model list says of a model. @param {import("../models.js").ModelEntry} m */
function modelLabel(m) {
  const size = m.bytes ? `, ${formatBytes(m.bytes)}` : "";
  return `${m.label} (${m.kind}, ${m.layers > 1 ? `${m.layers} × ` : ""}${m.heads}${m.layers > 1 ? "" : " heads"}${size})`;
}

/** @param {HTMLElement} host */
export async function mount(host) {
  host.classList.add("av-widget", "av-explorer");
  const page = currentPage(); // aborts when the reader leaves for another page (instant navigation)
  const status = new StatusLine(host, getClient());
  let index;
  try {
    index = await modelIndex();
  } catch (err) {
    status.error(String(err.message || err), false);
    return;
  }
  const parsed = fromHash(location.hash);
  const state = parsed.state;
  const entryOf = () => findModel(index, state.model);
  parsed.rejected.push(...fitToModel(state, entryOf(), index.models[0]));
  // Two columns on a wide screen: the view (heatmap, step by step, analysis) and a panel (controls, details);
  // one column on a narrow one, controls first and details last (see attnviz.css).
  const panel = el("div", "av-explorer__panel", host);
  const view = el("div", "av-explorer__view", host);
  const controls = el("div", "av-explorer__controls", panel);
  const ui = buildControls(controls, state, changed, index);
  view.appendChild(status.root);
  const notes = el("p", "av-caption av-explorer__notes", view);
  notes.setAttribute("aria-live", "polite");
  // The token chips, and beside them the toggle that makes choosing a chip hide its token.
  const chipBar = el("div", "av-chips-bar", view);
  const hiding = el("button", "av-chip-mode", chipBar);
  hiding.type = "button";
  hiding.dataset.action = "hide-tokens";
  hiding.textContent = "Hide tokens";
  hiding.title = "When pressed, choosing a token hides it (or shows it again); the rows are renormalised";
  hiding.setAttribute("aria-pressed", "false");
  hiding.addEventListener("click", () => {
    hiding.setAttribute("aria-pressed", String(hiding.getAttribute("aria-pressed") !== "true"));
    draw();
  });
  const chips = el("div", "av-chips", chipBar);
  chips.setAttribute("role", "toolbar");
  chips.addEventListener("keydown", onChipKey);
  const caption = el("p", "av-detail-caption", view);
  // After a refusal the last good view stays, dimmed, with this note saying it is not of the text.
  const stale = el("p", "av-explorer__stale", view);
  stale.hidden = true;
  const main = el("div", "av-explorer__main", view);
  const heatmap = new Heatmap(el("div", "av-explorer__heatmap", main), {
    label: "Attention heatmap: rows are queries, columns are keys", maxCell: 40,
    onSelect: (row) => changed({ token: row }),
  });
  const grid = el("div", "av-grid av-explorer__grid", main);
  const gridScale = el("p", "av-caption av-explorer__grid-scale", main);
  // Step by step opens where the reader is looking: right under the heatmap, before the analysis and the details.
  const steps = new Steps(main, (stage) => { state.stage = stage; saveHash(); });
  steps.root.hidden = !state.step;
  const analysis = new AnalysisPanel(main, { changed, openHead: (l, h) => openHead(h, l) });
  heatmap.opts.onCell = (row, col) => { if (state.analysis === "neuron") changed({ query: row, key: col }); };
  const side = el("div", "av-explorer__side", panel);
  side.hidden = true; // until there is a result to describe
  const arcs = new Arcs(side);
  const stats = new Stats(side, () => state.self, (v) => changed({ self: v }));
  const next = new NextTokens(side);
  const request = requester(host, status, refused);
  /** @type {object|null} */
  let result = null;
  let resultKey = "";
  let pendingKey = "";
  let latestKey = ""; // the request the controls describe now
  let changeStarted = 0;
  /** @type {{tokens: number, limit: number}|null} the text past the model's limit, while it is refused */
  let tooLong = null;
  const timing = (window.__attnvizExplorer = { latencies: [], computes: 0 });
  const rejected = [...new Set(parsed.rejected)];
  const urlProblems = rejected.length
    ? `The link had values that could not be used (${fieldList(rejected)}); defaults are shown for those.` : "";

  /** What attnviz refused: text past the model's limit is offered its first tokens. */
  function refused(error) {
    tooLong = error.too_long || null;
    if (!tooLong) return;
    const { tokens, limit } = tooLong;
    ui.count(tokens, limit);
    status.offer(`Use the first ${limit} tokens`, () => changed({ cut: true }));
  }

  /** Mark the view on screen as not of the text (or clear the mark). @param {string} message the refusal, "" for none */
  function markStale(message) {
    host.classList.toggle("av-explorer--stale", Boolean(message));
    stale.hidden = !message;
    stale.textContent = message ? "This view is not of the text above: it is the last one that worked (the message above says why)." : "";
  }

  /** Apply a change from a control, then recompute or just redraw. @param {Partial<typeof state>} patch */
  function changed(patch = {}) {
    if (page.aborted) return; // a debounce firing after the reader left: the address is another page's now
    changeStarted = performance.now();
    Object.assign(state, patch);
    // Ablation needs something to ablate: at first, the head in view.
    if (patch.analysis === "ablate" && state.ablate_token < 0 && !state.ablate_head) state.ablate_head = true;
    normalise();
    saveHash();
    ui.sync(result);
    update();
  }

  /** Keep the state consistent with its model: modes and stacks it has, heads and layers in range. */
  function normalise() {
    fitToModel(state, entryOf(), index.models[0]);
  }

  function saveHash() {
    history.replaceState(null, "", `${location.pathname}${location.search}${toHash(state)}`);
  }

  async function update() {
    const req = requestFor(state, entryOf());
    const key = JSON.stringify(req);
    latestKey = key;
    // Back to what is on screen (a refused edit undone, or from a model that failed): it matches
    // again, so nothing is wrong now.
    if (key === resultKey) {
      status.clearError();
      markStale("");
      tooLong = null;
      pendingKey = ""; // a request still under way for the undone edit is of no use now
      draw();
      measured();
      return;
    }
    if (key === pendingKey) return;
    pendingKey = key;
    if (result) draw(); // at once, from the result on screen: the new head's weights are already there
    // A model that writes step by step (an LLM generating) sends the result so far after each
    // token: draw it, so each new token's row appears as it is written.
    const r = await request(req, "main", (partial) => {
      if (pendingKey !== key) return;
      result = partial;
      ui.sync(result);
      draw();
    });
    if (pendingKey === key) pendingKey = "";
    if (latestKey !== key) return; // the reader has moved on: an older answer never covers a newer view
    // Refused: the status line says why; the last good result stays, and view controls
    // (head, token, colour scale) still apply to it.
    if (!r) { // (unless a newer request is on its way; an undone edit made latestKey another one above)
      if (!pendingKey) { markStale(status.errorText || ""); draw(); }
      return;
    }
    timing.computes++;
    result = r;
    resultKey = key;
    markStale("");
    tooLong = null;
    ui.sync(result);
    draw();
    measured();
  }

  /** The time from the last change to a view drawn from its own result (window.__attnvizExplorer). */
  function measured() {
    if (!changeStarted) return;
    timing.latencies.push(performance.now() - changeStarted);
    changeStarted = 0;
  }

  function draw() {
    if (!result) return;
    const s = stackOf(result);
    const [layers, heads] = s.weights.shape;
    const layer = Math.min(state.layer, layers - 1), head = Math.min(state.head, heads - 1);
    // The result holds every head's weights, but the metrics and the trace of one: the head it was
    // asked for. While a newer request is refused (say, the text), other heads draw without them.
    const fresh = result.request.layer === layer && result.request.head === head;
    const known = knownAs(result, layer, head);
    const nq = s.query.length;
    const hidden = new Set(result.request.hide || []);
    // No token chosen: the first one not hidden (a hidden token's row is all zeros).
    const token = state.token >= 0 && state.token < nq ? state.token : Math.max(0, s.query.findIndex((_, i) => !hidden.has(i)));
    const headName = layers > 1 ? `Layer ${layer + 1}, head ${head + 1}` : `Head ${head + 1}`;
    caption.textContent = `${headName}${known ? ` — ${known}` : ""}${fresh ? `: ${result.metrics.description}` : ""}`;
    const translation = result.translation ? `${result.translation.forced ? "Your translation" : "Translation"}: ${result.translation.text}` : "";
    const generated = result.generated && result.generated.ids.length ? `Generated: “${result.generated.text}”` : "";
    notes.textContent = [urlProblems, translation, generated, ...(result.notes || [])].filter(Boolean).join(" ");
    drawChips(s.query, token);
    const single = showView();
    main.classList.toggle("av-explorer__main--pair", state.analysis === "value_norm" && single);
    analysis.draw(result, state, layer, head, token);
    const scaled = scaleFor(state.scale, headMatrix(s.weights, layer, head), s.weights.data);
    if (single) heatmap.set({ ...heatmapData(result, layer, head), rowScale: state.rowscale, vmax: scaled.vmax, scaleName: scaled.name });
    else drawGrid(layer, head);
    heatmap.select(token);
    const k = s.key.length;
    const row = headMatrix(s.weights, layer, head).subarray(token * k, (token + 1) * k);
    side.hidden = false; // first: the arcs scroll to the token, which needs the panel's width
    arcs.draw(s.key, s.query[token].text, token, row, s.query === s.key);
    stats.root.hidden = !fresh;
    if (fresh) stats.draw(result, state.self);
    next.draw(result);
    const opening = steps.root.hidden && state.step && fresh;
    steps.root.hidden = !state.step || !fresh;
    if (state.step && fresh) steps.draw(result, state.stage);
    if (opening && changeStarted) steps.root.scrollIntoView({ block: "nearest" }); // opened by the reader: show it
    const entry = entryOf();
    const read = (result.tokens.text || result.tokens.source).filter((t) => !t.generated).length;
    if (tooLong) ui.count(tooLong.tokens, tooLong.limit);
    else ui.count(read, entry.max_tokens - (state.generate && entry.options.includes("generate") ? state.generate : 0), state.cut);
    // Files are of the head the result was computed for, and only of a view that matches the text.
    ui.exportable(fresh && !host.classList.contains("av-explorer--stale"));
    host.dataset.ready = "true";
    host.dataset.tokens = String(nq);
    host.dataset.model = result.request.model; // whose answer is on screen
    timing.shown = result.request; // the request of that answer (tools/bench.py checks it is the newest)
  }

  /** The token chips: one tab stop (the selected chip); the arrow keys, Home and End move within. */
  function drawChips(tokens, selected) {
    chips.setAttribute("aria-label", `Tokens; choose one ${hidingTokens() ? "to hide it or show it again"
      : "to see where it looks"} (arrow keys move between them)`);
    if (hidingTokens()) { drawHideChips(); return; }
    const focused = chips.contains(document.activeElement);
    const items = tokens.map((t, i) => {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "av-chip";
      b.tabIndex = i === selected ? 0 : -1;
      b.setAttribute("aria-pressed", String(i === selected));
      b.textContent = visible(t.text); // text, never HTML
      el("sub", null, b).textContent = String(i);
      b.addEventListener("click", () => changed({ token: i }));
      return b;
    });
    chips.replaceChildren(...items);
    if (focused) items[selected].focus();
  }

  /**
   * The arrow keys, Home and End within the chips. Choosing tokens: the chip reached is chosen. Hiding
   * tokens: the focus moves only (Enter or Space hides or shows the token in focus).
   * @param {KeyboardEvent} e
   */
  function onChipKey(e) {
    const all = /** @type {HTMLElement[]} */ ([...chips.children]);
    const n = all.length;
    const at = all.indexOf(/** @type {HTMLElement} */ (e.target));
    if (at < 0 || !n) return;
    const to = { ArrowRight: at + 1, ArrowDown: at + 1, ArrowLeft: at - 1, ArrowUp: at - 1, Home: 0, End: n - 1 }[e.key];
    if (to === undefined) return;
    e.preventDefault();
    const i = Math.max(0, Math.min(n - 1, to));
    if (hidingTokens()) {
      all.forEach((b, j) => { b.tabIndex = j === i ? 0 : -1; });
      all[i].focus();
      return;
    }
    changed({ token: i });
    /** @type {HTMLElement} */ (chips.children[i]).focus();
  }

  function hidingTokens() {
    return hiding.getAttribute("aria-pressed") === "true";
  }

  /** In "hide tokens" mode: every token of the input, hidden ones too; choosing one toggles it. One
   * tab stop as well: the chip in focus (kept across redraws), else the first. */
  function drawHideChips() {
    const active = /** @type {HTMLElement} */ (document.activeElement);
    const focused = chips.contains(active) && active.dataset.index !== undefined ? Number(active.dataset.index) : -1;
    const slots = tokenSlots(stackOf(result).key, result.request.hide || []);
    const stop = slots.some((t) => t.index === focused) ? focused : slots.length ? slots[0].index : -1;
    const items = slots.map((t) => {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "av-chip av-chip--hide";
      b.tabIndex = t.index === stop ? 0 : -1;
      b.dataset.index = String(t.index);
      b.setAttribute("aria-pressed", String(t.hidden));
      b.setAttribute("aria-label", `${t.hidden ? "Show" : "Hide"} token ${t.index}: ${visible(t.text)}`);
      b.textContent = visible(t.text); // text, never HTML
      el("sub", null, b).textContent = String(t.index);
      b.addEventListener("click", () => changed({ hidden: toggled(state.hidden, t.index), token: -1 }));
      return b;
    });
    chips.replaceChildren(...items);
    if (focused >= 0) items.find((b) => b.tabIndex === 0)?.focus();
  }

  function drawGrid(layer, selectedHead) {
    const { weights } = stackOf(result);
    const [, heads, q, k] = weights.shape;
    grid.style.gridTemplateColumns = `repeat(auto-fill, minmax(${THUMB + 10}px, 1fr))`;
    const cells = [];
    const scaled = (h) => scaleFor(state.scale, headMatrix(weights, layer, h), weights.data);
    const shared = state.scale !== "head";
    gridScale.textContent = `Colour scale: 0 → ${shared ? `${scaled(0).vmax.toFixed(3)}, ` : ""}${scaled(0).name}.`;
    for (let h = 0; h < heads; h++) {
      const known = knownAs(result, layer, h);
      const b = el("button", "av-thumb av-thumb--labelled");
      b.type = "button";
      b.dataset.head = String(h);
      b.setAttribute("aria-pressed", String(h === selectedHead));
      b.setAttribute("aria-label", `Open head ${h + 1}${known ? `: ${known}` : ""}`);
      drawThumb(el("canvas", null, b), headMatrix(weights, layer, h), q, k, THUMB, scaled(h).vmax);
      el("span", "av-thumb__label", b).textContent = `${h + 1}${known ? ` ${known}` : ""}`;
      b.addEventListener("click", () => openHead(h));
      cells.push(b);
    }
    grid.replaceChildren(...cells);
  }

  /** Show the heatmap or the grid, as the state says. @returns {boolean} true for the heatmap */
  function showView() {
    const single = state.view === "single";
    heatmap.host.hidden = !single;
    grid.hidden = single;
    gridScale.hidden = single;
    return single;
  }

  /**
   * Show one head of the grid. The grid hides, so the focus moves on to the heatmap, shown at once
   * (with the last head until the new one is computed) so that it can take the focus.
   * @param {number} h
   */
  function openHead(h, layer = state.layer) {
    changed({ head: h, layer, view: "single" });
    showView();
    heatmap.overlay.focus();
  }

  ui.onExport = async (kind) => {
    if (!result) return;
    const base = files.baseName(result);
    const s = stackOf(result);
    const scaled = scaleFor(state.scale, headMatrix(s.weights, result.request.layer, result.request.head), s.weights.data);
    if (kind === "json") files.download(JSON.stringify(files.jsonDocument(result, result.version, index.result_schema), null, 1), `${base}.json`, "application/json");
    if (kind === "csv") files.download(files.csv(result), `${base}.csv`, "text/csv");
    if (kind === "svg") files.download(files.svg(result, { rowScale: state.rowscale, vmax: scaled.vmax }), `${base}.svg`, "image/svg+xml");
    if (kind === "png") {
      if (state.view !== "single") changed({ view: "single" });
      const style = getComputedStyle(document.body);
      files.download(await files.png(heatmap, files.headInView(result).title, style.backgroundColor || "#fff", style.color || "#000"),
        `${base}.png`, "image/png");
    }
  };

  window.addEventListener("hashchange", () => {
    const next = fromHash(location.hash);
    if (toHash(next.state) === toHash(state)) return;
    Object.assign(state, next.state);
    normalise();
    ui.sync(result, true);
    changed();
  }, { signal: page });
  ui.sync(null, true);
  changed();
}

/**
 * The control panel; the model list, layer range and which controls apply come from the model index.
 * @param {import("../models.js").ModelIndex} index
 * @returns {{sync: (result: object|null, values?: boolean) => void, onExport: (kind: string) => void,
 *   exportable: (ok: boolean) => void, count: (tokens: number, limit: number, cutting?: boolean) => void}}
 */
function buildControls(root, state, changed, index) {
  const api = { onExport: () => {} };
  const row1 = el("div", "av-controls", root);
  const textLabel = el("label", "av-control av-control--wide", row1);
  el("span", null, textLabel).textContent = "Text";
  const text = el("textarea", null, textLabel);
  Object.assign(text, { rows: 2, spellcheck: false });
  text.dataset.control = "text";
  const sourceLabel = el("label", "av-control av-control--wide", row1);
  el("span", null, sourceLabel).textContent = "Source (keys and values)";
  const source = el("textarea", null, sourceLabel);
  Object.assign(source, { rows: 2, spellcheck: false });
  source.dataset.control = "source";
  const targetLabel = el("label", "av-control av-control--wide", row1);
  el("span", null, targetLabel).textContent = "Your translation (optional: see how the model reads it)";
  const target = el("textarea", null, targetLabel);
  Object.assign(target, { rows: 2, spellcheck: false });
  target.dataset.control = "target";
  let timer = 0;
  for (const [box, key] of [[text, "text"], [source, "source"], [target, "target"]]) {
    box.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(() => changed({ [key]: box.value }), 200); // debounce: compute when typing pauses
    });
  }

  const row2 = el("div", "av-controls", root);
  const select = (label, key, options, parse = String, patchOf = (v) => ({ [key]: v })) => {
    const wrap = el("label", "av-control", row2);
    el("span", null, wrap).textContent = label;
    const s = el("select", null, wrap);
    s.dataset.control = key;
    for (const [value, name] of options) s.appendChild(Object.assign(document.createElement("option"), { value, textContent: name }));
    s.addEventListener("change", () => changed(patchOf(parse(s.value))));
    return s;
  };
  const check = (label, key, parent = row2) => {
    const wrap = el("label", "av-control", parent);
    const box = el("input", null, wrap);
    box.type = "checkbox";
    box.dataset.control = key;
    el("span", null, wrap).textContent = label;
    box.addEventListener("change", () => changed({ [key]: box.checked }));
    return box;
  };
  const model = select("Model", "model", index.models.map((m) => [m.name, modelLabel(m)]));
  const mode = select("Attention", "mode", [["self", "Self"], ["cross", "Cross (text → source)"]]);
  const stack = select("Stack", "stack", [["", ""]]);
  const heads = select("Heads", "heads", Array.from({ length: 16 }, (_, i) => [String(i + 1), String(i + 1)]), Number);
  const layer = select("Layer", "layer", [["0", "1"]], Number);
  const head = select("Head", "head", [["0", "1"]], Number);
  const view = select("Show", "view", [["single", "One head"], ["grid", "All heads"]]);
  const analysis = select("Analysis", "analysis", ANALYSIS_CHOICES);
  const causal = check("Causal mask", "causal");
  const tempWrap = el("label", "av-control", row2);
  const tempText = el("span", null, tempWrap);
  const temperature = el("input", null, tempWrap);
  Object.assign(temperature, { type: "range", min: "0.1", max: "5", step: "0.05" });
  temperature.dataset.control = "temperature";
  temperature.addEventListener("input", () => changed({ temperature: Number(temperature.value) }));
  // One choice of colour scale: each head's maximum (the default), each row's, or one for all heads.
  const scale = select("Colour scale", "scale", [["head", SCALES.head[0]], ["row", "Each row's own maximum"],
    ["one", SCALES.one[0]], ["model", SCALES.model[0]]], String,
  (v) => (v === "row" ? { rowscale: true } : { rowscale: false, scale: v }));
  const step = check("Step by step", "step");
  const hide = check("Hide [CLS]/[SEP]", "hide");
  const merge = check("Merge word pieces", "merge");
  const generate = select("Generate", "generate", Array.from({ length: 21 }, (_, i) => [String(i), i ? `${i} tokens` : "none"]), Number);
  const chat = check("Chat template", "chat");
  const sink = check("Hide the sink (first token)", "sink");
  const cut = check("Read the first tokens of a long text", "cut");

  const row3 = el("div", "av-controls av-explorer__actions", root);
  const button = (label, action) => {
    const b = el("button", "md-button av-button", row3);
    b.type = "button";
    b.textContent = label;
    b.dataset.action = action;
    return b;
  };
  const counter = el("span", "av-token-count", textLabel);
  counter.setAttribute("aria-live", "polite");
  const copy = button("Copy link", "copy");
  const copied = el("span", "av-caption", row3);
  copied.setAttribute("aria-live", "polite");
  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(location.href);
      copied.textContent = "Link copied.";
    } catch {
      copied.textContent = `Copy this link: ${location.href}`;
    }
  });
  const exports = [["PNG", "png"], ["SVG", "svg"], ["CSV", "csv"], ["JSON", "json"]].map(([label, kind]) => {
    const b = button(`Export ${label}`, `export-${kind}`);
    b.addEventListener("click", () => api.onExport(kind));
    return b;
  });

  /** Exports only of a view that matches the text and the head chosen. @param {boolean} ok */
  api.exportable = (ok) => {
    for (const b of exports) {
      b.disabled = !ok;
      b.title = ok ? "" : "Exports wait for a view of the text above";
    }
  };

  /**
   * "12 / 512 tokens": how much of the model's limit the text takes, shown before it is reached.
   * @param {number} tokens @param {number} limit @param {boolean} [cutting] the first tokens are read
   */
  api.count = (tokens, limit, cutting = false) => {
    counter.textContent = `${tokens} / ${limit} tokens${tokens > limit ? ": over the limit"
      : cutting && tokens === limit ? " (the first: the text is longer)" : ""}`;
    counter.classList.toggle("av-token-count--over", tokens > limit);
  };

  /** Replace a select's options when they differ. @param {HTMLSelectElement} s @param {[string, string][]} options */
  const setOptions = (s, options) => {
    if ([...s.options].map((o) => `${o.value}=${o.textContent}`).join() === options.map(([v, t]) => `${v}=${t}`).join()) return;
    s.replaceChildren(...options.map(([value, textContent]) => Object.assign(document.createElement("option"), { value, textContent })));
  };

  api.sync = (result, values = false) => {
    const entry = findModel(index, state.model) || index.models[0];
    const has = (option) => entry.options.includes(option);
    if (values) {
      text.value = state.text;
      source.value = state.source;
      target.value = state.target;
    }
    targetLabel.hidden = !has("target");
    model.value = state.model;
    mode.value = state.mode;
    mode.disabled = !has("mode");
    mode.title = has("mode") ? "" : `${entry.label} has no cross-attention between two texts you type`;
    const stacks = has("mode") ? [] : entry.stacks;
    setOptions(stack, stacks.map((s) => [s, s]));
    stack.value = state.stack || stacks[0] || "";
    stack.parentElement.hidden = stacks.length < 2;
    heads.value = String(state.heads);
    heads.parentElement.hidden = !has("heads");
    const layers = layersOf(entry, state.stack || (has("mode") ? state.mode : entry.stacks[0]));
    setOptions(layer, Array.from({ length: layers }, (_, l) => [String(l), String(l + 1)]));
    layer.value = String(state.layer);
    layer.parentElement.hidden = layers < 2;
    sourceLabel.hidden = state.mode !== "cross";
    view.value = state.view;
    analysis.value = state.analysis;
    causal.checked = state.causal;
    causal.parentElement.hidden = !has("causal");
    temperature.value = String(state.temperature);
    tempText.textContent = `Temperature T = ${state.temperature.toFixed(2)}`;
    tempWrap.hidden = !has("temperature");
    scale.value = state.rowscale ? "row" : state.scale;
    cut.checked = state.cut;
    cut.parentElement.lastElementChild.textContent = `Read the first ${entry.max_tokens} tokens of a long text`;
    step.checked = state.step;
    hide.checked = state.hide;
    merge.checked = state.merge;
    hide.parentElement.hidden = !has("hide_special");
    merge.parentElement.hidden = !has("merge_subwords");
    generate.value = String(state.generate);
    generate.parentElement.hidden = !has("generate");
    chat.checked = state.chat;
    chat.parentElement.hidden = !has("chat");
    sink.checked = state.sink;
    sink.parentElement.hidden = !has("hide_first");
    if (result) {
      const [layers, n] = stackOf(result).weights.shape;
      const l = Math.min(state.layer, layers - 1);
      const names = Array.from({ length: n }, (_, h) => {
        const known = knownAs(result, l, h);
        return `${h + 1}${known ? `: ${known}` : ""}`; // heads are shown from 1 everywhere; the hash keeps the index
      });
      if ([...head.options].map((o) => o.textContent).join() !== names.join()) {
        head.replaceChildren(...names.map((name, h) => Object.assign(document.createElement("option"), { value: String(h), textContent: name })));
      }
    }
    head.value = String(state.head);
  };
  return api;
}
