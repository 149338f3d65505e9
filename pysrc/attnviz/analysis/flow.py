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
Â_1[k, j], and everything above is shared by the n sinks: the problems of one source, one per
sink, run side by side as one batch of dense (sinks, n, n) arrays. Each is solved by push-relabel
(Goldberg & Tarjan 1988) in its synchronous form: every node with excess pushes along all its
admissible edges at once (shares in proportion to their residual capacities), then every label is
recomputed as the exact residual distance to the sink (global relabelling), until no node that
can still reach the sink holds excess; the excess that reached the sink is then the maximum flow
(a maximum preflow's value). A flow from layer 1 is its one edge, Â_1[i, j].

Cost grows as about layers² × tokens^3.5 (see `work`); past MAX_WORK (6 layers × 32 tokens, 30
layers × 12) a request gets a clear error naming the limit instead of a page that does not answer.
"""
from __future__ import annotations

import numpy as np

from ..errors import RequestError
from .rollout import mixed

EPS = 1e-12    # residual capacities and excesses below this are 0 (the weights are float32)
INF = 1 << 30  # the label of a node that cannot reach the sink


def max_flows_from(graph: list[np.ndarray], sink_caps: np.ndarray, supply: np.ndarray) -> np.ndarray:
    """Maximum flow from one source into each of a batch of sinks.

    graph: capacities of the edges between node layers, top first: graph[a] is (B, n, n), edges
        from node layer a to node layer a + 1 below it (a = 0 .. L−2, L node layers in all);
    sink_caps: (B, n) capacity from each node of the lowest layer to the sink, per problem;
    supply: (B, n) what the source sends into the top layer's nodes (its saturated edges).
    -> (B,) the maximum flow of each problem. Problems that are done leave the batch, so the
    arrays shrink as the slower ones go on."""
    n_layers, batch, n = len(graph) + 1, sink_caps.shape[0], sink_caps.shape[1]
    graph = [np.broadcast_to(g, (batch, n, n)) for g in graph]
    flows = [np.zeros((batch, n, n)) for _ in graph]        # flows[a]: (B, n, n) on graph[a]'s edges
    to_sink = np.zeros((batch, n))                          # flow on the edges into the sink
    excess = np.zeros((batch, n_layers, n))
    excess[:, 0] = supply
    labels = np.full((batch, n_layers, n), INF, dtype=np.int64)
    values = np.zeros(batch)
    left = np.arange(batch)  # the problems still in the batch, by their index in the answer
    for _ in range(50 * n_layers * n + 100):  # ends long before, with exact labels; a guard against a bug
        _relabel(graph, flows, sink_caps, to_sink, labels)
        busy = ((excess > EPS) & (labels < INF)).any(axis=(1, 2))  # (B,)
        if not busy.all():
            values[left[~busy]] = to_sink[~busy].sum(axis=-1)
            if not busy.any():
                return values
            keep = np.flatnonzero(busy)
            left, sink_caps, to_sink, excess, labels = left[keep], sink_caps[keep], to_sink[keep], excess[keep], labels[keep]
            graph, flows = [g[keep] for g in graph], [f[keep] for f in flows]
        # Labels stay valid while pushing (a push along an admissible edge opens only its reverse,
        # which points uphill), so push until no active node has an admissible edge, then relabel.
        while _push(graph, flows, sink_caps, to_sink, excess, labels):
            pass
    raise RuntimeError("attention flow did not converge")


def _relabel(graph, flows, sink_caps, to_sink, labels) -> None:
    """Every node's exact distance to the sink in the residual graph (INF when it cannot reach it):
    sweeps from the bottom layer up, each taking down edges with room left and up edges with flow
    (their reverse), until nothing changes."""
    last = len(graph)
    labels[:] = INF
    labels[:, last] = np.where(sink_caps - to_sink > EPS, 1, INF)
    changed = True
    while changed:
        changed = False
        for a in range(last, -1, -1):  # bottom (a = last) to top (a = 0)
            best = labels[:, a].copy()
            if a < last:  # down: (a, k) -> (a + 1, k') with room on the edge
                room = (graph[a] - flows[a]) > EPS  # (B, n, n)
                below = np.where(room, labels[:, a + 1][:, None, :], INF).min(axis=-1)
                best = np.minimum(best, below + 1)
            if a > 0:  # up: (a, k') -> (a − 1, k) along the reverse of an edge with flow
                back = flows[a - 1] > EPS  # (B, n_above, n)
                above = np.where(back, labels[:, a - 1][:, :, None], INF).min(axis=1)
                best = np.minimum(best, above + 1)
            best = np.minimum(best, INF)
            if (best != labels[:, a]).any():
                labels[:, a] = best
                changed = True


def _push(graph, flows, sink_caps, to_sink, excess, labels) -> bool:
    """Every active node pushes along all its admissible edges (label one less, room left) at once,
    min(1, excess / room) of each edge's room: its whole excess, or all the room it has. False when
    no active node had an admissible edge (nothing moved)."""
    last = len(graph)
    down, up, room_total = [], [], np.zeros(excess.shape)
    for a in range(last + 1):
        if a < last:
            room = np.clip(graph[a] - flows[a], 0, None)  # (B, n, n)
            admissible = (room > EPS) & (labels[:, a][:, :, None] == labels[:, a + 1][:, None, :] + 1)
            room = np.where(admissible, room, 0)
        else:
            room = np.where((labels[:, a] == 1), np.clip(sink_caps - to_sink, 0, None), 0)  # (B, n)
        down.append(room)
        room_total[:, a] += room.sum(axis=-1) if a < last else room
        if a > 0:
            back = flows[a - 1]  # (B, n_above, n): reverse room from (a, k') up to (a − 1, k)
            admissible = (back > EPS) & (labels[:, a][:, None, :] == labels[:, a - 1][:, :, None] + 1)
            back = np.where(admissible, back, 0)
            up.append(back)
            room_total[:, a] += back.sum(axis=1)
        else:
            up.append(None)
    share = np.where(room_total > EPS, np.minimum(1.0, excess / np.where(room_total > EPS, room_total, 1)), 0)
    share = np.where((labels < INF) & (excess > EPS), share, 0)
    if not share.any():
        return False
    for a in range(last + 1):
        mine = share[:, a]  # (B, n)
        if a < last:
            moved = down[a] * mine[:, :, None]  # (B, n, n)
            flows[a] += moved
            excess[:, a] -= moved.sum(axis=-1)
            excess[:, a + 1] += moved.sum(axis=1)
        else:
            moved = down[a] * mine
            to_sink += moved
            excess[:, a] -= moved
        if a > 0:
            returned = up[a] * mine[:, None, :]  # (B, n_above, n)
            flows[a - 1] -= returned
            excess[:, a] -= returned.sum(axis=1)
            excess[:, a - 1] += returned.sum(axis=-1)
    np.clip(excess, 0, None, out=excess)
    for f, c in zip(flows, graph):
        np.clip(f, 0, c, out=f)
    return True


def attention_flow(attention: np.ndarray) -> np.ndarray:
    """attention: (layers, heads, n, n) of a self-attention stack -> float32 (layers, n, n): row i
    of layer l is the maximum flow from token i after layer l to each input token, divided by the
    row's sum."""
    mix = mixed(attention.mean(axis=1))  # (layers, n, n): Â of each layer
    layers, n, _ = mix.shape
    reach = np.zeros((layers, n, n))  # reach[m, k, j]: the maximum flow from (m + 1, k) to (0, j)
    reach[0] = mix[0]  # from layer 1: its one edge
    for layer in range(1, layers):
        for i in range(n):
            # Only the tokens the source can reach, and the sinks they reach, take part (a causal
            # model: tokens 0..i). No flow through an edge exceeds what its head can pass on to the
            # sink (everything entering a node of a DAG leaves it towards the sink), so each edge's
            # capacity is capped at its head's maximum flow, known from the layers below: the
            # maximum flow is unchanged, and the excess a push-relabel would strand (and push
            # around until it gives up) is mostly never sent.
            nodes = _reachable(mix, layer, i)
            sinks = np.flatnonzero(reach[layer - 1][nodes].any(axis=0))
            if not len(sinks):
                continue
            sub = mix[:, nodes][:, :, nodes]  # (layers, m, m)
            below = reach[:, nodes][:, :, sinks]  # (layers, m, sinks)
            graph = [np.minimum(sub[m][None], below[m - 1].T[:, None, :]) for m in range(layer - 1, 0, -1)]
            supply = np.minimum(mix[layer][i, nodes][None], below[layer - 1].T)  # (sinks, m)
            sink_caps = np.ascontiguousarray(mix[0][nodes][:, sinks].T)  # (sinks, m): Â_1[k, j]
            reach[layer, i, sinks] = max_flows_from(graph, sink_caps, supply)
    total = reach.sum(axis=-1, keepdims=True)
    return np.divide(reach, total, out=np.zeros_like(reach), where=total > 0).astype(np.float32)


def _reachable(mix: np.ndarray, layer: int, i: int) -> np.ndarray:
    """The tokens any node below the source (layer + 1, i) it can reach stands for (one index set
    for every layer, for dense arrays)."""
    seen = mix[layer][i] > 0  # (n,)
    union = seen.copy()
    for m in range(layer - 1, 0, -1):
        seen = (mix[m][seen] > 0).any(axis=0)
        union |= seen
    return np.flatnonzero(union)


def work(layers: int, tokens: int) -> float:
    """What a flow costs, in the unit MAX_WORK counts. Measured (CPython, CPU seconds on a busy
    2-core machine): MiniLM's 6 layers 1.6 s at 16 tokens, 18 s at 32; SmolLM2's 30 layers 5.6 s at
    8 tokens, 20 s at 12: about layers² × tokens^3.5 (the depth of each graph, the rounds a flow
    needs to cross it, and one problem per source and sink). One layer needs no flow at all."""
    return 0.0 if layers <= 1 else layers ** 2 * tokens ** 3.5


# The largest flow done: MiniLM (or any 6-layer stack) at 32 tokens; a 30-layer one at 12.
MAX_WORK = work(6, 32)


def result(ctx) -> dict:
    """{"flow": (layers, q, k)} of the stack in view, `hide` applied to the maps; a clear error past
    the size it can do in reasonable time."""
    stack = ctx.self_attention("Attention flow")
    layers, _, n, _ = stack["weights"].shape
    if work(layers, n) > MAX_WORK:
        most = next(m for m in range(n, 0, -1) if work(layers, m) <= MAX_WORK or m == 1)
        raise RequestError(f"Attention flow is computed exactly, and over {layers} layer{'s' * (layers > 1)} it can "
                           f"do at most {most} "
                           f"tokens in reasonable time here; this text has {n}. Shorten it, or use the rollout.",
                           "analysis")
    return {"flow": ctx.hidden(attention_flow(stack["weights"]), stack)}
