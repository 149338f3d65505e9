/**
 * Material's search worker, made to wait for the page's widgets. On a page with widgets the build
 * points Material's config at this script (the hook in attnviz.mkdocs), and writes the theme's own
 * search worker in below (not in the URL: a worker served by the service worker does not see its
 * URL's fragment). Material hands its worker the whole site's text as soon as the
 * page starts, and the worker builds its index at once: on a 2-core machine that costs the first
 * heatmap about 0.1 s, while Python boots on the same cores. Here the messages wait until the
 * page says its widgets have drawn (mount.js, on a BroadcastChannel), or MAX_WAIT_MS at most; then
 * the theme's worker, loaded into this one from the start, gets them in order. A search typed
 * meanwhile is answered once the index is built.
 */
/** The channel mount.js announces on; "asking" is ours, for a page that had drawn before we listened. */
const CHANNEL = "attnviz-widgets-drawn";
/** However the page fares, search works after this long. */
const MAX_WAIT_MS = 10_000;
/** The theme's search worker, relative to this script (the build writes it in). */
const THEIRS = "__THEIR_SEARCH_WORKER__";

/** @type {unknown[]} what Material sent before the release */
const held = [];
/** Listening first, this keeps each message from the theme's listener until the release. @param {MessageEvent} e */
const hold = (e) => {
  held.push(e.data);
  e.stopImmediatePropagation();
};
addEventListener("message", hold);

// The theme's worker is loaded now (the page may go offline before the release); it only adds
// its own message listener, which hears nothing until then.
const theirs = new URL(THEIRS, location.href);
if (theirs.origin !== location.origin || !theirs.pathname.endsWith(".js")) {
  throw new TypeError(`Refused to load ${theirs.href} as the search worker: only this site's own scripts run.`);
}
importScripts(theirs.href);

const channel = new BroadcastChannel(CHANNEL);
const timer = setTimeout(release, MAX_WAIT_MS);
channel.onmessage = (e) => { if (e.data === "drawn") release(); };
channel.postMessage("asking");

let released = false;
function release() {
  if (released) return;
  released = true;
  clearTimeout(timer);
  channel.close();
  removeEventListener("message", hold);
  for (const data of held) dispatchEvent(new MessageEvent("message", { data }));
}
