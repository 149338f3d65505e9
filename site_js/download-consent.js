/**
 * Big downloads are the reader's choice: before the first use of a model whose files are large and
 * not yet on this device, say how big they are and ask. Nothing is fetched until the reader agrees.
 */
import { el } from "./heatmap.js";
import { bundleCacheName } from "./models.js";
import { currentPage } from "./page.js";
import { formatBytes } from "./status.js";

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
  el("p", null, box).textContent = `${entry.label} needs a download of ${formatBytes(entry.base_bytes)} the first ` +
    "time (kept on this device for later visits, and offline after that); then it takes a few seconds to load.";
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
      if (value) agreed.add(entry.name);
      resolve(value);
    };
    yes.addEventListener("click", () => answer(true));
    no.addEventListener("click", () => answer(false));
    // Leaving the page unanswered declines: a later page asks again instead of waiting forever.
    currentPage().addEventListener("abort", () => answer(false), { once: true });
  });
}
