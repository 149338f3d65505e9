/**
 * Head roles, measured: for each role (previous token, next token, self, sink, duplicate,
 * induction, broad) a layers × heads grid of scores in [0, 1], with its one-line definition and a
 * button that opens the head attnviz names best for it (roles_best). A cell clicked (or Enter on it) opens that head.
 */
import { Heatmap, el } from "../heatmap.js";
import { matrixAt, tensor } from "../widgets/common.js";

/** "previous_token" -> "Previous token". @param {string} role */
export function roleTitle(role) {
  const s = role.replace(/_/g, " ");
  return s.charAt(0).toUpperCase() + s.slice(1);
}

export class RolesView {
  /** @param {HTMLElement} root @param {import("./analysis.js").AnalysisActions} actions */
  constructor(root, actions) {
    this.root = root;
    this.actions = actions;
    this.caption = el("p", "av-caption", root);
    this.grid = el("div", "av-roles", root);
    /** @type {Map<string, {card: HTMLElement, heatmap: Heatmap, about: HTMLElement, best: HTMLButtonElement}>} */
    this.cards = new Map();
  }

  /** @param {import("./analysis.js").AnalysisContext} ctx */
  draw({ result, layer, head }) {
    const roles = result.roles, about = result.roles_about || {};
    const names = Object.keys(roles);
    const [layers, heads] = tensor(roles[names[0]]).shape;
    this.caption.textContent = `Each grid is one role: rows are layers, columns heads (${layers} × ${heads}), `
      + "brighter is a higher score (0 to 1). Choose a cell, or the best head of a role, to open that head above.";
    for (const name of names) {
      const scores = tensor(roles[name]);
      const card = this.card(name);
      card.about.textContent = about[name] || "";
      card.heatmap.set({ weights: matrixAt(scores), rows: layers, cols: heads, vmax: 1,
        rowLabels: Array.from({ length: layers }, (_, l) => `L${l + 1}`),
        colLabels: Array.from({ length: heads }, (_, h) => `H${h + 1}`) });
      card.heatmap.select(layer);
      const [bestLayer, bestHead] = result.roles_best[name];
      const best = { layer: bestLayer, head: bestHead, score: matrixAt(scores)[bestLayer * heads + bestHead] };
      card.best.textContent = `Show the best head: layer ${best.layer + 1}, head ${best.head + 1} (${best.score.toFixed(2)})`;
      card.best.dataset.layer = String(best.layer);
      card.best.dataset.head = String(best.head);
      card.best.dataset.score = String(best.score);
      card.best.setAttribute("aria-pressed", String(best.layer === layer && best.head === head));
    }
    for (const [name, card] of this.cards) card.card.hidden = !names.includes(name);
  }

  /** The card of a role, made on first use. @param {string} name */
  card(name) {
    if (this.cards.has(name)) return this.cards.get(name);
    const card = el("div", "av-roles__card"); // not a figure: Material shrinks those to their content
    card.dataset.role = name;
    card.setAttribute("role", "group");
    card.setAttribute("aria-label", `${roleTitle(name)} scores`);
    el("p", "av-roles__title", card).textContent = roleTitle(name);
    const about = el("p", "av-caption", card);
    const heatmap = new Heatmap(el("div", "av-roles__map", card), {
      label: `${roleTitle(name)} scores: rows are layers, columns are heads`, maxCell: 22, minCell: 6,
      onCell: (l, h) => this.actions.openHead(l, h),
    });
    const best = el("button", "md-button av-button av-roles__best", card);
    best.type = "button";
    best.addEventListener("click", () => this.actions.openHead(Number(best.dataset.layer), Number(best.dataset.head)));
    this.grid.appendChild(card);
    const entry = { card, heatmap, about, best };
    this.cards.set(name, entry);
    return entry;
  }
}
