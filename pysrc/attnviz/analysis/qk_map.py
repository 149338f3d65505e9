"""The query–key map (after AttentionViz, Yeh et al. 2023): the query and key vectors of one head,
for every token of several sentences, projected together onto the two directions that spread them
most (PCA by numpy's SVD of the centred points), so that a query lands near the keys it scores
high. Queries and keys are read from the model's own trace of the head (after rotation in a
rotary model: what the scores are made of); the strongest (query, key) pairs of each sentence,
by attention weight, are joined."""
from __future__ import annotations

import numpy as np

from .. import models
from ..errors import RequestError
from ..tokenizers.words import check_text

PAIRS_PER_SENTENCE = 8
# Sentences besides the request's text when it gives none: short, varied, with repeated words.
DEFAULT_SENTENCES = ("The cat sat on the mat, and the cat slept.",
                     "A bird sang in the tall green tree near the river.",
                     "She opened the door, looked outside and closed the door again.")


def project(points: np.ndarray) -> tuple[np.ndarray, list[float]]:
    """points (n, d) -> (their coordinates on the first two principal axes (n, 2), the share of
    the variance each axis explains)."""
    centred = points.astype(np.float64) - points.mean(axis=0)
    _, singular, axes = np.linalg.svd(centred, full_matrices=False)
    coords = centred @ axes[:2].T  # (n, ≤2)
    if coords.shape[1] < 2:
        coords = np.pad(coords, ((0, 0), (0, 2 - coords.shape[1])))
    variance = singular ** 2
    total = variance.sum()
    shares = [float(v / total) if total > 0 else 0.0 for v in variance[:2]] + [0.0] * max(0, 2 - len(variance))
    return coords.astype(np.float32), shares


def strongest(pattern: np.ndarray, count: int) -> list[tuple[int, int, float]]:
    """The count largest (query, key, weight) entries of a (q, k) pattern, largest first."""
    flat = np.argsort(-pattern, axis=None, kind="stable")[:count]
    return [(int(i), int(j), float(pattern[i, j])) for i, j in zip(*np.unravel_index(flat, pattern.shape))]


def result(ctx) -> dict:
    req = ctx.req
    sentences = [req["text"]] + (list(req["sentences"]) or [s for s in DEFAULT_SENTENCES if s != req["text"]])
    for text in req["sentences"]:
        check_text(text, "sentences")
    where = (req["stack"], req["layer"], req["head"])
    stack = ctx.stack()
    cross = stack["query"] != stack["key"]
    queries, keys, tokens, key_tokens, pairs = [], [], [], [], []
    for s, text in enumerate(sentences):
        if s == 0:
            raw = ctx.raw if ctx.raw.get("trace") is not None else ctx.rerun(trace=where)
            own = ctx.tokens
        else:
            changes = {"source": text} if (cross and "source" in ctx.tokens and req["mode"] == "cross") else {"text": text}
            sub_req = {**req, **changes}
            try:
                own, _ = models.tokens_and_notes(ctx.model, ctx.weights, sub_req)
            except RequestError as exc:
                raise RequestError(f"Sentence {s}: {exc.message}", "sentences") from None
            raw = ctx.rerun(tokens=own, trace=where, **changes)
        trace = raw["trace"]
        shown = {**own, **raw.get("tokens", {})}
        names = raw.get("trace_tokens") or {"query": shown[stack["query"]], "key": shown[stack["key"]]}
        q_at, k_at = sum(len(x) for x in queries), sum(len(x) for x in keys)
        queries.append(np.asarray(trace["q"], dtype=np.float64))
        keys.append(np.asarray(trace["k"], dtype=np.float64))
        tokens += [{"sentence": s, "index": i, "text": t["text"]} for i, t in enumerate(names["query"])]
        key_tokens += [{"sentence": s, "index": j, "text": t["text"]} for j, t in enumerate(names["key"])]
        pairs += [[q_at + i, k_at + j, w] for i, j, w in strongest(np.asarray(trace["pattern"]), PAIRS_PER_SENTENCE)]
    q_all, k_all = np.concatenate(queries), np.concatenate(keys)
    coords, explained = project(np.concatenate([q_all, k_all]))
    out = {"stack": req["stack"], "layer": req["layer"], "head": req["head"], "sentences": sentences,
           "tokens": tokens, "queries": coords[:len(q_all)], "keys": coords[len(q_all):], "pairs": pairs,
           "explained": explained}
    if cross or len(key_tokens) != len(tokens) or any(a != b for a, b in zip(tokens, key_tokens)):
        out["key_tokens"] = key_tokens
    return {"qk_map": out}


def tokens_needed(req: dict, model, weights, tokens: dict) -> list[dict]:
    """The other sentences' tokens (in the browser, their files are fetched first)."""
    out = []
    for text in req["sentences"] or DEFAULT_SENTENCES:
        try:
            out.append(models.tokens_and_notes(model, weights, {**req, "text": text})[0])
        except RequestError:
            pass  # the run itself says what is wrong with it
    return out
