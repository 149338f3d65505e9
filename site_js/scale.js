/**
 * Colour scales for attention weights. By default each head is coloured from 0 to its own maximum,
 * which makes a broad head (largest weight 0.2) look as vivid as a sharp one (0.98). The shared
 * scales colour every head alike, so heads can be compared by eye: 0 → 1, or 0 → the largest
 * weight of the whole model (every layer and head of the stack).
 */
import { maxOf } from "./heatmap.js";

/** Scale id -> [what a select calls it, what a legend says]. */
export const SCALES = {
  head: ["Each head's own maximum", "each head's own maximum"],
  one: ["0 → 1, the same for all heads", "the same for all heads"],
  model: ["The model's maximum, the same for all heads", "the model's maximum, the same for all heads"],
};

/** @type {WeakMap<Float32Array, number>} the largest weight of a stack, computed once per result */
const stackMax = new WeakMap();

/**
 * The top of the colour scale for one head.
 * @param {string} kind a key of SCALES @param {Float32Array} head (q * k) the head's weights
 * @param {Float32Array} stack every head of the stack (layers * heads * q * k)
 * @returns {{vmax: number, name: string}} name: what the legend says (see SCALES)
 */
export function scaleFor(kind, head, stack) {
  const name = (SCALES[kind] || SCALES.head)[1];
  if (kind === "one") return { vmax: 1, name };
  if (kind === "model") {
    if (!stackMax.has(stack)) stackMax.set(stack, maxOf(stack));
    return { vmax: stackMax.get(stack) || 1, name };
  }
  return { vmax: maxOf(head) || 1, name };
}
