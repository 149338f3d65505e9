/**
 * Trusted Types for the theme. Every page's policy says `require-trusted-types-for 'script'`: no
 * string reaches an HTML or script-URL sink unless a policy vouches for it. Our own modules use DOM
 * APIs and textContent only, and name their script URLs through script-url.js. Material's bundle
 * creates no policy of its own, yet writes strings with innerHTML (its JSX helper appends text
 * children with `innerHTML +=`: search results with their <mark> highlights, labels) and starts
 * its search worker from a string URL. It therefore needs the `default` policy, which the browser
 * calls for any bare string at a sink. This is the narrowest one that keeps the theme working:
 *  - HTML is parsed inertly (a <template>: no script runs, nothing loads) and only text-formatting
 *    elements survive, with no attribute but `class`; anything else becomes its own text;
 *  - a script URL is allowed only for the theme's search worker on this site;
 *  - scripts from strings (eval-like sinks) are refused (no createScript).
 * Loaded as a classic script before the bundle (overrides/main.html), as a policy must exist
 * before the first sink is used.
 */
(() => {
  const types = self.trustedTypes;
  if (!types || !types.createPolicy || types.defaultPolicy) return; // no Trusted Types, or already set up
  /** Only for parsing into an inert template below; never handed out. */
  const inert = types.createPolicy("attnviz-inert", { createHTML: (html) => html });
  const KEEP = new Set(["P", "UL", "OL", "LI", "CODE", "PRE", "MARK", "EM", "STRONG", "B", "I", "SUB", "SUP",
    "BR", "SPAN", "DIV", "H1", "H2", "H3", "H4", "H5", "H6", "ARTICLE", "SECTION", "NAV", "TABLE", "THEAD",
    "TBODY", "TR", "TH", "TD"]);
  const SEARCH_WORKER = /\/assets\/javascripts\/workers\/search\.[0-9a-f]+\.min\.js$/;

  /** Keep formatting, drop the rest to text. @param {Node} root @returns {boolean} whether anything was dropped */
  function sanitize(root) {
    let dropped = false;
    for (const node of [...root.childNodes]) {
      if (node.nodeType === Node.COMMENT_NODE) { node.remove(); continue; }
      if (node.nodeType !== Node.ELEMENT_NODE) continue;
      if (!KEEP.has(node.tagName)) {
        node.replaceWith(document.createTextNode(node.tagName === "SCRIPT" || node.tagName === "STYLE" ? "" : node.textContent));
        dropped = true;
        continue;
      }
      for (const name of node.getAttributeNames()) {
        if (name !== "class") { node.removeAttribute(name); dropped = true; }
      }
      dropped = sanitize(node) || dropped;
    }
    return dropped;
  }

  types.createPolicy("default", {
    createHTML(html, sink) {
      const template = document.createElement("template");
      template.innerHTML = inert.createHTML(html);
      if (sanitize(template.content)) console.warn(`Trusted Types: markup removed from HTML written by ${sink}`);
      return template.innerHTML;
    },
    createScriptURL(url) {
      const parsed = new URL(url, document.baseURI);
      return parsed.origin === location.origin && SEARCH_WORKER.test(parsed.pathname) ? parsed.href : null;
    },
  });
})();
