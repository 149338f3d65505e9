/**
 * Attention flow's maximum flows, solved in JavaScript for the worker's Python: about ten times
 * faster than numpy's batched sweeps (attnviz/analysis/flow.py), which spend their time on many
 * small array operations, while this visits only the edges a push or a relabel needs.
 *
 * Python prepares the problems exactly as for numpy (each its own tokens, capacities capped by the
 * layers below) and calls `self.attnvizMaxFlows(caps, sinkCaps, supply, out)` with numpy arrays
 * (float64, C order); the answer is written into `out`. Python looks the kernel up at each call
 * and keeps no reference to it, so a memory snapshot holds no JavaScript object.
 *
 * One problem: node layers 0 (the top, holding the source's supply) .. L − 1 (the lowest, with an
 * edge to the sink each), m nodes per layer, edges only between neighbouring layers:
 *   caps[a][k][k2]  node (a, k) -> (a + 1, k2), a = 0 .. L − 2
 *   sinkCaps[k]     node (L − 1, k) -> the sink
 *   supply[k]       the excess node (0, k) starts with
 * Solved by push-relabel (Goldberg & Tarjan 1988): first-in first-out active nodes, a current arc
 * per node, exact labels from a breadth-first search from the sink at the start and after every N
 * relabels (N nodes). Only the first phase runs: the value of a maximum preflow is the maximum flow.
 */

const EPS = 1e-12; // capacities and excesses below this are 0, as in flow.py (the weights are float32)

/** Push-relabel on one shape of layered network, its arrays reused from problem to problem. */
export class LayeredMaxFlow {
  /** @param {number} layers node layers (L) @param {number} tokens nodes per layer (m) */
  constructor(layers, tokens) {
    this.L = layers;
    this.m = tokens;
    this.N = layers * tokens;
    this.INF = this.N + 2; // the label of a node that cannot reach the sink
    this.flow = new Float64Array(Math.max(0, (layers - 1) * tokens * tokens)); // (L − 1, m, m), as caps
    this.sinkFlow = new Float64Array(tokens);
    this.excess = new Float64Array(this.N);
    this.label = new Int32Array(this.N);
    this.arc = new Int32Array(this.N); // current arc: 0 .. m − 1 down (or the sink), m .. 2m − 1 up
    this.active = new Int32Array(this.N); // a ring of the active nodes
    this.queued = new Uint8Array(this.N);
    this.order = new Int32Array(this.N); // the breadth-first search's queue
    this.head = 0; // where the ring's next active node is
    this.size = 0; // how many are queued
    this.relabels = 0; // since the labels were last made exact
    /** @type {Float64Array} the problem's capacities, (L − 1, m, m) */
    this.caps = new Float64Array(0);
    /** @type {Float64Array} its edges into the sink, (m,) */
    this.sinkCaps = new Float64Array(0);
  }

  /**
   * The maximum flow of one problem.
   * @param {Float64Array} caps (L − 1, m, m) @param {Float64Array} sinkCaps (m,)
   * @param {Float64Array} supply (m,) @returns {number}
   */
  solve(caps, sinkCaps, supply) {
    this.caps = caps;
    this.sinkCaps = sinkCaps;
    this.flow.fill(0);
    this.sinkFlow.fill(0);
    this.excess.fill(0);
    this.excess.set(supply);
    this.relabelAll();
    while (this.size > 0) {
      const v = this.active[this.head];
      this.head = (this.head + 1) % this.N;
      this.size--;
      this.queued[v] = 0;
      this.discharge(v);
      if (this.relabels >= this.N) this.relabelAll(); // labels drift from the true distances
    }
    let value = 0;
    for (let k = 0; k < this.m; k++) value += this.sinkFlow[k];
    return value;
  }

  /** Queue a node that holds excess and can still reach the sink. @param {number} v */
  enqueue(v) {
    if (this.queued[v] || this.label[v] >= this.INF || this.excess[v] <= EPS) return;
    this.queued[v] = 1;
    this.active[(this.head + this.size) % this.N] = v;
    this.size++;
  }

  /** Exact labels (distances to the sink in the residual network), current arcs reset, and
   * every active node queued again. */
  relabelAll() {
    const { L, m, caps, flow, label, order, INF } = this;
    label.fill(INF);
    let first = 0;
    let last = 0;
    const lowest = (L - 1) * m;
    for (let k = 0; k < m; k++) {
      if (this.sinkCaps[k] - this.sinkFlow[k] > EPS) { label[lowest + k] = 1; order[last++] = lowest + k; }
    }
    while (first < last) {
      const w = order[first++];
      const a = (w / m) | 0;
      const k = w - a * m;
      const d = label[w] + 1;
      if (a > 0) { // (a − 1, j) -> w down an edge with room
        const at = (a - 1) * m * m + k;
        for (let j = 0; j < m; j++) {
          const u = (a - 1) * m + j;
          if (label[u] === INF && caps[at + j * m] - flow[at + j * m] > EPS) { label[u] = d; order[last++] = u; }
        }
      }
      if (a < L - 1) { // (a + 1, j) -> w up the reverse of an edge w -> (a + 1, j) with flow
        const at = (a * m + k) * m;
        for (let j = 0; j < m; j++) {
          const u = (a + 1) * m + j;
          if (label[u] === INF && flow[at + j] > EPS) { label[u] = d; order[last++] = u; }
        }
      }
    }
    this.arc.fill(0);
    this.queued.fill(0);
    this.relabels = 0;
    this.head = 0;
    this.size = 0;
    for (let v = 0; v < this.N; v++) this.enqueue(v);
  }

  /**
   * Push v's excess along admissible arcs (to a node labelled one less, with room) from its
   * current arc on, relabelling it whenever none is left, until its excess is gone, it cannot
   * reach the sink, or N relabels call for exact labels (which queue it again).
   * @param {number} v
   */
  discharge(v) {
    const { L, m, caps, flow, excess, label, INF } = this;
    const a = (v / m) | 0;
    const k = v - a * m;
    while (excess[v] > EPS) {
      const arc = this.arc[v];
      if (arc >= 2 * m) {
        label[v] = this.lowestNeighbour(a, k) + 1;
        this.arc[v] = 0;
        if (label[v] >= INF || ++this.relabels >= this.N) return;
        continue;
      }
      const want = label[v] - 1;
      let room = 0;
      let to = -1;
      let edge = -1;
      if (arc < m) {
        if (a === L - 1) {
          if (arc === 0 && want === 0) room = this.sinkCaps[k] - this.sinkFlow[k];
        } else if (label[(a + 1) * m + arc] === want) {
          to = (a + 1) * m + arc;
          edge = (a * m + k) * m + arc;
          room = caps[edge] - flow[edge];
        }
      } else if (a > 0 && label[(a - 1) * m + arc - m] === want) {
        to = (a - 1) * m + arc - m;
        edge = ((a - 1) * m + arc - m) * m + k;
        room = flow[edge]; // sending back what came down this edge
      }
      if (room > EPS) {
        const sent = Math.min(excess[v], room);
        excess[v] -= sent;
        if (to < 0) this.sinkFlow[k] += sent;
        else {
          flow[edge] += arc < m ? sent : -sent;
          excess[to] += sent;
          this.enqueue(to);
        }
        if (excess[v] <= EPS) return; // the arc may have room left: keep it current
      }
      this.arc[v] = arc + 1;
    }
  }

  /** The lowest label among v = (a, k)'s neighbours over arcs with room (INF − 1 if none).
   * @param {number} a @param {number} k */
  lowestNeighbour(a, k) {
    const { L, m, caps, flow, label, INF } = this;
    let best = INF - 1;
    if (a === L - 1) {
      if (this.sinkCaps[k] - this.sinkFlow[k] > EPS) best = 0;
    } else {
      const at = (a * m + k) * m;
      const below = (a + 1) * m;
      for (let j = 0; j < m; j++) {
        if (label[below + j] < best && caps[at + j] - flow[at + j] > EPS) best = label[below + j];
      }
    }
    if (a > 0) {
      const at = (a - 1) * m * m + k;
      const above = (a - 1) * m;
      for (let j = 0; j < m; j++) {
        if (label[above + j] < best && flow[at + j * m] > EPS) best = label[above + j];
      }
    }
    return best;
  }
}

/**
 * The maximum flows of a batch of problems of one shape.
 * @param {Float64Array} caps (B, L − 1, m, m) @param {Float64Array} sinkCaps (B, m)
 * @param {Float64Array} supply (B, m) @param {Float64Array} out (B,): the answers
 * @param {number} layers L @param {number} tokens m
 */
export function solveBatch(caps, sinkCaps, supply, out, layers, tokens) {
  const solver = new LayeredMaxFlow(layers, tokens);
  const perCaps = (layers - 1) * tokens * tokens;
  for (let b = 0; b < out.length; b++) {
    out[b] = solver.solve(caps.subarray(b * perCaps, (b + 1) * perCaps),
      sinkCaps.subarray(b * tokens, (b + 1) * tokens), supply.subarray(b * tokens, (b + 1) * tokens));
  }
}

/**
 * The entry Python calls (attnviz.analysis.flow): numpy arrays arrive as PyProxies, read and
 * written in place through their buffers (no copy).
 * @param {any} caps (B, L − 1, m, m) @param {any} sinkCaps (B, m) @param {any} supply (B, m)
 * @param {any} out (B,)
 */
export function maxFlowsFromPython(caps, sinkCaps, supply, out) {
  const views = [caps, sinkCaps, supply, out].map((array) => array.getBuffer("f64"));
  try {
    const [c, s, p, o] = views;
    if (views.some((view) => !view.c_contiguous)) throw new Error("attention flow's arrays must be contiguous");
    solveBatch(c.data, s.data, p.data, o.data, c.shape[1] + 1, s.shape[1]);
  } finally {
    views.forEach((view) => view.release());
  }
}
