/* The pages' formulas are rendered when the site is built (attnviz/mkdocs/maths.py); here a
   displayed one wider than the column becomes scrollable by keyboard, on the first page and on
   each page instant navigation swaps in (Material's document$). KaTeX itself is loaded only by the
   Explorer's step view, for the formulas it writes as the reader goes (explorer/steps.js). */

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

function watchPage() {
  observers.forEach((o) => o.disconnect()); // the last page's formulas are gone
  observers = [];
  document.querySelectorAll("div.arithmatex").forEach((node) => keepScrollableByKeyboard(node, observers));
}

if (window.document$) window.document$.subscribe(watchPage);
else watchPage();
