/**
 * The service worker: offline revisits. The MkDocs hook copies it to the site root (so its scope
 * is the whole site, at any sub-path) and fills in BUILD: the build's version, its precache list
 * (every file of the site with its sha256) and the sha256 of the optional files left out of it
 * (search language packs, legacy font formats), which are cached the first time a page uses them.
 * Only bytes the build vouches for are ever stored. The model weights are not its business:
 * model-files.js keeps them in a cache of their own, fetching only the chunks a sentence needs.
 *
 * - install:  download the precache list, each file checked against its sha256, into a cache
 *             named after the build; a new build therefore gets a new cache;
 * - activate: delete the caches of older builds, take control of open pages;
 * - fetch:    pages (HTML, whether navigated to or fetched by instant navigation) network-first,
 *             falling back to the cache offline; everything else
 *             cache-first (precached files change only with the build, and the build changes the
 *             cache); the lazy files are cached on first use once their sha256 checks out.
 *             Requests to other origins and for models/ are not touched.
 */
/** @type {{version: string, precache: {url: string, integrity: string}[], lazy: Record<string, string>}} */
const BUILD = "__ATTNVIZ_BUILD__";
const PREFIX = "attnviz-site-"; // model-files.js owns "attnviz-model-*"
const CACHE = PREFIX + BUILD.version;

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    // "no-cache" revalidates with the server: files the page has just downloaded come back as
    // 304s from the HTTP cache instead of being downloaded twice, and a stale copy is never kept.
    await Promise.all(BUILD.precache.map(async ({ url, integrity }) => {
      const request = new Request(new URL(url, self.registration.scope), { cache: "no-cache", integrity });
      const response = await fetch(request);
      if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
      await cache.put(request.url, response);
    }));
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith(PREFIX) && name !== CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  const path = url.href.slice(self.registration.scope.length);
  if (path === "sw.js" || path.startsWith("models/")) return;
  const page = request.mode === "navigate" || path === "" || path.endsWith("/") || path.endsWith(".html");
  event.respondWith(page ? networkFirst(request) : cacheFirst(request));
});

/** @param {Request} request @returns {Promise<Response>} */
async function networkFirst(request) {
  const cache = await caches.open(CACHE);
  const key = new URL(request.url);
  key.search = ""; // the URL state (?text=...) is the same page
  key.hash = "";
  try {
    const response = await fetch(request);
    if (response.ok && response.status === 200) await cache.put(key.href, response.clone());
    return response;
  } catch (err) {
    const cached = await cache.match(key.href);
    if (cached) return cached;
    throw err;
  }
}

/** @param {Request} request @returns {Promise<Response>} */
async function cacheFirst(request) {
  const cache = await caches.open(CACHE);
  const cached = await cache.match(request.url, { ignoreSearch: true });
  if (cached) return cached;
  const response = await fetch(request);
  const path = new URL(request.url).href.slice(self.registration.scope.length);
  const expected = BUILD.lazy[path];
  if (expected && response.status === 200 && (await sha256(response.clone())) === expected) {
    await cache.put(request.url, response.clone());
  }
  return response;
}

/** @param {Response} response @returns {Promise<string>} hex digest of the body */
async function sha256(response) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", await response.arrayBuffer()));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}
