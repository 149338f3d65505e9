"""Head roles, measured: a score in [0, 1] per head for each kind of behaviour trained heads are
known for, on the repeated random sequence of probes.py ([prefix] R R [suffix], R of length L
starting at position s). Each score is a mean of attention weights (or of normalised entropy)
over the queries where it is defined:"""
from __future__ import annotations

import json

import numpy as np

from .. import models
from . import VIEW_RESETS, probes

# role -> its one-line definition (the documentation and the result's roles_about)
ABOUT = {
    "previous_token": "weight on the token just before (key i − 1), over queries i ≥ 1",
    "next_token": "weight on the token just after (key i + 1), over queries i ≤ n − 2 (0 for a causal model)",
    "self": "weight on the token itself (key i), over every query",
    "sink": "weight on the first token (key 0), over queries i ≥ 1",
    "duplicate": "on the second copy of the random sequence, weight on the same token in the first copy (key i − L)",
    "induction": "on the second copy, weight on the token after the same token in the first copy (key i − L + 1): "
                 "A B … A → B",
    "broad": "entropy of the row divided by the log of the number of keys it may see, over queries that "
             "see at least two keys (1 = uniform)",
}
ROLES = tuple(ABOUT)
__doc__ += "\n" + "\n".join(f"    {name:15} {line}" for name, line in ABOUT.items()) + "\n"


def scores(attention: np.ndarray, start: int, length: int) -> dict[str, np.ndarray]:
    """attention: (layers, heads, n, n) on a probe whose random sequence (length L) starts at
    `start` and repeats right after -> {role: float32 (layers, heads)}. A causal stack (nothing
    above the diagonal) is recognised from the weights: its rows may see keys 0..i only."""
    a = attention.astype(np.float64)
    n = a.shape[-1]
    i = np.arange(n)
    second = np.arange(start + length, start + 2 * length)  # queries on the second copy
    causal = not np.triu(a, 1).any()
    keys_seen = (i + 1) if causal else np.full(n, n)  # (n,)
    rows = keys_seen >= 2
    p = np.clip(a, 0, 1)
    entropy = -(p * np.log(np.where(p > 0, p, 1))).sum(axis=-1)  # (layers, heads, n) in nats
    out = {
        "previous_token": a[:, :, i[1:], i[1:] - 1].mean(axis=-1),
        "next_token": a[:, :, i[:-1], i[:-1] + 1].mean(axis=-1),
        "self": a[:, :, i, i].mean(axis=-1),
        "sink": a[:, :, i[1:], 0].mean(axis=-1),
        "duplicate": a[:, :, second, second - length].mean(axis=-1),
        "induction": a[:, :, second, second - length + 1].mean(axis=-1),
        "broad": (entropy[:, :, rows] / np.log(keys_seen[rows])).mean(axis=-1),
    }
    return {name: np.clip(v, 0, 1).astype(np.float32) for name, v in out.items()}


def best_heads(role_scores: dict[str, np.ndarray]) -> dict[str, list[int]]:
    """{role: [layer, head]} of the head with the highest score for each role."""
    return {name: [int(x) for x in np.unravel_index(int(np.argmax(v)), v.shape)] for name, v in role_scores.items()}


def tokens_needed(req: dict, model, weights, tokens: dict) -> list[dict]:
    return [model.probe_tokens(weights, probes.LENGTH, probes.SEED)]


_cache: dict[str, dict] = {}  # the scores of the last few models and settings: they do not depend on the text
CACHE_SIZE = 4


def result(ctx) -> dict:
    """{"roles": {role: (layers, heads)}, "roles_about": {role: definition}, "roles_best": {role:
    [layer, head]}, "roles_probe": {tokens, start, length}} of the stack in view, measured on the
    probe (the text of the request plays no part)."""
    ctx.self_attention("Head roles")
    settings = {k: v for k, v in ctx.req.items() if k not in ("text", "source") + tuple(VIEW_RESETS)
                and k not in models.VIEW_FIELDS}
    key = json.dumps([id(ctx.weights), ctx.req["stack"], settings], sort_keys=True)
    if key not in _cache:
        probe = ctx.model.probe_tokens(ctx.weights, probes.LENGTH, probes.SEED)
        stack = ctx.rerun(tokens=probe, **VIEW_RESETS)["attention"][ctx.req["stack"]]
        side = probe[stack["query"]]
        start, length = probes.layout(side)
        measured = scores(stack["weights"], start, length)
        if len(_cache) >= CACHE_SIZE:
            _cache.pop(next(iter(_cache)))
        _cache[key] = {"roles": measured, "roles_about": dict(ABOUT), "roles_best": best_heads(measured),
                       "roles_probe": {"tokens": [t["text"] for t in side], "start": start, "length": length}}
    return _cache[key]
