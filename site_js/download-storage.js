/**
 * The browser's storage for a large model, on the page's side: how much room the site has
 * (navigator.storage.estimate), a request to keep the files from eviction (navigator.storage.persist)
 * and a note of models kept before, so that a model the browser has since evicted is explained
 * rather than silently asked for again.
 */
import { bundleCacheName } from "./models.js";

const KEPT_PREFIX = "attnviz-kept-";

/** @returns {Promise<{free: number, quota: number}|null>} the site's free storage, or null if unknown */
export async function storageRoom() {
  try {
    const { quota, usage } = await navigator.storage.estimate();
    return typeof quota === "number" ? { free: Math.max(0, quota - (usage || 0)), quota } : null;
  } catch {
    return null; // no StorageManager here (not a secure context)
  }
}

/** Ask the browser not to evict the site's files under storage pressure. @returns {Promise<boolean>} granted */
export async function askToKeep() {
  try {
    return (await navigator.storage.persisted()) || (await navigator.storage.persist());
  } catch {
    return false;
  }
}

/** @param {import("./models.js").ModelEntry} entry */
function keptKey(entry) {
  return KEPT_PREFIX + bundleCacheName(entry);
}

/** Remember that the model's files are in this browser's cache now. @param {import("./models.js").ModelEntry} entry */
export async function noteKept(entry) {
  try {
    if (await caches.has(bundleCacheName(entry))) localStorage.setItem(keptKey(entry), String(Date.now()));
  } catch { /* no Cache API or storage: nothing to remember */ }
}

/** Whether the model was kept on this device before (and is not now: the browser evicted it). @param {import("./models.js").ModelEntry} entry */
export function wasKept(entry) {
  try {
    return localStorage.getItem(keptKey(entry)) !== null;
  } catch {
    return false;
  }
}
