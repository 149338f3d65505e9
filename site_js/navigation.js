/**
 * Page to page without reloading: a click on a link to another page of this site swaps the
 * content in place through Material's instant navigation (`navigation.instant` in mkdocs.yml),
 * so the document, the worker, Pyodide and any model weights stay for the whole visit.
 *
 * Material intercepts only links listed in sitemap.xml, whose addresses are absolute and so exist
 * only for a build with a site_url; this site is built to work at any address and under any
 * sub-path. So the links Material leaves alone are handed to it here: its location$ fetches the
 * page, swaps the content and the head, announces the new page on document$ (mount.js mounts its
 * widgets then) and restores scroll positions, as for its own links. Back/forward (popstate) is
 * Material's already; a page that cannot be fetched falls back to a normal navigation.
 */

/** The site's root (this module lives in js/). */
const SITE = new URL("../", import.meta.url);

/** Whether a URL is a page of this site (not a file: a model, an export, an image). @param {URL} url */
export function isSitePage(url) {
  return url.origin === SITE.origin && url.pathname.startsWith(SITE.pathname)
    && (url.pathname.endsWith("/") || url.pathname.endsWith(".html"));
}

/** @param {MouseEvent} event */
function onClick(event) {
  // Material's own handler (when its sitemap knows the link) has claimed the click already.
  if (event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return; // a new tab or window
  const link = event.target instanceof Element ? event.target.closest("a[href]") : null;
  if (!link || link.target || link.hasAttribute("download")) return;
  const url = new URL(link.href);
  if (!isSitePage(url)) return;
  // Another place on this page (an anchor, the Explorer's state in the hash): the browser's own.
  if (url.pathname === location.pathname && url.search === location.search) return;
  event.preventDefault();
  // As Material does for its own links: remember where the reader was, for back.
  history.replaceState({ x: scrollX, y: scrollY }, "", location.href);
  history.pushState(null, "", url);
  window.location$.next(url);
}

/** Follow this site's links in place, when Material's instant navigation is there to do it. */
export function followLinksInPlace() {
  if (!window.location$ || !document.querySelector("#__config")) return;
  const { features = [] } = JSON.parse(document.querySelector("#__config").textContent);
  if (!features.includes("navigation.instant")) return;
  window.addEventListener("click", onClick);
}
