// Unit tests of attention flow's kernel (site_js/flow-kernel.js) against an independent maximum
// flow: Edmonds–Karp (shortest augmenting paths) on the same layered networks written out as an
// edge list, for random networks of many shapes, a hand-worked one, and the edge cases: nothing to
// send, no edges, one node layer, excess that cannot reach the sink.
import assert from "node:assert/strict";
import { test } from "node:test";

import { LayeredMaxFlow, solveBatch } from "../../site_js/flow-kernel.js";

/** A seeded generator (mulberry32), so a failure can be replayed. @param {number} seed */
function random(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The maximum flow of one layered problem by Edmonds–Karp on an explicit residual matrix.
 * Nodes: 0 the source, 1 + a·m + k the node (a, k), 1 + L·m the sink.
 */
function edmondsKarp(caps, sinkCaps, supply, L, m) {
  const n = L * m + 2;
  const source = 0;
  const sink = n - 1;
  const residual = Array.from({ length: n }, () => new Float64Array(n));
  for (let k = 0; k < m; k++) residual[source][1 + k] = supply[k];
  for (let a = 0; a < L - 1; a++) {
    for (let k = 0; k < m; k++) {
      for (let j = 0; j < m; j++) residual[1 + a * m + k][1 + (a + 1) * m + j] = caps[(a * m + k) * m + j];
    }
  }
  for (let k = 0; k < m; k++) residual[1 + (L - 1) * m + k][sink] = sinkCaps[k];
  let total = 0;
  for (;;) {
    const parent = new Int32Array(n).fill(-1);
    parent[source] = source;
    const queue = [source];
    while (queue.length && parent[sink] < 0) {
      const u = queue.shift();
      for (let v = 0; v < n; v++) {
        if (parent[v] < 0 && residual[u][v] > 1e-15) { parent[v] = u; queue.push(v); }
      }
    }
    if (parent[sink] < 0) return total;
    let bottleneck = Infinity;
    for (let v = sink; v !== source; v = parent[v]) bottleneck = Math.min(bottleneck, residual[parent[v]][v]);
    for (let v = sink; v !== source; v = parent[v]) {
      residual[parent[v]][v] -= bottleneck;
      residual[v][parent[v]] += bottleneck;
    }
    total += bottleneck;
  }
}

/** A random batch of problems: sparse capacities (a zero edge is no edge), a causal-like band. */
function randomBatch(rand, batch, L, m) {
  const caps = new Float64Array(batch * (L - 1) * m * m).map(() => (rand() < 0.55 ? rand() : 0));
  const sinkCaps = new Float64Array(batch * m).map(() => (rand() < 0.7 ? rand() * 0.6 : 0));
  const supply = new Float64Array(batch * m).map(() => (rand() < 0.8 ? rand() : 0));
  return { caps, sinkCaps, supply };
}

test("random layered networks: the kernel's maximum flow is Edmonds–Karp's", () => {
  const rand = random(17);
  let problems = 0;
  for (const [L, m, batch] of [[1, 4, 6], [2, 1, 5], [2, 3, 8], [3, 5, 8], [6, 4, 8], [9, 6, 4], [12, 3, 6]]) {
    const { caps, sinkCaps, supply } = randomBatch(rand, batch, L, m);
    const out = new Float64Array(batch);
    solveBatch(caps, sinkCaps, supply, out, L, m);
    const per = (L - 1) * m * m;
    for (let b = 0; b < batch; b++) {
      const want = edmondsKarp(caps.subarray(b * per, (b + 1) * per), sinkCaps.subarray(b * m, (b + 1) * m),
        supply.subarray(b * m, (b + 1) * m), L, m);
      assert.ok(Math.abs(out[b] - want) < 1e-12, `L=${L} m=${m} problem ${b}: ${out[b]} vs ${want}`);
      problems++;
    }
  }
  assert.equal(problems, 45);
});

test("a hand-worked network: 0.8, as attnviz's numpy test of the same graph says", () => {
  // supply a 0.6, b 0.4; a -> x 0.5, b -> x 0.5, a -> y 0.1; x -> sink 0.7, y -> sink 1
  const solver = new LayeredMaxFlow(2, 2);
  const value = solver.solve(new Float64Array([0.5, 0.1, 0.5, 0]), new Float64Array([0.7, 1]), new Float64Array([0.6, 0.4]));
  assert.ok(Math.abs(value - 0.8) < 1e-12, String(value));
});

test("edge cases: nothing to send, no way down, excess stranded, one node layer", () => {
  const solver = new LayeredMaxFlow(3, 2);
  const caps = new Float64Array([1, 1, 1, 1, 1, 1, 1, 1]);
  assert.equal(solver.solve(caps, new Float64Array([1, 1]), new Float64Array([0, 0])), 0);
  assert.equal(solver.solve(new Float64Array(8), new Float64Array([1, 1]), new Float64Array([1, 1])), 0);
  // everything funnels into one sink edge of 0.25: the rest stays where it is stranded
  assert.equal(solver.solve(caps, new Float64Array([0.25, 0]), new Float64Array([0.5, 0.5])), 0.25);
  // the same solver, reused, forgets the last problem
  assert.equal(solver.solve(caps, new Float64Array([1, 1]), new Float64Array([0.5, 0.25])), 0.75);
  const flat = new LayeredMaxFlow(1, 3); // layer 1 of attnviz: the source's edges lead to the sink's
  assert.ok(Math.abs(flat.solve(new Float64Array(0), new Float64Array([0.2, 0.5, 0]), new Float64Array([0.3, 0.4, 0.9])) - 0.6) < 1e-12);
});
