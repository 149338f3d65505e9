/**
 * The life of the page on screen. With instant navigation one document shows many pages in turn
 * (the worker, Pyodide and the model weights stay): each page's widgets tie what outlives their
 * elements (window listeners, observers, subscriptions, requests) to that page's AbortSignal,
 * which aborts when the reader moves on.
 */

let controller = new AbortController();

/** The signal of the page on screen now: it aborts when the reader leaves that page. @returns {AbortSignal} */
export function currentPage() {
  return controller.signal;
}

/** End the page on screen (its signal aborts) and begin the next one. @returns {AbortSignal} */
export function nextPage() {
  controller.abort();
  controller = new AbortController();
  return controller.signal;
}
