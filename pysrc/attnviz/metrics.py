"""Numbers that summarise attention weights: how spread out rows are, where attention goes, and
what a head does. All functions take weights of one head, shape (q, k), rows summing to 1 (or to
0 for a fully masked row)."""
from __future__ import annotations

import math

import numpy as np


def row_entropy(weights: np.ndarray) -> np.ndarray:
    """(q,) Shannon entropy of each row in nats: 0 = all on one key, log k = uniform."""
    w = weights.astype(np.float64)
    logs = np.log(w, out=np.zeros_like(w), where=w > 0)  # 0 log 0 = 0
    return -(w * logs).sum(axis=-1)


def top_pairs(weights: np.ndarray, k: int = 10, include_diagonal: bool = False) -> list[tuple[int, int, float]]:
    """The k largest (query, key, weight) entries, largest first; the diagonal (a token attending
    to itself) is skipped unless include_diagonal."""
    w = weights.astype(np.float64).copy()
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
    w = weights.astype(np.float64)
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


def describe(summary: dict) -> str:
    """One sentence a person can read, from head_summary's numbers."""
    if summary["entropy_fraction"] > 0.85:
        return "Spreads attention broadly over the text."
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
