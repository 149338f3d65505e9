/**
 * Big downloads are the reader's choice: before the first use of a model whose files are large and
 * not yet on this device, say how big they are, how much room the browser gives the site, and (if
 * the browser evicted an earlier copy) why it is asked again. Nothing is fetched until the reader
 * agrees; agreeing also asks the browser to keep the site's files (persistent storage).
 */
import { el } from "./heatmap.js";
import { bundleCacheName } from "./models.js";
import { askToKeep, storageRoom, wasKept } from "./download-storage.js";
import { currentPage } from "./page.js";
import { formatBytes } from "./bytes.js";

/** Ask above this many bytes (the smaller real models download without asking, as before). */
export const ASK_ABOVE = 50e6;
/** @type {Set<string>} models the reader agreed to download during this visit */
const agreed = new Set();
/** @type {Map<string, Promise<boolean>>} questions on screen: every widget of a page waits for the one answer */
const asking = new Map();

/**
 * Whether the model's files must be agreed to first: large, and not in this browser's cache.
 * @param {import("./models.js").ModelEntry} entry @returns {Promise<boolean>}
 */
export async function needsConsent(entry) {
  if (!entry.base_bytes || entry.base_bytes < ASK_ABOVE || agreed.has(entry.name)) return false;
  try {
    if (self.caches && (await caches.has(bundleCacheName(entry)))) return false;
  } catch {
    // no Cache API here (not a secure context): ask
  }
  return true;
}

/**
 * Show the question in parent (once per page: a second widget asking for the same model waits for
 * the same answer); resolves true when the reader agrees, false when they decline.
 * @param {HTMLElement} parent @param {import("./models.js").ModelEntry} entry @returns {Promise<boolean>}
 */
export function askConsent(parent, entry) {
  if (!asking.has(entry.name)) {
    asking.set(entry.name, ask(parent, entry).finally(() => asking.delete(entry.name)));
  }
  return asking.get(entry.name);
}

/** @param {HTMLElement} parent @param {import("./models.js").ModelEntry} entry @returns {Promise<boolean>} */
function ask(parent, entry) {
  const box = el("div", "av-consent", parent);
  box.setAttribute("role", "group");
  box.setAttribute("aria-label", `Download ${entry.label}`);
  const evicted = wasKept(entry);
  el("p", null, box).textContent = evicted
    ? `${entry.label} was kept on this device before, but the browser has since removed it (browsers do that when ` +
      `storage runs short). Downloading it again takes ${formatBytes(entry.base_bytes)}.`
    : `${entry.label} needs a download of ${formatBytes(entry.base_bytes)} the first ` +
      "time (kept on this device for later visits, and offline after that); then it takes a few seconds to load.";
  const room = el("p", "av-consent__room", box);
  storageRoom().then((r) => {
    if (!r) return;
    room.textContent = r.free < entry.base_bytes
      ? `This browser gives the site only ${formatBytes(r.free)} more storage: the model will work for this visit ` +
        "but cannot be kept, so it would download again next time. Freeing space in the browser's settings helps."
      : `Space: ${formatBytes(entry.base_bytes)} of the ${formatBytes(r.free)} this browser gives the site.`;
  });
  const yes = el("button", "md-button av-button", box);
  yes.type = "button";
  yes.textContent = `Download ${formatBytes(entry.base_bytes)}`;
  yes.dataset.action = "consent";
  const no = el("button", "md-button av-button", box);
  no.type = "button";
  no.textContent = "Not now";
  no.dataset.action = "decline";
  return new Promise((resolve) => {
    const answer = (value) => {
      box.remove();
      if (value) {
        agreed.add(entry.name);
        askToKeep(); // the answer changes nothing here: the files are kept either way while there is room
      }
      resolve(value);
    };
    yes.addEventListener("click", () => answer(true));
    no.addEventListener("click", () => answer(false));
    // Leaving the page unanswered declines: a later page asks again instead of waiting forever.
    currentPage().addEventListener("abort", () => answer(false), { once: true });
  });
}
