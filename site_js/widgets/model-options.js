/**
 * A real model's display options, shared by its views, for the options the model index says it
 * has: hide [CLS]/[SEP] or an LLM's attention sink (rows renormalised), merge WordPiece pieces
 * back into words, wrap the text in the chat template.
 */
import { el } from "../heatmap.js";
import { findModel, modelIndex } from "../models.js";
import { stackOf } from "./common.js";

/** Request option -> checkbox text. */
export const VIEW_OPTIONS = {
  hide_special: "Hide [CLS]/[SEP] (rows renormalised)",
  merge_subwords: "Merge word pieces into words",
  hide_first: "Hide the sink (first token; rows renormalised)",
  chat: "Chat template",
};

/**
 * Add a checkbox for each view option the model has. @param {HTMLElement} parent
 * @param {Record<string, any>} state (its model, and a boolean per option) @param {() => void} changed
 */
export async function modelOptions(parent, state, changed) {
  const entry = findModel(await modelIndex(), state.model);
  for (const [key, text] of Object.entries(VIEW_OPTIONS)) {
    if (!entry || !entry.options.includes(key)) continue;
    const label = el("label", "av-control", parent);
    const input = el("input", null, label);
    input.type = "checkbox";
    input.checked = Boolean(state[key]);
    input.dataset.option = key;
    el("span", null, label).textContent = text;
    input.addEventListener("change", () => { state[key] = input.checked; changed(); });
  }
}

/** The view options a widget's state turns on, as request fields. @param {Record<string, any>} state */
export function viewOptions(state) {
  return Object.fromEntries(Object.keys(VIEW_OPTIONS).filter((k) => state[k]).map((k) => [k, true]));
}

/** One line about what the numbers are, from the result's own notes. */
export function notesLine(result) {
  const [layers, heads, q, k] = stackOf(result).weights.shape;
  const base = `${result.model.label}: ${layers} layers × ${heads} heads, ${q} × ${k} tokens.`;
  return [base, ...(result.notes || [])].join(" ");
}
