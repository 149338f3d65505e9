"""Ways to look at real attention that the model itself does not have: hide some tokens (the
special ones, or an LLM's attention sink) and renormalise, or merge WordPiece pieces back into words (Clark et al., 2019, "What Does BERT Look At?")."""
from __future__ import annotations

import numpy as np


def hide_tokens(weights: np.ndarray, tokens: list[dict], keep: np.ndarray) -> tuple[np.ndarray, list[dict]]:
    """Drop the rows and columns of tokens not kept, then renormalise each row to sum to 1 again
    (so a row shows how the attention *not* parked on hidden tokens is shared). weights: (..., q, k),
    keep: (n,) bool."""
    kept = weights[..., keep, :][..., keep]
    total = kept.sum(axis=-1, keepdims=True)
    out = np.divide(kept, total, out=np.zeros_like(kept), where=total > 0)
    return out.astype(np.float32), [t for t, k in zip(tokens, keep) if k]


def hide_special(weights: np.ndarray, tokens: list[dict]) -> tuple[np.ndarray, list[dict]]:
    """Hide [CLS]/[SEP] and other special tokens."""
    return hide_tokens(weights, tokens, np.array([not t["special"] for t in tokens]))


def word_groups(tokens: list[dict]) -> list[list[int]]:
    """Token indices grouped into words: a "##" piece joins the word before it."""
    groups: list[list[int]] = []
    for i, t in enumerate(tokens):
        if t["text"].startswith("##") and groups and not tokens[groups[-1][0]]["special"]:
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def merge_subwords(weights: np.ndarray, tokens: list[dict]) -> tuple[np.ndarray, list[dict]]:
    """Merge pieces into words. Attention *to* a word is the SUM over its pieces (the word gets
    all the attention its pieces got); attention *from* a word is the MEAN over its pieces (each
    piece is one reader). Rows therefore still sum to 1. weights: (..., q, k)."""
    groups = word_groups(tokens)
    n, m = len(tokens), len(groups)
    member = np.zeros((n, m), dtype=np.float64)  # (pieces, words) 1 where piece is in word
    for w, g in enumerate(groups):
        member[g, w] = 1.0
    to_words = weights.astype(np.float64) @ member  # (..., q, words): sum over key pieces
    mean_rows = member / member.sum(axis=0, keepdims=True)  # (pieces, words) averaging weights
    merged = np.swapaxes(np.swapaxes(to_words, -1, -2) @ mean_rows, -1, -2)  # (..., words, words)
    words = []
    for g in groups:
        first, last = tokens[g[0]], tokens[g[-1]]
        text = first["text"] + "".join(tokens[i]["text"][2:] for i in g[1:])
        words.append({"text": text, "start": first["start"], "end": last["end"], "special": first["special"]})
    return merged.astype(np.float32), words


def hide_positions(weights: np.ndarray, hidden_queries, hidden_keys, renormalise: bool = True) -> np.ndarray:
    """Hide tokens without dropping them (AttentionViz's "hide and renormalise"): the columns of
    hidden keys and the rows of hidden queries become 0, and each row is renormalised to sum to 1
    over the keys left (a row with nothing left stays 0; entries that were 0, as masked ones are,
    stay 0). Positions keep their numbers. weights: (..., q, k) -> float32 of the same shape.
    renormalise=False only zeroes (for maps whose rows are not distributions)."""
    out = np.array(weights, dtype=np.float32)  # a copy: results share the model's arrays
    out[..., list(hidden_keys)] = 0
    out[..., list(hidden_queries), :] = 0
    if renormalise:
        total = out.sum(axis=-1, keepdims=True)
        np.divide(out, total, out=out, where=total > 0)
    return out
