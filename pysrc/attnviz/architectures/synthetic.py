"""A small, hand-built multi-head attention layer whose heads behave like heads of trained models.

Nothing here paints attention weights. Every head computes softmax(Q Kᵀ / sqrt(d_k) / T) from
embeddings X and projections W_Q, W_K that are *constructed* (instead of learned) so that the dot
products q_i · k_j favour the keys that a head of a given role favours in real transformers.

Embedding of token i (d_model = 64), in named blocks:
    bias      1   always 1 (lets a projection produce a constant query)
    position 16   sinusoidal position code: (sin ω_f i, cos ω_f i) for 8 frequencies ω_f
    meaning  24   hashed features of the lower-cased word and its character trigrams, unit length
                  (words that share pieces point in similar directions)
    punct     1   1 for punctuation tokens
    content  22   hashed features of the word that only the values carry

Key fact used by the positional heads: shifting a sinusoidal code by s positions is a rotation
R^s of each (sin, cos) pair, i.e. a linear map. So a head whose W_Q copies the position code and
whose W_K copies it rotated by R^s has q_i · k_j = Σ_f c_f cos(ω_f (i - j - s)), largest at
j = i - s.
"""
from __future__ import annotations

import functools
import hashlib
import math
import unicodedata
from dataclasses import dataclass

import numpy as np


D_MODEL = 64
D_HEAD = 32
BLOCKS = {"bias": slice(0, 1), "position": slice(1, 17), "meaning": slice(17, 41),
          "punct": slice(41, 42), "content": slice(42, 64)}
FREQS = 1.0 / 10_000 ** (np.arange(8) / 8)  # (8,) ω_f, fastest first
# Weight of each frequency in the positional heads: the fast ones tell neighbours apart, the slow
# ones keep far-away tokens (where fast frequencies alias) from scoring high.
FREQ_WEIGHTS = np.array([1.0, 1.0, 0.9, 0.8, 0.7, 0.7, 0.7, 0.7])


@dataclass(frozen=True)
class Role:
    name: str
    description: str


ROLES = {
    "previous": Role("previous token", "Attends to the token just before: W_K rotates the position code one "
                     "step, so q_i · k_j peaks at j = i − 1."),
    "self": Role("self", "Attends to itself: W_Q and W_K both copy the position code, so q_i · k_j peaks "
                 "at j = i."),
    "meaning": Role("similar words", "Attends to words that look alike, itself and repeats included (shared "
                    "letter trigrams): W_Q and W_K both read the word features, so q_i · k_j is their similarity."),
    "first": Role("first token (sink)", "Parks attention on the first token: W_Q reads the constant "
                  "feature, W_K the cosine half of the position code, which is largest at position 0."),
    "next": Role("next token", "Attends to the token just after: W_K rotates the position code one step "
                 "back, so q_i · k_j peaks at j = i + 1."),
    "broad": Role("broad", "Spreads attention almost evenly: its projections are small, so the scores are "
                  "close together and softmax is flat."),
    "punct": Role("punctuation", "Attends to punctuation (as BERT heads attend to [SEP] and periods): W_K "
                  "reads the punctuation feature; with none in the text, it falls back on the first token."),
    "local": Role("local window", "Attends to a window of nearby tokens: only the slower position "
                  "frequencies are copied, so neighbours score almost as high as the token itself."),
    "previous2": Role("two back", "Attends to the token two places before: W_K rotates the position code "
                      "two steps."),
}
# Head h gets ROLE_ORDER[h]: the first heads cover every kind of role, later ones repeat them
# with different noise, as trained models have several heads of one kind.
ROLE_ORDER = ["previous", "self", "meaning", "first", "next", "broad", "punct", "local",
              "previous2", "meaning", "previous", "broad", "next", "first", "self", "local"]
MAX_HEADS = len(ROLE_ORDER)
NOISE = 0.12  # std of random perturbation added to every projection (relative to its scale)


@functools.lru_cache(maxsize=1 << 16)
def _hash_unit(key: str, dim: int) -> np.ndarray:
    """A deterministic pseudo-random unit vector for a string (same on every platform). Cached:
    typing changes one word at a time, so most words are seen again."""
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
    rng = np.random.default_rng(int.from_bytes(digest, "little"))
    v = rng.standard_normal(dim)
    v /= np.linalg.norm(v)
    v.flags.writeable = False  # shared by the cache
    return v


def _normal_form(word: str) -> str:
    """Lower-case without accents, so 'Café' and 'cafe' mean the same here."""
    decomposed = unicodedata.normalize("NFD", word.lower())
    return "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")


def meaning_vector(word: str) -> np.ndarray:
    """(24,) unit vector: the word itself plus its character trigrams, hashed."""
    w = _normal_form(word)
    padded = f"<{w}>"
    trigrams = [padded[i:i + 3] for i in range(max(1, len(padded) - 2))]
    v = 1.0 * _hash_unit("w:" + w, 24) + 0.8 * sum(_hash_unit("t:" + t, 24) for t in trigrams) / math.sqrt(len(trigrams))
    return v / np.linalg.norm(v)


def position_code(n: int) -> np.ndarray:
    """(n, 16) interleaved (sin ω_f i, cos ω_f i) pairs."""
    angles = np.arange(n)[:, None] * FREQS[None, :]  # (n, 8)
    code = np.empty((n, 16))
    code[:, 0::2], code[:, 1::2] = np.sin(angles), np.cos(angles)
    return code


def shift_matrix(steps: int) -> np.ndarray:
    """(16, 16) R^steps: position_code(n)[i] @ R^s == code of position i + s (for every pair)."""
    r = np.zeros((16, 16))
    for f, w in enumerate(FREQS):
        c, s = math.cos(w * steps), math.sin(w * steps)
        # (sin a, cos a) -> (sin(a+b), cos(a+b)) = (sin a cos b + cos a sin b, cos a cos b - sin a sin b)
        r[2 * f:2 * f + 2, 2 * f:2 * f + 2] = [[c, -s], [s, c]]
    return r


def is_punct(text: str) -> bool:
    return all(unicodedata.category(ch).startswith("P") for ch in text)


def embed(tokens: list[dict], seed: int) -> np.ndarray:
    """(n, 64) embeddings X of the tokens, as described in the module docstring."""
    x = np.zeros((len(tokens), D_MODEL))
    x[:, BLOCKS["bias"]] = 1.0
    x[:, BLOCKS["position"]] = position_code(len(tokens))
    for i, tok in enumerate(tokens):
        x[i, BLOCKS["meaning"]] = meaning_vector(tok["text"])
        x[i, BLOCKS["punct"]] = 1.0 if is_punct(tok["text"]) else 0.0
        x[i, BLOCKS["content"]] = _hash_unit(f"c:{seed}:{_normal_form(tok['text'])}", 22)
    return x


def _place(w: np.ndarray, block: str, m: np.ndarray, col: int = 0) -> None:
    """Write the map m (rows: features of `block`) into head columns col.. of projection w."""
    rows = BLOCKS[block]
    w[rows, col:col + m.shape[1]] += m


def role_projections(role: str) -> tuple[np.ndarray, np.ndarray]:
    """W_Q, W_K (64, 32) of one head of the given role, before noise."""
    wq, wk = np.zeros((D_MODEL, D_HEAD)), np.zeros((D_MODEL, D_HEAD))
    scale = np.repeat(FREQ_WEIGHTS, 2)  # (16,) per coordinate of the position code
    sharp = 4.0  # sqrt of the score gap that makes positional heads crisp but not one-hot
    if role in ("previous", "next", "previous2", "self"):
        steps = {"previous": 1, "next": -1, "previous2": 2, "self": 0}[role]
        _place(wq, "position", np.diag(sharp * scale))
        _place(wk, "position", shift_matrix(steps) @ np.diag(sharp * scale))
    elif role == "local":
        slow = np.diag(np.repeat([0.35, 0.7, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0], 2) * 3.0)
        _place(wq, "position", slow)
        _place(wk, "position", slow)
    elif role == "first":
        cos_part = np.zeros((16, 16))
        cos_part[1::2, 1::2] = np.eye(8)  # keep only the cosines
        _place(wq, "bias", np.tile([0.0, 3.2], 8).reshape(1, 16))  # constant query: all cosines
        _place(wk, "position", cos_part * 3.2)
    elif role == "meaning":
        proj = np.linalg.qr(np.random.default_rng(1234).standard_normal((24, 24)))[0][:, :16]  # (24, 16)
        _place(wq, "meaning", proj * 5.5)
        _place(wk, "meaning", proj * 5.5)
    elif role == "punct":
        _place(wq, "bias", np.full((1, 1), 5.0))
        _place(wk, "punct", np.full((1, 1), 5.0))
        cos_part = np.zeros((16, 16))
        cos_part[1::2, 1::2] = np.eye(8)
        _place(wq, "bias", np.tile([0.0, 1.2], 8).reshape(1, 16), col=1)
        _place(wk, "position", cos_part * 1.2, col=1)
    elif role == "broad":
        rng = np.random.default_rng(99)
        wq += rng.standard_normal((D_MODEL, D_HEAD)) * 0.15
        wk += rng.standard_normal((D_MODEL, D_HEAD)) * 0.15
    else:
        raise ValueError(f"unknown role {role}")
    return wq, wk


@dataclass
class SyntheticLayer:
    """The weights of one multi-head self/cross-attention layer with the given number of heads."""
    n_heads: int
    roles: list[str]
    w_q: np.ndarray  # (d_model, heads * d_head)
    w_k: np.ndarray  # (d_model, heads * d_head)
    w_v: np.ndarray  # (d_model, heads * d_head)
    w_o: np.ndarray  # (heads * d_head, d_model)


def build_layer(n_heads: int, seed: int) -> SyntheticLayer:
    """Projections for n_heads heads (1..16), deterministic for the seed."""
    rng = np.random.default_rng(seed)
    roles = ROLE_ORDER[:n_heads]
    w_q, w_k = [], []
    for role in roles:
        q, k = role_projections(role)
        w_q.append(q + NOISE * rng.standard_normal(q.shape))
        w_k.append(k + NOISE * rng.standard_normal(k.shape))
    width = n_heads * D_HEAD
    w_v = rng.standard_normal((D_MODEL, width)) / math.sqrt(D_MODEL)
    w_o = rng.standard_normal((width, D_MODEL)) / math.sqrt(width)
    return SyntheticLayer(n_heads, roles, np.concatenate(w_q, axis=1), np.concatenate(w_k, axis=1), w_v, w_o)


def role_info(role: str) -> dict:
    r = ROLES[role]
    return {"role": r.name, "role_id": role, "description": r.description}
