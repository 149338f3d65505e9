"""Numbers that summarise attention weights: how spread out rows are, where attention goes, and
what a head does. All functions take weights of one head, shape (q, k), rows summing to 1 (or to
0 for a fully masked row)."""
from __future__ import annotations

import math

import numpy as np


def row_entropy(weights: np.ndarray) -> np.ndarray:
    """(..., q) Shannon entropy of each row in nats, in the weights' own precision: 0 = all on
    one key, log k = uniform. weights: (..., q, k)."""
    # 0 log 0 = 0: the tiny offset keeps log finite there and changes nothing else at float32
    # precision; one temporary and an einsum instead of a masked log, a product and a sum.
    logs = np.log(weights + weights.dtype.type(1e-30))
    return -np.einsum("...k,...k->...", weights, logs)


def top_pairs(weights: np.ndarray, k: int = 10, include_diagonal: bool = False) -> list[tuple[int, int, float]]:
    """The k largest (query, key, weight) entries, largest first; the diagonal (a token attending
    to itself) is skipped unless include_diagonal."""
    w = weights.copy()
    if not include_diagonal:
        n = min(w.shape)
        w[np.arange(n), np.arange(n)] = -1.0
    flat_w = w.ravel()
    k = min(k, flat_w.size)
    best = np.argpartition(-flat_w, k - 1)[:k]  # O(n) selection instead of sorting all q * k
    flat = best[np.lexsort((best, -flat_w[best]))]  # largest first, ties by position
    pairs = [(int(i), int(j), float(w[i, j])) for i, j in zip(*np.unravel_index(flat, w.shape))]
    return [p for p in pairs if p[2] >= 0]


def head_summary(weights: np.ndarray, self_attention: bool = True) -> dict:
    """What one head does, in a few numbers.

    mean_distance: average |i - j| weighted by attention (0 = attends to itself; large = far away);
    mean_offset: the same with sign (-1 = previous token, +1 = next token);
    diagonal_share: average weight on the token itself (self-attention only);
    entropy: mean row entropy in nats and bits, and as a fraction of the uniform row's entropy.
    """
    q, k = weights.shape
    w = weights
    offsets = np.arange(k)[None, :] - np.arange(q)[:, None]  # (q, k) j - i
    row_mass = w.sum(axis=1)
    live = row_mass > 0
    ent = row_entropy(w)
    mean_ent = float(ent[live].mean()) if live.any() else 0.0
    allowed = np.maximum((w > 0).sum(axis=1), 1)  # keys each row could spread over
    max_ent = np.log(allowed[live]).mean() if live.any() else 0.0
    col = w.sum(axis=0)
    summary = {
        "entropy_nats": mean_ent,
        "entropy_bits": mean_ent / math.log(2),
        "entropy_fraction": float(mean_ent / max_ent) if max_ent > 0 else 0.0,
        "max_weight": float(w.max()),
        "mean_weight": float(w[live].mean()) if live.any() else 0.0,
        "most_attended": int(col.argmax()),
        "most_attended_share": float(col.max() / max(row_mass.sum(), 1e-12)),
        "mean_distance": float((w * np.abs(offsets)).sum() / max(row_mass.sum(), 1e-12)),
        "mean_offset": float((w * offsets).sum() / max(row_mass.sum(), 1e-12)),
    }
    if self_attention and q == k:
        summary["diagonal_share"] = float(np.trace(w) / max(row_mass.sum(), 1e-12))
    return summary


def describe(summary: dict, self_attention: bool = True) -> str:
    """One sentence a person can read, from head_summary's numbers. Between two texts (cross-
    attention) positions do not line up, so only the spread and the targets are described."""
    if summary["entropy_fraction"] > 0.85:
        return "Spreads attention broadly over the text."
    if not self_attention:
        if summary["most_attended_share"] > 0.4:
            return "Concentrates on one source token that most rows look at."
        if summary["entropy_fraction"] < 0.35:
            return "Each row looks sharply at a source token of its own, as an alignment would."
        return "Each row spreads over a few source tokens of its own."
    if summary.get("diagonal_share", 0) > 0.4:
        return "Mostly attends to the token itself."
    if abs(summary["mean_offset"] + 1) < 0.35 and summary["mean_distance"] < 1.6:
        return "Mostly attends to the previous token."
    if abs(summary["mean_offset"] - 1) < 0.35 and summary["mean_distance"] < 1.6:
        return "Mostly attends to the next token."
    if summary["most_attended_share"] > 0.4:
        return "Concentrates on one token that most rows look at."
    if summary["mean_distance"] < 2.5:
        return "Attends to nearby tokens."
    return "Attends to tokens spread across the text, chosen by content."


def head_metrics(weights: np.ndarray, self_attention: bool, top_k: int) -> dict:
    """Everything the page shows about the head in view. weights: (q, k)."""
    summary = head_summary(weights, self_attention)
    return {"summary": summary, "description": describe(summary, self_attention),
            "row_entropy_bits": (row_entropy(weights) / np.float32(math.log(2))).astype(np.float32),
            "top_pairs": {"without_self": top_pairs(weights, top_k, False), "with_self": top_pairs(weights, top_k, True)}}


def overview(weights: np.ndarray) -> dict:
    """Numbers about every head of a stack at once, vectorised. weights: (layers, heads, q, k)."""
    layers, heads = weights.shape[:2]
    entropy_bits = row_entropy(weights).mean(axis=-1) / np.float32(math.log(2))  # (layers, heads)
    column_total = weights.sum(axis=(0, 1, 2))  # (k,) attention received, over all heads
    return {
        "entropy_bits": entropy_bits.astype(np.float32),
        "max_weight": weights.max(axis=(2, 3)).astype(np.float32),  # (layers, heads)
        "overall": {"layers": layers, "heads": heads, "query_tokens": weights.shape[2], "key_tokens": weights.shape[3],
                    "max_weight": float(weights.max()), "mean_weight": float(weights.mean()),
                    "mean_entropy_bits": float(entropy_bits.mean()), "most_attended": int(column_total.argmax())},
    }


def head_scores(weights: np.ndarray, tokens: list[dict]) -> dict[str, np.ndarray]:
    """What each head of a self-attention stack does on this text, one number per head in [0, 1],
    averaged over the queries where the score is defined. weights: (layers, heads, n, n).

    sink        weight on the first token, from the queries after it
    previous    weight on the token just before (i − 1)
    self        weight on the token itself
    induction   for a token seen before, weight on the token that followed its last earlier
                occurrence (Olsson et al., 2022: "A B … A → B"); 0 where nothing repeats
    """
    n = weights.shape[-1]
    rows = np.arange(1, n)
    empty = np.zeros(weights.shape[:2], dtype=np.float32)
    scores = {
        "sink": weights[:, :, 1:, 0].mean(axis=-1) if n > 1 else empty,
        "previous": weights[:, :, rows, rows - 1].mean(axis=-1) if n > 1 else empty,
        "self": np.diagonal(weights, axis1=2, axis2=3).mean(axis=-1),
    }
    last_seen: dict[object, int] = {}
    queries, targets = [], []  # query i, and the key after the previous occurrence of its token
    for i, t in enumerate(tokens):
        key = t.get("id", t["text"])
        j = last_seen.get(key)
        if j is not None and j + 1 < i and not t["special"]:
            queries.append(i)
            targets.append(j + 1)
        last_seen[key] = i
    scores["induction"] = weights[:, :, queries, targets].mean(axis=-1) if queries else empty
    return {name: v.astype(np.float32) for name, v in scores.items()}
