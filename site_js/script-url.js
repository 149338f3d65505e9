/**
 * The script URLs our modules hand to the browser (the computation worker, the service worker,
 * KaTeX for the Explorer's step view), as Trusted Types: every page's policy requires them (see
 * trusted-types.js). Only files of this site's own js/ folder, its service worker and its KaTeX
 * are vouched for.
 */
const SITE_ROOT = new URL("../", import.meta.url).href;
const JS_DIR = new URL("./", import.meta.url).href;
const KATEX = `${SITE_ROOT}vendor/katex/katex.min.js`;

const policy = globalThis.trustedTypes && globalThis.trustedTypes.createPolicy
  ? globalThis.trustedTypes.createPolicy("attnviz-script-url", { createScriptURL: checked })
  : null;

/** @param {string} url @returns {string} */
function checked(url) {
  const href = new URL(url, JS_DIR).href;
  if (!/\.js$/.test(href) || !(href.startsWith(JS_DIR) || href === `${SITE_ROOT}sw.js` || href === KATEX)) {
    throw new TypeError(`Refused to load ${href} as a script: only this site's own scripts run.`);
  }
  return href;
}

/** A script URL the browser accepts under the policy (a plain string without Trusted Types). @param {string|URL} url */
export function scriptURL(url) {
  return policy ? policy.createScriptURL(String(url)) : checked(String(url));
}
