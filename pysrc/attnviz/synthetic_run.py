"""Run a request on the synthetic model: tokens -> embeddings -> multi-head attention."""
from __future__ import annotations

import math

import numpy as np

from . import synthetic
from .attention import causal_mask, multi_head, padding_mask, scaled_dot_product
from .errors import RequestError
from .tokens import Token, tokenize

PAD = "[PAD]"


def token_dicts(tokens: list[Token], n_pad: int = 0) -> list[dict]:
    out = [{**t.as_dict(), "special": False} for t in tokens]
    end = tokens[-1].end if tokens else 0
    return out + [{"text": PAD, "start": end, "end": end, "special": True}] * n_pad


def _pad(x: np.ndarray, n: int) -> np.ndarray:
    """(t, d) -> (n, d): padding positions get the bias and their position code only."""
    t = x.shape[0]
    if n <= t:
        return x
    pad = np.zeros((n - t, x.shape[1]))
    pad[:, synthetic.BLOCKS["bias"]] = 1.0
    pad[:, synthetic.BLOCKS["position"]] = synthetic.position_code(n)[t:]
    return np.concatenate([x, pad])


def compute(req: dict) -> dict:
    """Weights (1, heads, q, k), tokens, roles and, if asked, every intermediate of one head."""
    n_heads, cross = req["heads"], req["mode"] == "cross"
    query_tokens = tokenize(req["text"], "text")
    key_tokens = tokenize(req["source"], "source") if cross else query_tokens
    if req["layer"] != 0:
        raise RequestError("The synthetic model has one layer: 'layer' must be 0.", "layer")
    if req["head"] >= n_heads:
        raise RequestError(f"'head' must be below the number of heads ({n_heads}).", "head")
    n_keys = len(key_tokens)
    if req["pad_to"] and req["pad_to"] < n_keys:
        raise RequestError(f"'pad_to' ({req['pad_to']}) is shorter than the text ({n_keys} tokens).", "pad_to")
    n_pad = max(req["pad_to"] - n_keys, 0)
    notes = []

    x_key = _pad(synthetic.embed(key_tokens, req["seed"]), n_keys + n_pad)  # (k, d_model)
    x_query = x_key if not cross else synthetic.embed(query_tokens, req["seed"])  # (q, d_model)
    n_q, n_k = x_query.shape[0], x_key.shape[0]
    mask = padding_mask(n_q, np.arange(n_k) < n_keys)  # (q, k)
    if req["causal"]:
        if cross:
            notes.append("Causal masking applies to self-attention only; cross-attention sees the whole source.")
        else:
            mask &= causal_mask(n_q, n_k)
    if n_pad:
        notes.append(f"Padded with {n_pad} [PAD] key{'s' if n_pad > 1 else ''}, masked out.")

    layer = synthetic.build_layer(n_heads, req["seed"])
    mh = multi_head(x_query, x_key, layer.w_q, layer.w_k, layer.w_v, layer.w_o, n_heads, mask, req["temperature"])
    raw = {
        "model": {"name": "synthetic", "layers": 1, "heads": n_heads, "d_model": synthetic.D_MODEL,
                  "d_head": synthetic.D_HEAD},
        "query_tokens": token_dicts(query_tokens, 0 if cross else n_pad),
        "key_tokens": token_dicts(key_tokens, n_pad),
        "weights": mh.weights[None],  # (1, heads, q, k)
        "roles": [synthetic.role_info(r) for r in layer.roles],
        "notes": notes,
    }
    if req["intermediates"]:
        raw["intermediates"] = steps(x_query, x_key, layer, req["head"], mask, req["temperature"], mh)
    return raw


def steps(x_query: np.ndarray, x_key: np.ndarray, layer: synthetic.SyntheticLayer, head: int,
          mask: np.ndarray, temperature: float, mh) -> dict:
    """Every intermediate of one head, recomputed step by step (and equal to the batched path)."""
    cols = slice(head * synthetic.D_HEAD, (head + 1) * synthetic.D_HEAD)
    w_q, w_k, w_v = layer.w_q[:, cols], layer.w_k[:, cols], layer.w_v[:, cols]  # (d_model, d_head)
    s = scaled_dot_product(x_query @ w_q, x_key @ w_k, x_key @ w_v, mask, temperature)
    return {
        "x_query": x_query, "x_key": x_key, "w_q": w_q, "w_k": w_k, "w_v": w_v,
        "q": s.q, "k": s.k, "v": s.v, "scores": s.scores, "scaled": s.scaled, "tempered": s.tempered,
        "mask": s.mask.astype(np.float32), "masked": s.masked, "weights": s.weights, "output": s.output,
        "concat": mh.concat, "w_o": layer.w_o, "attention_output": mh.output,
        "d_k": synthetic.D_HEAD, "sqrt_d_k": math.sqrt(synthetic.D_HEAD), "temperature": temperature,
    }
