"""Attention flow (Abnar & Zuidema 2020, "Quantifying Attention Flow in Transformers"): treat the
layers as a graph whose edges carry at most their attention weight, and ask how much can flow from
a token after layer l down to each input token.

    nodes    token k at layer m, m = 0 (the input) .. layers
    edges    (m, k) -> (m − 1, k') of capacity Â_m[k, k'], Â_m = 0.5 · mean_h A_m + 0.5 · I, rows
             renormalised (the attention the rollout uses)
    flow[l, i, j] = the maximum flow from (l + 1, i) to (0, j), each row then divided by its sum
             (as their code does), so rows compare with the rollout's

The values are exact maximum flows, computed here without a general graph library. The graph is a
layered DAG whose every path ends in layer 0, where the one sink (0, j) is the only useful node: any
other input node is a dead end. So layer 1 keeps one edge per token, to the sink, of capacity
Â_1[k, j], and everything above is shared by the n sinks. Each problem (source i, sink j) keeps
only its own tokens (those i reaches that can pass flow on to j), and the problems of one layer run
side by side as batches of dense (problems, m, m) arrays, as many at a time as keep the arrays
small (BATCH_CELLS). Each is solved by push-relabel (Goldberg & Tarjan 1988): labels are the exact
residual distances to the sink (global relabelling); then sweeps over the layers, top to bottom,
let every active node of a layer push along all its admissible edges at once (shares in
proportion to their residual capacities), each layer pushing on what the one above just sent, so
excess crosses the whole graph in one sweep; after two sweeps (or one that moves nothing) the
labels are recomputed, until no node that can still reach the sink holds excess. The excess that
reached the sink is then the maximum flow (a maximum preflow's value). A flow from layer 1 is its
one edge, Â_1[i, j].

In the browser the worker offers a JavaScript kernel (site_js/flow-kernel.js) that solves the
same problems one at a time, touching only the edges a push or a relabel needs: about ten times
faster there than these sweeps, whose time goes to many small array operations. The answers agree
to rounding (both are exact maximum flows).

Cost grows as about layers^0.85 × tokens^3.5 on real models' attention with numpy (see `work`),
layers^0.5 × tokens^4 with the kernel (`kernel_work`): each of the tokens² problems of a layer has
up to ~layers × tokens² edges. Past the budget of the solver in use (about 5 seconds: MAX_WORK,
KERNEL_MAX_WORK) a request gets a clear error naming the limit instead of a page that does not
answer.
"""
from __future__ import annotations

import sys

import numpy as np

from ..errors import RequestError
from .rollout import mixed

EPS = 1e-12    # residual capacities and excesses below this are 0 (the weights are float32)
INF = 1 << 30  # the label of a node that cannot reach the sink
BATCH_CELLS = 1 << 18  # about how many numbers one batch's capacity arrays hold together
SWEEPS_PER_RELABEL = 2  # push sweeps between two relabels (measured: 2 beats 1, 3 and "until stuck")


def max_flows_from(graph: list[np.ndarray], sink_caps: np.ndarray, supply: np.ndarray) -> np.ndarray:
    """Maximum flow from a source into a sink, for a batch of problems on graphs of one shape.

    graph: capacities of the edges between node layers, top first: graph[a] is (B, n, n) (or
        broadcasts to it), edges from node layer a to node layer a + 1 below it (a = 0 .. L−2, L
        node layers in all);
    sink_caps: (B, n) capacity from each node of the lowest layer to the sink, per problem;
    supply: (B, n) what the source sends into the top layer's nodes (its saturated edges).
    -> (B,) the maximum flow of each problem. Problems that are done leave the batch, so the
    arrays shrink as the slower ones go on."""
    n_layers, batch, n = len(graph) + 1, sink_caps.shape[0], sink_caps.shape[1]
    caps = [np.array(np.broadcast_to(g, (batch, n, n)), dtype=float) for g in graph]  # (B, n, n) each
    room = [c.copy() for c in caps]                    # residual down; an edge's flow is caps − room
    sink_room = np.array(sink_caps, dtype=float)       # (B, n) residual of the edges into the sink
    excess = np.zeros((batch, n_layers, n))
    excess[:, 0] = supply
    values = np.zeros(batch)
    left = np.arange(batch)  # the problems still in the batch, by their index in the answer
    for _ in range(50 * n_layers * n + 100):  # ends long before, with exact labels; a guard against a bug
        labels = _relabel(caps, room, sink_room)
        busy = ((excess > EPS) & (labels < INF)).any(axis=(1, 2))  # (B,)
        if not busy.all():
            values[left[~busy]] = (sink_caps[~busy] - sink_room[~busy]).sum(axis=-1)
            if not busy.any():
                return values
            keep = np.flatnonzero(busy)
            left, sink_caps, sink_room, excess, labels = left[keep], sink_caps[keep], sink_room[keep], excess[keep], labels[keep]
            caps, room = [c[keep] for c in caps], [r[keep] for r in room]
        # Labels stay valid while pushing (a push along an admissible edge opens only its reverse,
        # which points uphill), but relabelling after a couple of sweeps, rather than when no push
        # is left, opens new paths sooner and lets the finished problems leave (measured faster).
        down, up = _admissible(labels)
        for _ in range(SWEEPS_PER_RELABEL):
            if not _push(caps, room, sink_room, excess, down, up, labels[:, -1] == 1):
                break
    raise RuntimeError("attention flow did not converge")


def _relabel(caps, room, sink_room) -> np.ndarray:
    """(B, L, n): every node's exact distance to the sink in the residual graph (INF when it cannot
    reach it): sweeps over the layers, alternately up (taking down edges with room left) and down
    (up edges, the reverse of edges with flow), until nothing changes. A sweep up needs not look
    at the up edges: the layer above has not changed since the sweep down last read it (and a
    sweep down likewise skips the down edges)."""
    last = len(room)
    labels = np.full((sink_room.shape[0], last + 1, sink_room.shape[1]), INF, dtype=np.int32)
    labels[:, last] = np.where(sink_room > EPS, 1, INF)
    open_down = [r > EPS for r in room]                     # (B, n, n) each: down edges with room
    open_up = [c - r > EPS for c, r in zip(caps, room)]     # and the reverse of edges with flow
    # a layer's labels are recomputed only when the layer it reads has changed since it last read
    # it: the later sweeps mostly confirm, and most layers have nothing new to read
    changed_at = [0] * (last + 1)          # the step at which each layer's labels last changed
    read_below = [-1] * (last + 1)         # ... at which it last read the layer below (up sweep)
    read_above = [-1] * (last + 1)         # ... and the layer above (down sweep)
    step, changed, upward = 0, True, True
    while changed:
        changed = False
        for a in (range(last - 1, -1, -1) if upward else range(1, last + 1)):
            step += 1
            if upward:  # down: (a, k) -> (a + 1, k') with room on the edge
                if changed_at[a + 1] < read_below[a]:
                    continue
                read_below[a] = step
                best = np.where(open_down[a], labels[:, a + 1][:, None, :], INF).min(axis=-1)
            else:  # up: (a, k') -> (a − 1, k) along the reverse of an edge with flow
                if changed_at[a - 1] < read_above[a]:
                    continue
                read_above[a] = step
                best = np.where(open_up[a - 1], labels[:, a - 1][:, :, None], INF).min(axis=1)
            np.minimum(best + 1, labels[:, a], out=best)
            if (best != labels[:, a]).any():
                labels[:, a] = best
                changed_at[a] = step
                changed = True
        upward = not upward
    return labels


def _admissible(labels: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The edges a push may use under these labels: down[a] (B, n, n) from node layer a to a + 1,
    up[a] (B, n, n) the reverse of those edges (from a + 1 up to a), each where the tail's label is
    the head's plus one (INF labels never are: nothing reaches INF − 1). An up list entry is None
    when no edge of it is admissible (most are), so a push skips it."""
    last = labels.shape[1] - 1
    down = [labels[:, a][:, :, None] == labels[:, a + 1][:, None, :] + 1 for a in range(last)]
    up = [labels[:, a + 1][:, None, :] == labels[:, a][:, :, None] + 1 for a in range(last)]
    return down, [u if u.any() else None for u in up]


def _push(caps, room, sink_room, excess, down, up, to_sink) -> bool:
    """One sweep over the node layers, top to bottom: each layer's active nodes push along all
    their admissible edges (label one less, room left) at once, min(1, excess / room) of each
    edge's room: their whole excess, or all the room they have. A layer pushes what the layers
    above just sent it, so excess crosses the whole graph in one sweep (what a layer returns up
    waits for the next). False when no active node had an admissible edge (nothing moved)."""
    last = len(room)
    moved_any = False
    for a in range(last + 1):
        ex = excess[:, a]  # (B, n)
        if not (ex > EPS).any():
            continue
        if a < last:
            out_down = room[a] * down[a]  # (B, n, n)
            total = out_down.sum(axis=-1)
        else:
            out_down = sink_room * to_sink  # (B, n)
            total = out_down.copy()
        back = a > 0 and up[a - 1] is not None
        if back:
            out_up = (caps[a - 1] - room[a - 1]) * up[a - 1]  # (B, n_above, n): back to (a − 1, k)
            total += out_up.sum(axis=1)
        share = np.divide(ex, total, out=np.zeros_like(ex), where=(ex > EPS) & (total > EPS))
        np.minimum(share, 1.0, out=share)  # (B, n): of each admissible edge's room, what is pushed
        if not share.any():
            continue
        moved_any = True
        if a < last:
            moved = np.multiply(out_down, share[:, :, None], out=out_down)  # (B, n, n); never more than the room
            room[a] -= moved
            excess[:, a + 1] += moved.sum(axis=1)
        else:
            sink_room -= out_down * share
        if back:
            returned = np.multiply(out_up, share[:, None, :], out=out_up)
            room[a - 1] += returned
            excess[:, a - 1] += returned.sum(axis=-1)
        ex -= share * total
        np.maximum(ex, 0, out=ex)
    return moved_any


def attention_flow(attention: np.ndarray) -> np.ndarray:
    """attention: (layers, heads, n, n) of a self-attention stack -> float32 (layers, n, n): row i
    of layer l is the maximum flow from token i after layer l to each input token, divided by the
    row's sum."""
    mix = mixed(attention.mean(axis=1))  # (layers, n, n): Â of each layer
    layers, n, _ = mix.shape
    reach = np.zeros((layers, n, n))  # reach[m, k, j]: the maximum flow from (m + 1, k) to (0, j)
    reach[0] = mix[0]  # from layer 1: its one edge
    for layer in range(1, layers):
        _flows_of_layer(mix, reach, layer)
    total = reach.sum(axis=-1, keepdims=True)
    return np.divide(reach, total, out=np.zeros_like(reach), where=total > 0).astype(np.float32)


def _flows_of_layer(mix: np.ndarray, reach: np.ndarray, layer: int) -> None:
    """reach[layer, i, j] for every source i (token after layer + 1) and sink j, in batches of
    problems (i, j).

    A problem keeps only its own tokens: those the source reaches that can pass flow on to the
    sink (in a causal model, j .. i), so in a deep causal stack most graphs are small. Problems
    go largest first, as many to a batch as keep its arrays to about BATCH_CELLS numbers, each
    padded to the batch's first size with a token of no edges."""
    n = mix.shape[1]
    from_source = np.array([_reachable(mix, layer, i) for i in range(n)])  # (n, n): [i, k]
    to_sink = (reach[:layer] > 0).any(axis=0).T                             # (n, n): [j, k]
    bound = np.minimum(mix[layer][:, :, None], reach[layer - 1][None]).sum(axis=1)  # (n, n): [i, j]
    source_i, sink_j = np.nonzero(bound > 0)  # the pairs that can flow at all
    nodes = from_source[source_i] & to_sink[sink_j]  # (P, n)
    sizes = nodes.sum(axis=-1)
    order = np.argsort(-sizes, kind="stable")
    padded_mix = np.pad(mix, ((0, 0), (0, 1), (0, 1)))  # token n: no edges, the padding
    padded_reach = np.pad(reach, ((0, 0), (0, 1), (0, 0)))
    start = 0
    while start < len(order):
        size = sizes[order[start]]  # at least 1: a pair that can flow has a token on its way
        batch = order[start:start + max(1, BATCH_CELLS // (layer * size * size))]
        # each problem's tokens in order, then the padding: (B, size)
        tokens = np.argsort(~nodes[batch], axis=-1, kind="stable")[:, :size]
        tokens[np.arange(size)[None, :] >= sizes[batch][:, None]] = n
        reach[layer, source_i[batch], sink_j[batch]] = _max_flows_of(padded_mix, padded_reach, layer,
                                                                     source_i[batch], sink_j[batch], tokens)
        start += len(batch)


def _max_flows_of(mix: np.ndarray, reach: np.ndarray, layer: int, sources: np.ndarray, sinks: np.ndarray,
                  tokens: np.ndarray) -> np.ndarray:
    """(B,) the maximum flows from (layer + 1, sources) to (0, sinks), each problem b on the graph
    of its tokens[b] (B, m).

    No flow through an edge exceeds what its head can pass on to the sink (everything entering a
    node of a DAG leaves it towards the sink), so each edge's capacity is capped at its head's
    maximum flow, known from the layers below: the maximum flow is unchanged, and the excess a
    push-relabel would strand (and push around until it gives up) is mostly never sent."""
    head_reach = [reach[m][tokens, sinks[:, None]] for m in range(layer)]  # (B, m) each: reach[m, k, j]
    rows, cols = tokens[:, :, None], tokens[:, None, :]
    graph = [np.minimum(mix[m][rows, cols], head_reach[m - 1][:, None, :]) for m in range(layer - 1, 0, -1)]
    supply = np.minimum(mix[layer][sources[:, None], tokens], head_reach[layer - 1])  # (B, m)
    return _solve(graph, head_reach[0], supply)  # into the sink: Â_1[k, j], reach from layer 1


KERNEL = "attnvizMaxFlows"  # the browser worker's global (site_js/flow-kernel.js)


def browser_kernel():
    """The browser worker's JavaScript solver for a batch of problems, or None (CPython, or a
    Pyodide that offers none). Looked up at each call and never kept, so that a memory snapshot of
    Python holds no JavaScript object."""
    if sys.platform != "emscripten":
        return None
    import js  # Pyodide's view of the worker's globals
    return getattr(js, KERNEL, None)


def _solve(graph: list[np.ndarray], sink_caps: np.ndarray, supply: np.ndarray) -> np.ndarray:
    """max_flows_from's answer, from the browser's kernel where there is one: the same problems,
    one at a time in compiled JavaScript, which visits only the edges a push or relabel needs
    instead of sweeping whole arrays (about ten times faster on real attention)."""
    kernel = browser_kernel()
    if kernel is None:
        return max_flows_from(graph, sink_caps, supply)
    batch, n = sink_caps.shape
    caps = np.zeros((batch, len(graph), n, n))  # (B, L − 1, m, m), C order as the kernel reads it
    for a, g in enumerate(graph):
        caps[:, a] = g
    values = np.zeros(batch)
    kernel(caps, np.ascontiguousarray(sink_caps, dtype=float), np.ascontiguousarray(supply, dtype=float), values)
    return values


def _reachable(mix: np.ndarray, layer: int, i: int) -> np.ndarray:
    """(n,) bool: the tokens any node below the source (layer + 1, i) it can reach stands for (one
    index set for every layer, for dense arrays)."""
    seen = mix[layer][i] > 0  # (n,)
    union = seen.copy()
    for m in range(layer - 1, 0, -1):
        seen = (mix[m][seen] > 0).any(axis=0)
        union |= seen
    return union


def work(layers: int, tokens: int) -> float:
    """What a flow costs numpy's solver, in the unit MAX_WORK counts. Measured (CPython, CPU
    seconds by time.process_time, medians of 3 runs on a shared 2-core machine): MiniLM's 6 layers
    0.34 s at 16 tokens, 1.4 s at 24, 4.0 s at 32, 18 s at 48 (Marian's encoder 2.4 s at 32);
    SmolLM2's 30 causal layers 0.95 s at 12 tokens, 1.95 s at 16, 5.5 s at 24, 14 s at 32: about
    layers^0.85 × tokens^3.5 (one problem per source and sink, each with up to ~layers × tokens²
    edges; in a causal stack a problem (i, j) keeps only the tokens j .. i, so a deep stack costs
    less than its depth suggests). One layer needs no flow at all."""
    return 0.0 if layers <= 1 else layers ** 0.85 * tokens ** 3.5


def kernel_work(layers: int, tokens: int) -> float:
    """What a flow costs in the browser with its kernel, in the unit KERNEL_MAX_WORK counts.
    Measured (Pyodide 0.27.7 in Node, the V8 a Chromium worker runs; wall seconds on the shared
    2-core machine, Python's preparation of the problems included): SmolLM2 0.36 s at 16 tokens,
    0.71 s at 24, 1.8 s at 32, 4.0 s at 40, 9.1 s at 48; MiniLM 0.93 s at 34, 4.2 s at 48, 11 s at
    64: about layers^0.5 × tokens^4 (3e-7 s each)."""
    return 0.0 if layers <= 1 else layers ** 0.5 * tokens ** 4


# The largest flows done. numpy's solver (CPython: the CLI, notebooks), about 5 CPU seconds:
# MiniLM (or any 6-layer stack) at 34 tokens, SmolLM2's 30 layers at 23. The browser's kernel,
# about 5 seconds: a 6-layer stack at 50 tokens, SmolLM2 at 40.
MAX_WORK = work(6, 34)
KERNEL_MAX_WORK = kernel_work(6, 50)


def max_tokens(layers: int, kernel: bool | None = None) -> int:
    """The longest text (in tokens) whose flow over `layers` layers stays within the budget of
    the solver in use: the browser's kernel (kernel True), numpy's (False), or whichever this
    runtime has (None)."""
    if kernel is None:
        kernel = browser_kernel() is not None
    cost, budget = (kernel_work, KERNEL_MAX_WORK) if kernel else (work, MAX_WORK)
    if cost(layers, 1) == 0:
        return 1 << 30  # one layer: no flow to compute, the map is its own
    most = 1
    while cost(layers, most + 1) <= budget:  # a few dozen steps, and no second copy of the formulas
        most += 1
    return most


def result(ctx) -> dict:
    """{"flow": (layers, q, k)} of the stack in view, `hide` applied to the maps; a clear error past
    the size it can do in reasonable time."""
    stack = ctx.self_attention("Attention flow")
    layers, _, n, _ = stack["weights"].shape
    most = max_tokens(layers)
    if n > most:
        raise RequestError(f"Attention flow is computed exactly, and over {layers} layer{'s' * (layers > 1)} it can "
                           f"do at most {most} "
                           f"tokens in reasonable time here; this text has {n}. Shorten it, or use the rollout.",
                           "analysis")
    return {"flow": ctx.hidden(attention_flow(stack["weights"]), stack)}
