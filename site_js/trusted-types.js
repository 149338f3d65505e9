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
 *  - a script URL is allowed only for a script of this site (the theme's search worker, and the
 *    scripts of a page instant navigation swaps in);
 *  - instant navigation (Material fetches the next page, parses it with DOMParser and swaps its
 *    parts in) needs two more things, each still gated by the CSP: a whole page parsed by
 *    DOMParser is kept as it is (the parsed document is inert: nothing in it runs or loads until
 *    it is inserted); the text of an inline script Material re-creates is allowed, as the CSP's hashes decide
 *    whether it runs (and eval-like sinks stay closed: the CSP has no 'unsafe-eval').
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
  /** Where Material's instant navigation writes the text of an inline script it re-creates. */
  const SCRIPT_TEXT_SINKS = new Set(["HTMLScriptElement text", "HTMLScriptElement textContent",
    "HTMLScriptElement innerText", "Node textContent"]);

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
    createHTML(html, _type, sink) {
      if (sink === "DOMParser parseFromString") return html; // an inert document: see above
      const template = document.createElement("template");
      template.innerHTML = inert.createHTML(html);
      if (sanitize(template.content)) console.warn(`Trusted Types: markup removed from HTML written by ${sink}`);
      return template.innerHTML;
    },
    createScriptURL(url) {
      const parsed = new URL(url, document.baseURI);
      return parsed.origin === location.origin && parsed.pathname.endsWith(".js") ? parsed.href : null;
    },
    createScript(text, _type, sink) {
      return SCRIPT_TEXT_SINKS.has(sink) ? text : null;
    },
  });
})();
