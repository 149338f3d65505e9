/**
 * Statistics of the current head (all computed by attnviz, shown here) and its top attention
 * pairs, with a switch to include a token attending to itself.
 */
import { el } from "../heatmap.js";
import { stackOf } from "../widgets/common.js";

export class Stats {
  /** @param {HTMLElement} parent @param {() => boolean} includeSelf @param {(v: boolean) => void} setIncludeSelf */
  constructor(parent, includeSelf, setIncludeSelf) {
    this.root = el("div", "av-stats", parent);
    this.list = el("dl", "av-stats__list", this.root);
    const pairs = el("div", "av-stats__pairs", this.root);
    const head = el("div", "av-stats__pairs-head", pairs);
    el("strong", null, head).textContent = "Top attention pairs ";
    const label = el("label", "av-control", head);
    this.selfBox = el("input", null, label);
    this.selfBox.type = "checkbox";
    this.selfBox.checked = includeSelf();
    this.selfBox.dataset.control = "self";
    el("span", null, label).textContent = "Include a token attending to itself";
    this.selfBox.addEventListener("change", () => setIncludeSelf(this.selfBox.checked));
    this.table = el("table", "av-table av-pairs", pairs);
  }

  /** The head in view's metrics (result.metrics). @param {object} result @param {boolean} includeSelf */
  draw(result, includeSelf) {
    const s = result.metrics.summary;
    const { query: q, key: k, weights } = stackOf(result, result.metrics.stack);
    const [layers, heads] = weights.shape;
    const rows = [
      ["Tokens", q.length === k.length ? String(q.length) : `${q.length} queries × ${k.length} keys`],
      ["Heads", `${heads}${layers > 1 ? ` × ${layers} layers` : ""}`],
      ["Max weight", s.max_weight.toFixed(3)],
      ["Mean weight", s.mean_weight.toFixed(3)],
      ["Mean entropy", `${s.entropy_bits.toFixed(2)} bits (${Math.round(s.entropy_fraction * 100)}% of uniform)`],
      ["Most attended", `${k[s.most_attended].text} (#${s.most_attended}, ${Math.round(s.most_attended_share * 100)}% of all attention)`],
      ["Mean distance", `${s.mean_distance.toFixed(2)} tokens (${s.mean_offset >= 0 ? "+" : ""}${s.mean_offset.toFixed(2)} on average)`],
    ];
    if (s.diagonal_share !== undefined) rows.push(["On itself", `${Math.round(s.diagonal_share * 100)}%`]);
    this.list.replaceChildren(...rows.flatMap(([name, value]) => {
      const dt = document.createElement("dt");
      dt.textContent = name;
      const dd = document.createElement("dd");
      dd.textContent = value;
      dd.dataset.stat = name;
      return [dt, dd];
    }));
    this.selfBox.checked = includeSelf;
    const pairs = result.metrics.top_pairs[includeSelf ? "with_self" : "without_self"];
    const head = document.createElement("tr");
    for (const t of ["Query", "→ Key", "Weight"]) el("th", null, head).textContent = t;
    this.table.replaceChildren(head, ...pairs.map(([i, j, w]) => {
      const tr = document.createElement("tr");
      el("td", null, tr).textContent = `${q[i].text} #${i}`;
      el("td", null, tr).textContent = `${k[j].text} #${j}`;
      el("td", null, tr).textContent = w.toFixed(3);
      return tr;
    }));
  }
}
