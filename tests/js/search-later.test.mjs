// Material's search worker made to wait for the page's widgets (site_js/search-later.js), run in a
// worker-like global: the theme's worker is loaded at once but hears Material's messages only
// once the page says its widgets have drawn, in their order, and no foreign script is loaded.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { createContext, runInContext } from "node:vm";

const SOURCE = readFileSync(new URL("../../site_js/search-later.js", import.meta.url), "utf8");
const THEIRS = "../assets/javascripts/workers/search.min.js";
const ORIGIN = "http://127.0.0.1:8000";
const CHANNEL = "attnviz-widgets-drawn";

/**
 * Start the script as the worker at js/search-later.js would, the build having written in `theirs`.
 * @param {string} theirs @returns {{heard: unknown[], loaded: string[], scope: EventTarget}}
 */
function startWorker(theirs = THEIRS) {
  const scope = new EventTarget();
  const heard = [];
  const loaded = [];
  const context = createContext({
    addEventListener: scope.addEventListener.bind(scope),
    removeEventListener: scope.removeEventListener.bind(scope),
    dispatchEvent: scope.dispatchEvent.bind(scope),
    MessageEvent, BroadcastChannel, URL, TypeError, setTimeout, clearTimeout,
    location: { href: `${ORIGIN}/js/search-later.js`, origin: ORIGIN },
    // The theme's worker: it listens for Material's messages.
    importScripts: (url) => {
      loaded.push(url);
      scope.addEventListener("message", (e) => heard.push(e.data));
    },
  });
  runInContext(SOURCE.replace('"__THEIR_SEARCH_WORKER__"', JSON.stringify(theirs)), context);
  return { heard, loaded, scope };
}

/** Material posting to its worker. @param {EventTarget} scope @param {unknown} data */
const post = (scope, data) => scope.dispatchEvent(new MessageEvent("message", { data }));
const turn = () => new Promise((resolve) => setTimeout(resolve, 20));

test("the index waits for the widgets: Material's messages reach the theme's worker only once they have drawn", async () => {
  const page = new BroadcastChannel(CHANNEL);
  const { heard, loaded, scope } = startWorker();
  assert.deepEqual(loaded, [`${ORIGIN}/assets/javascripts/workers/search.min.js`], "loaded at once, for offline use");
  post(scope, { type: 0, data: "the site's text" });
  post(scope, { type: 2, data: "softmax" });
  await turn();
  assert.deepEqual(heard, [], "no index built while the page draws");
  page.postMessage("drawn");
  await turn();
  assert.deepEqual(heard, [{ type: 0, data: "the site's text" }, { type: 2, data: "softmax" }], "in their order");
  post(scope, { type: 2, data: "mask" });
  assert.deepEqual(heard.at(-1), { type: 2, data: "mask" }, "then straight through");
  page.close();
});

test("a page that had drawn before the worker listened tells it when asked", async () => {
  const page = new BroadcastChannel(CHANNEL);
  page.onmessage = (e) => { if (e.data === "asking") page.postMessage("drawn"); }; // as mount.js does
  const { heard, scope } = startWorker();
  post(scope, { type: 0, data: "text" });
  await turn();
  assert.deepEqual(heard, [{ type: 0, data: "text" }]);
  page.close();
});

test("only the site's own script is loaded as the theme's worker", () => {
  assert.throws(() => startWorker("https://elsewhere.example/x.js"), /Refused/);
  assert.throws(() => startWorker("../assets/data.json"), /Refused/);
});
