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

/** Pages mounted off screen (next-page.js): their widgets' requests are prepared, never answered. */
const rehearsals = new WeakSet();

/**
 * Mount a page the reader has not opened yet, off screen: fn runs (its synchronous part) as if
 * that page were on screen, so what its widgets tie to their page (listeners, subscriptions,
 * requests) belongs to the rehearsal, which ends when the returned function is called.
 * @param {() => unknown} fn @returns {() => void} ends the rehearsal
 */
export function rehearse(fn) {
  const rehearsal = new AbortController();
  rehearsals.add(rehearsal.signal);
  const shown = controller;
  controller = rehearsal;
  try {
    fn();
  } catch (err) {
    rehearsal.abort();
    throw err;
  } finally {
    controller = shown;
  }
  return () => rehearsal.abort();
}

/** Whether a page signal is a rehearsal's (see rehearse). @param {AbortSignal} page */
export function isRehearsal(page) {
  return rehearsals.has(page);
}
