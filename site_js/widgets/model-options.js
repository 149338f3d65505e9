/**
 * The real model's display options, shared by its views: hide [CLS]/[SEP] (rows renormalised)
 * and merge WordPiece pieces back into words.
 */
import { el } from "../heatmap.js";
import { stackOf } from "./common.js";

/** @param {HTMLElement} parent @param {{hide_special: boolean, merge_subwords: boolean}} state @param {() => void} changed */
export function modelOptions(parent, state, changed) {
  const boxes = [["hide_special", "Hide [CLS]/[SEP] (rows renormalised)"], ["merge_subwords", "Merge word pieces into words"]];
  for (const [key, text] of boxes) {
    const label = el("label", "av-control", parent);
    const input = el("input", null, label);
    input.type = "checkbox";
    input.checked = Boolean(state[key]);
    input.dataset.option = key;
    el("span", null, label).textContent = text;
    input.addEventListener("change", () => { state[key] = input.checked; changed(); });
  }
}

/** One line about what the numbers are, from the result's own notes. */
export function notesLine(result) {
  const [layers, heads, q, k] = stackOf(result).weights.shape;
  const base = `${result.model.label}: ${layers} layers × ${heads} heads, ${q} × ${k} tokens.`;
  return [base, ...(result.notes || [])].join(" ");
}
