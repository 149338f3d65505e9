/**
 * The pages a reader will likely open next get their widgets' first answers computed while the
 * reader reads, so that following a link draws the next page's heatmaps without waiting for
 * Python: the footer's next and previous pages once the page on screen has drawn and the browser
 * is idle, and any page of this site whose link the pointer rests on or presses, or the keyboard
 * focuses. Such a page is fetched and its widgets are mounted off screen, in a rehearsal (page.js)
 * whose requests the client only prepares (client.js), computing them when the worker has nothing
 * else to do and handing each answer to the first widget that asks the same.
 * Left out: widgets naming a real model (its weights download on the reader's word alone), the
 * Explorer (its state lives in the address), and everything when the reader asks to save data.
 * (Widgets whose first requests the build answered are prepared all the same: an answer in memory
 * draws a page swapped in about 60 ms sooner than one fetched from answers/.)
 */
import { isSitePage } from "./navigation.js";
import { currentPage, rehearse } from "./page.js";

/** How long the pointer rests on a link, or the focus stays on it, before its page is prepared
 * (ms): a pointer crossing the link, or a reader tabbing past it, does not. */
const DWELL_MS = 80;
/** Pages prepared at most while one page is on screen: sweeping over the whole navigation costs that much. */
const MAX_PAGES = 6;
/** How long a rehearsal lasts (ms): its widgets' first requests leave within a few tasks. */
const REHEARSAL_MS = 2000;
/** Widgets whose first request depends on more than their options. */
const NOT_REHEARSED = new Set(["explorer"]);

/** @typedef {(name: string) => Promise<{mount: (host: HTMLElement, options: object) => unknown}>} WidgetLoader */

/** Pages prepared while the page on screen is shown, by address, and that page. */
let preparedPages = new Set();
let preparedFrom = currentPage();

/** Whether the reader asked for less data (then nothing is fetched ahead). */
function savingData() {
  return Boolean(navigator.connection && navigator.connection.saveData);
}

/**
 * Fetch a page of this site and rehearse its widgets, once per page shown.
 * @param {URL} url @param {WidgetLoader} loadWidget
 */
export async function preparePage(url, loadWidget) {
  const address = url.origin + url.pathname;
  if (savingData() || !isSitePage(url) || address === location.origin + location.pathname) return;
  if (preparedFrom !== currentPage()) {
    preparedPages = new Set();
    preparedFrom = currentPage();
  }
  if (preparedPages.has(address) || preparedPages.size >= MAX_PAGES) return;
  preparedPages.add(address);
  let html;
  try {
    const response = await fetch(address, { credentials: "same-origin" });
    if (!response.ok) return;
    html = await response.text();
  } catch {
    return; // offline: the link, if followed, says so itself
  }
  // An inert document: nothing in it runs or loads (trusted-types.js lets whole pages through).
  const page = new DOMParser().parseFromString(html, "text/html");
  for (const source of page.querySelectorAll("[data-attnviz]")) {
    const name = source.getAttribute("data-attnviz");
    if (NOT_REHEARSED.has(name)) continue;
    let options;
    try {
      options = JSON.parse(source.getAttribute("data-options") || "{}");
    } catch {
      continue; // the page shows the problem when it is opened
    }
    if (!options || options.model) continue;
    let module;
    try {
      module = await loadWidget(name);
    } catch {
      continue;
    }
    const host = document.createElement("div"); // never attached: only its requests matter
    try {
      const end = rehearse(() => Promise.resolve(module.mount(host, options)).catch(() => {}));
      setTimeout(end, REHEARSAL_MS);
    } catch {
      // a widget that cannot mount off screen is simply not prepared
    }
  }
}

/**
 * The page on screen has drawn: prepare its footer's next and previous pages when the browser is
 * idle. @param {AbortSignal} page @param {WidgetLoader} loadWidget
 */
export function prepareNeighbours(page, loadWidget) {
  const idle = window.requestIdleCallback || ((fn) => setTimeout(fn, 200));
  idle(() => {
    if (page.aborted) return;
    for (const link of document.querySelectorAll("a.md-footer__link--next, a.md-footer__link--prev")) {
      preparePage(new URL(link.href), loadWidget);
    }
  }, { timeout: 2000 });
}

/**
 * Prepare the page of any link the pointer rests on or presses, or the keyboard focus stays on
 * (set up once per visit: the listeners are the document's). @param {WidgetLoader} loadWidget
 */
export function prepareOnIntent(loadWidget) {
  /** @param {EventTarget|null} target @returns {URL|null} */
  const linkURL = (target) => {
    const link = target instanceof Element ? target.closest("a[href]") : null;
    return link && !link.target && !link.hasAttribute("download") ? new URL(link.href) : null;
  };
  let timer = 0;
  /** @param {Event} event */
  const dwell = (event) => {
    clearTimeout(timer);
    const url = linkURL(event.target);
    if (url) timer = setTimeout(() => preparePage(url, loadWidget), DWELL_MS);
  };
  const away = () => clearTimeout(timer);
  document.addEventListener("pointerover", dwell, { passive: true });
  document.addEventListener("focusin", dwell);
  document.addEventListener("pointerout", away, { passive: true });
  document.addEventListener("focusout", away);
  document.addEventListener("pointerdown", (event) => {
    const url = linkURL(event.target);
    if (url) preparePage(url, loadWidget);
  }, { passive: true });
}
