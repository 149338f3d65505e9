/**
 * Entry point on every page: mounts each `<div data-attnviz="NAME" data-options='{...}'>`
 * placeholder with the widget module of that name. The worker starts only on pages that have a
 * widget, and only once per page however many widgets there are (see client.js).
 */
const WIDGETS = {
  heatmap: () => import("./widgets/heatmap.js"),
  softmax: () => import("./widgets/softmax.js"),
  variance: () => import("./widgets/variance.js"),
  masking: () => import("./widgets/masking.js"),
  cross: () => import("./widgets/cross.js"),
  "model-view": () => import("./widgets/model-view.js"),
  "head-view": () => import("./widgets/head-view.js"),
  explorer: () => import("./widgets/explorer.js"),
};

/** @param {HTMLElement} host @param {string} message */
function showProblem(host, message) {
  const p = document.createElement("p");
  p.className = "av-status av-status--error";
  p.textContent = message;
  host.replaceChildren(p);
}

async function mountAll() {
  for (const host of document.querySelectorAll("[data-attnviz]")) {
    const name = host.dataset.attnviz;
    const load = WIDGETS[name];
    if (!load) { showProblem(host, `Unknown widget "${name}".`); continue; }
    let options = {};
    try {
      options = host.dataset.options ? JSON.parse(host.dataset.options) : {};
    } catch {
      showProblem(host, `The options of the "${name}" widget are not valid JSON.`);
      continue;
    }
    try {
      (await load()).mount(host, options);
    } catch (err) {
      showProblem(host, `The "${name}" widget could not start: ${err.message || err}`);
    }
  }
}

mountAll();
