/* Render the formulas that pymdownx.arithmatex marks up, with the KaTeX the site serves itself:
   on the first page, and on each page instant navigation swaps in (Material's document$). */

/**
 * A display formula wider than the column scrolls sideways: make it a tab stop then, so it can be
 * scrolled with the arrow keys, and no tab stop when it fits. Rechecked whenever a width changes.
 * @param {HTMLElement} node @param {ResizeObserver[]} observers the page's, disconnected when it goes
 */
function keepScrollableByKeyboard(node, observers) {
  const check = () => {
    if (node.scrollWidth > node.clientWidth) {
      node.tabIndex = 0;
      node.setAttribute("role", "group");
      node.setAttribute("aria-label", "Formula, scrolls sideways");
    } else {
      node.removeAttribute("tabindex");
      node.removeAttribute("role");
      node.removeAttribute("aria-label");
    }
  };
  // The column's width and the formula's own (which grows when KaTeX's fonts arrive) both matter.
  const observer = new ResizeObserver(check);
  observers.push(observer);
  observer.observe(node);
  for (const child of node.querySelectorAll(".katex-html")) observer.observe(child);
  document.fonts.ready.then(check);
}

/** @type {ResizeObserver[]} the observers of the page on screen */
let observers = [];

function renderPage() {
  observers.forEach((o) => o.disconnect()); // the last page's formulas are gone
  observers = [];
  document.querySelectorAll(".arithmatex").forEach((node) => {
    const tex = node.textContent.trim();
    const display = tex.startsWith("\\[");
    const body = tex.replace(/^\\[[(]/, "").replace(/\\[\])]$/, "");
    try {
      katex.render(body, node, { displayMode: display, throwOnError: false });
    } catch (err) {
      node.title = String(err);
    }
    if (display) keepScrollableByKeyboard(node, observers);
  });
}

// A task later: the page's widgets send their requests to the worker first (mount.js), and the
// formulas render while the worker computes.
if (window.document$) window.document$.subscribe(() => setTimeout(renderPage));
else renderPage();
