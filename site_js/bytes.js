/** Sizes as the page states them: one formatter for the page and the worker (no DOM here). */

/** @param {number} n bytes @returns {string} "1.2 MB" or "340 kB" */
export function formatBytes(n) {
  return n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : `${Math.round(n / 1e3)} kB`;
}
