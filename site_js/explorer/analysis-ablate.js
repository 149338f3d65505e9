/**
 * Ablation: mask one token (the model's mask or unknown token in its place) or zero the output of
 * the head in view, rerun, and show what changed: the difference of the attention of the head in
 * view (after − before), and what the model says after it — a language model's next-token
 * probabilities, a translator's translation.
 */
import { Heatmap, absMax, el } from "../heatmap.js";
import { matrixAt, tensor, visible } from "../widgets/common.js";

/**
 * The next tokens before and after, matched by id: [{id, text, before, after}], by the larger of the two.
 * @param {{id: number, text: string, p: number}[]} before @param {{id: number, text: string, p: number}[]} after
 */
export function nextTokenChanges(before, after) {
  const rows = new Map();
  for (const t of before) rows.set(t.id, { id: t.id, text: t.text, before: t.p, after: null });
  for (const t of after) rows.set(t.id, { ...(rows.get(t.id) || { id: t.id, text: t.text, before: null }), after: t.p });
  return [...rows.values()].sort((a, b) => Math.max(b.before ?? 0, b.after ?? 0) - Math.max(a.before ?? 0, a.after ?? 0));
}

const percent = (p) => (p === null ? "—" : `${(p * 100).toFixed(1)}%`);

export class AblationView {
  /** @param {HTMLElement} root @param {import("./analysis.js").AnalysisActions} actions */
  constructor(root, actions) {
    this.root = root;
    const row = el("div", "av-controls", root);
    const wrap = el("label", "av-control", row);
    el("span", null, wrap).textContent = "Mask a token";
    this.token = el("select", null, wrap);
    this.token.dataset.control = "ablate_token";
    // One thing at a time (attnviz ablates a token or a head): choosing one clears the other.
    this.token.addEventListener("change", () => actions.changed({ ablate_token: Number(this.token.value), ablate_head: false }));
    const headWrap = el("label", "av-control", row);
    this.zero = el("input", null, headWrap);
    this.zero.type = "checkbox";
    this.zero.dataset.control = "ablate_head";
    el("span", null, headWrap).textContent = "Zero this head (the one in view)";
    this.zero.addEventListener("change", () => actions.changed(this.zero.checked ? { ablate_head: true, ablate_token: -1 } : { ablate_head: false }));
    this.caption = el("p", "av-detail-caption", root);
    this.caption.dataset.role = "ablation-caption";
    this.heatmap = new Heatmap(el("div", "av-analysis__map", root), {
      label: "Change of the attention of the head in view after the ablation (after minus before)", maxCell: 34,
    });
    this.said = el("p", "av-caption av-ablation__translation", root);
    this.table = el("table", "av-ablation__next", root);
  }

  /** @param {import("./analysis.js").AnalysisContext} ctx */
  draw({ result, state, layer, head, stack, queryLabels, keyLabels }) {
    const a = result.ablate;
    this.fillTokens(keyLabels, state.ablate_token); // the input's tokens: the keys, in every stack

    this.zero.checked = state.ablate_head;
    const what = a.what === "token" ? `Token ${a.token} (“${visible(a.replaced)}”) replaced by “${visible(a.replacement)}”`
      : a.what === "head" ? `Layer ${a.layer + 1}, head ${a.head + 1} zeroed` : "Nothing ablated";
    const diff = a.difference && a.difference[stack.name];
    if (!diff) {
      // attnviz's notes say why (a translator wrote another translation: other rows); else say it here.
      this.caption.textContent = `${what}.${a.notes && a.notes.length ? "" : ` The ${stack.name} attention has no difference map.`}`;
      this.heatmap.host.hidden = true;
    } else {
      const change = matrixAt(tensor(diff), layer, head); // (q, k): after − before
      const [q, k] = tensor(diff).shape.slice(-2);
      const largest = absMax(change);
      // A head's own layer cannot change; say so, unless attnviz's note already says nothing changed anywhere.
      const sameLayer = a.what === "head" && a.stack === stack.name && a.layer >= layer && !(a.notes && a.notes.length);
      this.caption.textContent = `${what}. Change of layer ${layer + 1}, head ${head + 1} (after − before; blue lower, red higher): `
        + `the largest is ${largest.toFixed(4)}.`
        + (sameLayer ? " Zeroing a head changes what the layers after it see, not the attention of its own layer or earlier ones: pick a later layer." : "");
      this.caption.dataset.largest = String(largest);
      this.heatmap.host.hidden = largest === 0; // nothing changed: the caption says so, an empty map would not
      this.heatmap.set({ weights: change, rows: q, cols: k, rowLabels: queryLabels, colLabels: keyLabels, signed: true });
    }
    if (a.notes && a.notes.length) this.caption.textContent += ` ${a.notes.join(" ")}`;
    this.said.hidden = !a.translation;
    if (a.translation) {
      const before = result.translation ? result.translation.text : "";
      this.said.textContent = `Translation before: “${before}”. After: “${a.translation.text}”${before === a.translation.text ? " (unchanged)" : ""}.`;
    }
    this.table.hidden = !a.next_tokens;
    if (a.next_tokens) this.drawNext(nextTokenChanges(result.next_tokens || [], a.next_tokens));
  }

  /** The next-token probabilities before and after, with the change. */
  drawNext(rows) {
    const head = document.createElement("tr");
    for (const name of ["Next token", "Before", "After", "Change"]) el("th", null, head).textContent = name;
    const body = rows.slice(0, 12).map((r) => {
      const tr = document.createElement("tr");
      el("td", "av-topkeys__token", tr).textContent = visible(r.text); // text, never HTML
      el("td", null, tr).textContent = percent(r.before);
      el("td", null, tr).textContent = percent(r.after);
      const change = r.before !== null && r.after !== null ? r.after - r.before : null;
      el("td", null, tr).textContent = change === null ? "—" : `${change >= 0 ? "+" : "−"}${Math.abs(change * 100).toFixed(1)} pt`;
      return tr;
    });
    const caption = document.createElement("caption");
    caption.textContent = "What the model predicts next, before and after the ablation (“—”: not among its top tokens then)";
    this.table.replaceChildren(caption, el("thead"), el("tbody"));
    this.table.tHead.appendChild(head);
    this.table.tBodies[0].replaceChildren(...body);
  }

  /** @param {string[]} labels @param {number} value */
  fillTokens(labels, value) {
    const names = ["none", ...labels.map((t, i) => `${i}: ${t}`)];
    if ([...this.token.options].map((o) => o.textContent).join("\u0000") !== names.join("\u0000")) {
      this.token.replaceChildren(...names.map((name, i) => Object.assign(document.createElement("option"), { value: String(i - 1), textContent: name })));
    }
    this.token.value = String(value);
  }
}
