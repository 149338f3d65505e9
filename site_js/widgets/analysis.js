/**
 * One analysis of one real model's head, for the articles: the raw attention of the head and,
 * beside or below it, the analysis (rollout, flow, value-weighted, roles, ablation, neuron view,
 * query–key map) drawn by the Explorer's own views (explorer/analysis.js). Options (data-options
 * JSON): any field of the Explorer's state (model, text, analysis, layer, head, token, stack,
 * ablate_token, ablate_head, hidden, query, key, sentences, rollout_heads, ...), and `raw: false`
 * to leave the raw heatmap out. Layer and head can be changed; a link opens it all in the Explorer.
 */
import { getClient } from "../client.js";
import { Heatmap, el } from "../heatmap.js";
import { findModel, layersOf, modelIndex } from "../models.js";
import { StatusLine } from "../status.js";
import { AnalysisPanel } from "../explorer/analysis.js";
import { DEFAULTS, fitToModel, requestFor, toHash } from "../explorer/state.js";
import { heatmapData, knownAs, requester, stackOf } from "./common.js";

/** The request the widget opens with (the build answers it ahead: built_answers.py), for the
 * model index's entries. @param {object} options @param {object} index */
export function firstRequests(options, index) {
  const state = initialState(options);
  const entry = findModel(index, state.model);
  if (!entry) return [];
  fitToModel(state, entry, entry);
  return [requestFor(state, entry)];
}

/** The Explorer's state from the options (all but `raw`, the widget's own). @param {object} options */
function initialState(options) {
  const state = { ...DEFAULTS, ...options };
  delete state.raw;
  return state;
}

/** @param {HTMLElement} host @param {object} options */
export async function mount(host, options) {
  const raw = options.raw ?? true;
  const state = initialState(options);
  host.classList.add("av-widget", "av-analysis-widget");
  const controls = el("div", "av-controls", host);
  const status = new StatusLine(host, getClient());
  const index = await modelIndex();
  const entry = findModel(index, state.model);
  if (!entry) { status.error(`There is no model "${state.model}" in this site's model list.`, false); return; }
  fitToModel(state, entry, entry);
  const pick = (label, key, count) => {
    const wrap = el("label", "av-control", controls);
    el("span", null, wrap).textContent = label;
    const s = el("select", null, wrap);
    s.dataset.control = key;
    for (let i = 0; i < count; i++) s.appendChild(Object.assign(document.createElement("option"), { value: String(i), textContent: String(i + 1) }));
    s.value = String(state[key]);
    s.addEventListener("change", () => changed({ [key]: Number(s.value) }));
    return s;
  };
  const layerPick = pick("Layer", "layer", layersOf(entry, state.stack || entry.stacks[0]));
  const headPick = pick("Head", "head", entry.heads);
  const open = el("a", "av-caption av-analysis-widget__open", controls);
  open.textContent = "Open in the Explorer";
  const caption = el("p", "av-detail-caption", host);
  const heatmap = raw ? new Heatmap(el("div", null, host), { label: "Raw attention of the head", onSelect: (row) => changed({ token: row }) }) : null;
  const panel = new AnalysisPanel(host, { changed, openHead: (layer, head) => changed({ layer, head }) });
  const request = requester(host, status);
  let result = null;

  function changed(patch) {
    Object.assign(state, patch);
    fitToModel(state, entry, entry);
    layerPick.value = String(state.layer);
    headPick.value = String(state.head);
    compute();
  }

  function draw() {
    const s = stackOf(result);
    const token = state.token >= 0 && state.token < s.query.length ? state.token : 0;
    const known = knownAs(result, state.layer, state.head);
    caption.textContent = `${entry.label}, layer ${state.layer + 1}, head ${state.head + 1}${known ? ` — ${known}` : ""}`;
    if (heatmap) {
      heatmap.set(heatmapData(result, state.layer, state.head));
      heatmap.select(token);
    }
    panel.draw(result, state, state.layer, state.head, token);
    open.href = new URL(`../../explorer/${toHash(state)}`, import.meta.url).href; // js/widgets/ -> explorer/
    host.dataset.ready = "true";
  }

  async function compute() {
    const r = await request(requestFor(state, entry));
    if (!r) return;
    result = r;
    draw();
  }
  compute();
}
