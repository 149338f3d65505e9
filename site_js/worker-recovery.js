/**
 * What the page does when the worker runs out of memory: the request gets an error that says what
 * happened and what to try, and the page starts a fresh worker (client.js) without that model;
 * the widgets keep the reader's text and the last view. Shared by the worker (to recognise the
 * failure) and the page (to word it).
 */
import { findModel, modelIndex } from "./models.js";

/** Whether an error (or its message) is the heap or the JavaScript engine running out of memory. @param {unknown} err */
export function isOutOfMemory(err) {
  const text = String(err && err.message ? err.message : err);
  return (err instanceof RangeError && !/call stack/i.test(text)) ||
    /out of memory|allocation failed|cannot enlarge memory|\bOOM\b|MemoryError/i.test(text);
}

/**
 * The reader's message for a request that ran out of memory. @param {string} detail what happened
 * @param {object} request @returns {Promise<string>}
 */
export async function memoryAdvice(detail, request) {
  let model = null, smaller = [];
  try {
    const index = await modelIndex();
    model = request.model ? findModel(index, request.model) : null;
    smaller = index.models.filter((m) => model && model.bytes && (!m.bytes || m.bytes < model.bytes));
  } catch { /* the words below do without the model list */ }
  const tries = ["a shorter text", "closing other tabs"];
  if (smaller.length) tries.push(`a smaller model (${smaller.map((m) => m.label).join(", ")})`);
  const what = model ? model.label : "This request";
  return `${detail.replace(/\.$/, "")}. ${what} did not fit in this tab's memory, so the computation was restarted ` +
    `without it; your text and the last view are kept. Try ${tries.slice(0, -1).join(", ")} or ${tries.at(-1)}.`;
}
