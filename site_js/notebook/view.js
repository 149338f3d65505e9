/**
 * The attention view of a notebook output or a saved HTML file: one result (from attnviz, or any
 * model's attention arrays shaped by attnviz.notebook) in three tabs — a heatmap with stack, layer
 * and head pickers, hover and exports; the model view (every head); the head view (lines between
 * tokens) — all drawn by the site's own widgets, with notebook/static-client.js in place of the
 * worker. Nothing is fetched: the data comes in the page, the weights as float16 in base64.
 */
import { Heatmap, el } from "../heatmap.js";
import * as files from "../explorer/export.js";
import { heatmapData, stackOf } from "../widgets/common.js";
import { mount as mountHeadView } from "../widgets/head-view.js";
import { mount as mountModelView } from "../widgets/model-view.js";
import { answer, provide } from "./static-client.js";

/** float16 bits -> value, for every 16-bit pattern. @type {Float32Array|null} */
let HALF = null;

function halfTable() {
  if (HALF) return HALF;
  HALF = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1, exp = (h >> 10) & 0x1f, frac = h & 0x3ff;
    HALF[h] = exp === 0 ? sign * frac * 2 ** -24
      : exp === 31 ? (frac ? NaN : sign * Infinity) : sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  return HALF;
}

/** @param {string} text base64 @returns {ArrayBuffer} */
function bytesOf(text) {
  const raw = atob(text);
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out.buffer;
}

/**
 * Replace {"$f16" | "$f32": base64, shape} in the parsed payload with {data: Float32Array, shape},
 * the tensors the widgets read (little-endian, as attnviz.notebook.payload writes them).
 */
export function decode(value) {
  if (Array.isArray(value)) return value.map(decode);
  if (value && typeof value === "object") {
    if (typeof value.$f32 === "string") return { data: new Float32Array(bytesOf(value.$f32)), shape: value.shape };
    if (typeof value.$f16 === "string") {
      const half = new Uint16Array(bytesOf(value.$f16)), table = halfTable();
      const data = new Float32Array(half.length);
      for (let i = 0; i < half.length; i++) data[i] = table[half[i]];
      return { data, shape: value.shape };
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, decode(v)]));
  }
  return value;
}

/** A labelled select of n numbered options (shown from 1, valued from 0). */
function numberSelect(parent, label, control) {
  const wrap = el("label", "av-control", parent);
  el("span", null, wrap).textContent = label;
  const select = el("select", null, wrap);
  select.dataset.control = control;
  return {
    wrap, select,
    fill(n, value) {
      if (select.options.length !== n) {
        select.replaceChildren(...Array.from({ length: n }, (_, i) =>
          Object.assign(document.createElement("option"), { value: String(i), textContent: String(i + 1) })));
      }
      select.value = String(Math.min(value, n - 1));
    },
  };
}

/**
 * The heatmap tab: pickers, the heatmap of the head in view, what the head does, exports.
 * @param {HTMLElement} host @param {object} result @param {{stack: string, layer: number, head: number}} view
 */
function heatmapPanel(host, result, view) {
  const controls = el("div", "av-controls", host);
  const stacks = Object.keys(result.attention);
  const stackLabel = el("label", "av-control", controls);
  el("span", null, stackLabel).textContent = "Attention";
  const stackSelect = el("select", null, stackLabel);
  stackSelect.dataset.control = "stack";
  stackSelect.replaceChildren(...stacks.map((s) => Object.assign(document.createElement("option"), { value: s, textContent: s })));
  stackLabel.hidden = stacks.length < 2;
  const layer = numberSelect(controls, "Layer", "layer");
  const head = numberSelect(controls, "Head", "head");
  const rowScaleLabel = el("label", "av-control", controls);
  const rowScale = el("input", null, rowScaleLabel);
  rowScale.type = "checkbox";
  el("span", null, rowScaleLabel).textContent = "Colour each row by its own maximum";
  const caption = el("p", "av-caption", host);
  caption.setAttribute("aria-live", "polite");
  const heatmap = new Heatmap(el("div", null, host), { label: "Attention weights of the head in view" });
  const actions = el("div", "av-controls av-nb__exports", host);
  let current = answer(view);

  function draw() {
    const [layers, heads] = result.attention[view.stack].weights.shape;
    stackSelect.value = view.stack;
    layer.fill(layers, view.layer);
    head.fill(heads, view.head);
    layer.wrap.hidden = layers < 2;
    current = answer({ stack: view.stack, layer: Number(layer.select.value), head: Number(head.select.value) });
    Object.assign(view, { layer: current.request.layer, head: current.request.head });
    heatmap.set(heatmapData(current, view.layer, view.head, { rowScale: rowScale.checked }));
    caption.textContent = `${layers > 1 ? `Layer ${view.layer + 1}, h` : "H"}ead ${view.head + 1}: ${current.metrics.description}`;
  }
  stackSelect.addEventListener("change", () => { view.stack = stackSelect.value; draw(); });
  layer.select.addEventListener("change", () => { view.layer = Number(layer.select.value); draw(); });
  head.select.addEventListener("change", () => { view.head = Number(head.select.value); draw(); });
  rowScale.addEventListener("change", draw);

  const background = () => getComputedStyle(host).getPropertyValue("--md-default-bg-color").trim() || "#ffffff";
  const exports = {
    PNG: async () => files.download(await files.png(heatmap, files.headInView(current).title, background(),
      getComputedStyle(host).color || "#000"), `${files.baseName(current)}.png`, "image/png"),
    SVG: () => files.download(files.svg(current, { rowScale: rowScale.checked }), `${files.baseName(current)}.svg`, "image/svg+xml"),
    CSV: () => files.download(files.csv(current), `${files.baseName(current)}.csv`, "text/csv"),
    JSON: () => files.download(JSON.stringify(files.jsonDocument(current, result.version, result.schema_doc), null, 1),
      `${files.baseName(current)}.json`, "application/json"),
  };
  for (const [name, save] of Object.entries(exports)) {
    const button = el("button", "md-button av-button", actions);
    button.type = "button";
    button.dataset.export = name.toLowerCase();
    button.textContent = `Save ${name}`;
    button.addEventListener("click", () => save());
  }
  draw();
}

const TABS = { heatmap: "Heatmap", model: "Model view", head: "Head view" };

/**
 * Mount the view. @param {HTMLElement} host @param {object} payload the parsed JSON the page carries
 * (attnviz.notebook.payload): {result, view: {tab, stack, layer, head, heads}}
 */
export function mountView(host, payload) {
  const result = decode(payload.result);
  provide(result);
  host.replaceChildren(); // the message shown where scripts do not run
  const view = { stack: result.request.stack, layer: 0, head: 0, ...payload.view };
  host.classList.add("av-widget", "av-nb");
  const title = el("p", "av-nb__title", host);
  const [layers, heads, q, k] = stackOf(result, view.stack).weights.shape;
  title.textContent = `${result.model.label}: ${layers} layer${layers > 1 ? "s" : ""} × ${heads} heads, ${q} × ${k} tokens` +
    `${result.notes && result.notes.length ? ` — ${result.notes.join(" ")}` : ""}`;
  const tabBar = el("div", "av-nb__tabs", host);
  tabBar.setAttribute("role", "tablist");
  const panels = {}, buttons = {};
  const mounted = new Set();
  // The model and head views open on the head in view when first shown (the heatmap's pickers move it).
  const options = () => ({ text: result.request.text, model: result.model.name, stack: view.stack, layer: view.layer, head: view.head });
  const mounters = {
    heatmap: (panel) => heatmapPanel(panel, result, view),
    model: (panel) => mountModelView(panel, options()),
    head: (panel) => mountHeadView(panel, { ...options(), heads: view.heads && view.heads.length ? view.heads : [view.head] }),
  };

  function show(name) {
    for (const [tab, button] of Object.entries(buttons)) {
      button.setAttribute("aria-selected", String(tab === name));
      button.tabIndex = tab === name ? 0 : -1;
      panels[tab].hidden = tab !== name;
    }
    if (!mounted.has(name)) { // drawn when first shown: a hidden panel has no width to lay out in
      mounted.add(name);
      mounters[name](panels[name]);
    }
    host.dataset.tab = name;
  }
  for (const [name, label] of Object.entries(TABS)) {
    const button = el("button", "av-nb__tab", tabBar);
    button.type = "button";
    button.setAttribute("role", "tab");
    button.dataset.tab = name;
    button.textContent = label;
    button.addEventListener("click", () => show(name));
    button.addEventListener("keydown", (e) => {
      const names = Object.keys(TABS), i = names.indexOf(name);
      const next = e.key === "ArrowRight" ? names[(i + 1) % names.length] : e.key === "ArrowLeft" ? names[(i + names.length - 1) % names.length] : null;
      if (next) { e.preventDefault(); show(next); buttons[next].focus(); }
    });
    buttons[name] = button;
    panels[name] = el("div", "av-nb__panel", host);
    panels[name].setAttribute("role", "tabpanel");
    panels[name].setAttribute("aria-label", label);
  }
  show(TABS[payload.view.tab] ? payload.view.tab : "heatmap");
  host.dataset.ready = "true";
}
