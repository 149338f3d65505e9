/**
 * A causal language model's prediction: the most likely next tokens after the text (computed by
 * attnviz, temperature applied), ranked with bars, and the text it generated, if asked to.
 */
import { el } from "../heatmap.js";
import { visible } from "../widgets/common.js";

export class NextTokens {
  /** @param {HTMLElement} parent */
  constructor(parent) {
    this.root = el("div", "av-next", parent);
    this.caption = el("p", "av-caption", this.root);
    this.list = el("ol", "av-topkeys", this.root);
    this.root.hidden = true;
  }

  /** @param {object} result */
  draw(result) {
    const next = result.next_tokens;
    this.root.hidden = !next;
    if (!next) return;
    const t = result.request.temperature;
    this.caption.textContent = `What the model predicts next${t !== 1 ? ` (temperature ${t})` : ""}:`;
    this.list.replaceChildren(...next.map((n) => {
      const li = document.createElement("li");
      el("span", "av-topkeys__token", li).textContent = visible(n.text); // text, never HTML
      el("span", "av-topkeys__pos", li).textContent = `id ${n.id}`;
      const bar = el("span", "av-topkeys__bar", li);
      bar.style.width = `${(n.p / (next[0].p || 1)) * 6}em`;
      el("span", "av-topkeys__weight", li).textContent = `${(n.p * 100).toFixed(1)}%`;
      return li;
    }));
  }
}
