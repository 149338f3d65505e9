/**
 * Stands in for client.js where there is no worker (a notebook output, a saved HTML file): the
 * widgets ask it for results as they ask the worker, and it answers from the one result it was
 * given (every layer and head of it; the description of each head computed by attnviz in Python).
 * Same exports as client.js, so the widgets run unchanged (attnviz/notebook/bundle.py swaps it in).
 */

/** Thrown for a request replaced by a newer one (never, here: answers are immediate). */
export class Superseded extends Error {}

export const STAGE_TEXT = { ready: "ready" };

/** @type {object|null} the result the page was given (decoded by notebook/view.js) */
let given = null;

/** @param {object} result */
export function provide(result) {
  given = result;
}

/**
 * The given result seen from another head: the request names the stack, layer and head in view.
 * A request for another text cannot be answered without Python: a clear error, nothing changes.
 * @param {object} request
 */
export function answer(request) {
  const base = given;
  if (request.text !== undefined && request.text !== base.request.text) {
    return { ok: false, error: { field: "text", message: "This view shows the attention it was given; " +
      "to see another text, compute it again in Python." } };
  }
  const stack = request.stack && base.attention[request.stack] ? request.stack : base.request.stack;
  const [layers, heads] = base.attention[stack].weights.shape;
  const layer = Math.min(Math.max(0, request.layer || 0), layers - 1);
  const head = Math.min(Math.max(0, request.head || 0), heads - 1);
  const description = base.descriptions[stack][layer * heads + head];
  return { ...base, request: { ...base.request, stack, layer, head },
    metrics: { stack, layer, head, description } };
}

class StaticClient {
  constructor() {
    /** @type {import("../client.js").Status} */
    this.status = { stage: "ready", loaded: 0, ready: true };
  }

  /** @param {(s: object) => void} fn @returns {() => void} */
  subscribe(fn) {
    fn(this.status);
    return () => {};
  }

  retry() {}

  /** @param {object} request @returns {Promise<object>} */
  async run(request) {
    return answer(request);
  }
}

let shared = null;

/** The page's one client, as client.js's getClient. */
export function getClient() {
  if (!shared) shared = new StaticClient();
  return shared;
}
