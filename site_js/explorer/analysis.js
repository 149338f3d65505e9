/**
 * The Explorer's "Analysis" panel: beside the raw attention, one of attnviz's analyses of the
 * result (head roles, rollout, flow, value-weighted attention, ablation, the neuron view, the
 * query–key map). Each has its own small module; this one picks the one asked for and hands it
 * what it needs. All numbers come from the result; the views only draw.
 */
import { el } from "../heatmap.js";
import { stackOf, visible } from "../widgets/common.js";
import { AblationView } from "./analysis-ablate.js";
import { LayerMapView } from "./analysis-maps.js";
import { NeuronView } from "./analysis-neuron.js";
import { QueryKeyMapView } from "./analysis-qk.js";
import { RolesView } from "./analysis-roles.js";

/** The choices of the Analysis control: [request value, label]. */
export const ANALYSIS_CHOICES = [
  ["", "Raw attention"], ["roles", "Head roles"], ["rollout", "Rollout"], ["flow", "Flow"],
  ["value_norm", "Value-weighted"], ["ablate", "Ablation"], ["neuron", "Neuron view"], ["qk_map", "Query–key map"],
];

/**
 * What a view gets to draw: the result, the state, and the Explorer's way to change the state.
 * @typedef {{result: object, state: import("./state.js").ExplorerState, layer: number, head: number,
 *   token: number, stack: ReturnType<typeof stackOf>, queryLabels: string[], keyLabels: string[]}} AnalysisContext
 * @typedef {{changed: (patch: object) => void, openHead: (layer: number, head: number) => void}} AnalysisActions
 */

const VIEWS = {
  roles: (root, actions) => new RolesView(root, actions),
  rollout: (root, actions) => new LayerMapView(root, actions, "rollout"),
  flow: (root, actions) => new LayerMapView(root, actions, "flow"),
  value_norm: (root, actions) => new LayerMapView(root, actions, "value_norm"),
  ablate: (root, actions) => new AblationView(root, actions),
  neuron: (root, actions) => new NeuronView(root, actions),
  qk_map: (root, actions) => new QueryKeyMapView(root, actions),
};

export class AnalysisPanel {
  /** @param {HTMLElement} parent @param {AnalysisActions} actions */
  constructor(parent, actions) {
    this.root = el("section", "av-analysis", parent);
    this.root.setAttribute("aria-label", "Analysis");
    this.root.hidden = true;
    this.actions = actions;
    /** @type {Record<string, {root: HTMLElement, draw: (ctx: AnalysisContext) => void}>} */
    this.views = {};
  }

  /**
   * Draw the analysis the state asks for from a result that has it (a result of another request
   * draws nothing: the panel waits for its own).
   * @param {object} result @param {import("./state.js").ExplorerState} state @param {number} layer @param {number} head
   * @param {number} token
   */
  draw(result, state, layer, head, token) {
    const name = state.analysis;
    const has = Boolean(name) && result.request.analysis === name && result[name] !== undefined;
    this.root.hidden = !name;
    this.root.dataset.analysis = has ? name : "";
    for (const [key, view] of Object.entries(this.views)) view.root.hidden = key !== name || !has;
    if (!has) return;
    if (!this.views[name]) this.views[name] = VIEWS[name](el("div", `av-analysis__view av-analysis--${name}`, this.root), this.actions);
    const stack = stackOf(result);
    this.views[name].draw({ result, state, layer, head, token, stack,
      queryLabels: stack.query.map((t) => visible(t.text)), keyLabels: stack.key.map((t) => visible(t.text)) });
  }
}
