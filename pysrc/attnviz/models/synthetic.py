"""The synthetic model: one hand-built multi-head layer whose heads have known roles
(architectures/synthetic.py), on the words of any text; self- or cross-attention, any number of
heads from 1 to 16, causal masking, padding and temperature."""
from __future__ import annotations

import numpy as np

from ..analysis.probes import repeated
from ..architectures import synthetic as net
from ..architectures.taps import Taps, heads_of_in_out
from ..attention import causal_mask, multi_head, padding_mask, scaled_dot_product, split_heads
from ..errors import RequestError
from ..tokenizers.words import tokenize as split_words
from . import ModelInfo, first_tokens

PAD = "[PAD]"
MASK = "[MASK]"
# Role probes draw their words from this list (any words do: the model reads their letters).
PROBE_WORDS = ("apple river stone cloud maple tiger candle violin harbor meadow copper lantern falcon orchid "
               "glacier saddle pepper quartz willow thunder basket marble pebble socket ribbon garnet walnut "
               "beacon dolphin ember fossil gravel hammock igloo jasper kettle lemon mosaic nectar oyster").split()

INFO = ModelInfo(
    name="synthetic", label="Synthetic", kind="hand-built", layers=1, heads=8, kv_heads=8,
    d_model=net.D_MODEL, d_head=net.D_HEAD, stacks=("self", "cross"), sides=("text", "source"),
    options=("mode", "heads", "seed", "causal", "temperature", "pad_to"), max_tokens=512,
    steps=("x_query", "x_key", "q", "k", "v", "scores", "scaled", "tempered", "mask", "masked", "pattern", "z",
           "concat", "w_o", "output"),
    about="One hand-built layer of 1 to 16 heads with known roles; self- or cross-attention.",
)


def load(source: str | None = None) -> None:
    return None  # nothing to read: the weights are built from the seed


def tokenize(weights: None, req: dict) -> dict:
    """Words, numbers and symbols with their spans; `source` too in cross mode. Past the limit,
    the first ones when asked (see first_tokens)."""
    notes: list[str] = []
    sides = ("text", "source") if req["mode"] == "cross" else ("text",)
    tokens: dict = {side: first_tokens([{**t.as_dict(), "special": False} for t in split_words(req[side], side, None)],
                                       INFO.max_tokens, req, INFO, field=side, notes=notes) for side in sides}
    return {**tokens, "notes": notes}


def files_needed(weights: None, tokens: dict) -> list[dict]:
    return []


def mask_token(weights: None) -> dict:
    """What an ablated token becomes: the word [MASK] (the model reads its letters like any word's)."""
    return {"text": MASK}


def probe_tokens(weights: None, length: int, seed: int) -> dict[str, list[dict]]:
    """R R: a seeded sequence R of `length` distinct words, repeated."""
    words = repeated(PROBE_WORDS, length, seed)
    return {"text": [{"text": w, "start": 0, "end": 0, "special": False} for w in words]}


def _pad(x: np.ndarray, n: int) -> np.ndarray:
    """(t, d) -> (n, d): padding positions get the bias and their position code only."""
    t = x.shape[0]
    if n <= t:
        return x
    pad = np.zeros((n - t, x.shape[1]))
    pad[:, net.BLOCKS["bias"]] = 1.0
    pad[:, net.BLOCKS["position"]] = net.position_code(n)[t:]
    return np.concatenate([x, pad])


def forward(weights: None, req: dict, tokens: dict, trace: tuple[str, int, int] | None,
            on_step=None, taps: Taps | None = None) -> dict:
    """Attention (1, heads, q, k) of the one layer, its heads' built roles and, if asked, the trace.
    taps see the layer's values (its one layer's attention does not depend on a head's output)."""
    n_heads, cross = req["heads"], req["mode"] == "cross"
    key_side = "source" if cross else "text"
    query_words, key_words = tokens["text"], tokens[key_side]
    n_keys = len(key_words)
    if req["pad_to"] and req["pad_to"] < n_keys:
        raise RequestError(f"'pad_to' ({req['pad_to']}) is shorter than the text ({n_keys} tokens).", "pad_to")
    n_pad = max(req["pad_to"] - n_keys, 0)
    notes = []
    if n_pad:
        end = key_words[-1]["end"]
        padded = key_words + [{"text": PAD, "start": end, "end": end, "special": True}] * n_pad
        notes.append(f"Padded with {n_pad} [PAD] key{'s' if n_pad > 1 else ''}, masked out.")

    x_key = _pad(net.embed(key_words, req["seed"]), n_keys + n_pad)  # (k, d_model)
    x_query = net.embed(query_words, req["seed"]) if cross else x_key  # (q, d_model)
    n_q, n_k = x_query.shape[0], x_key.shape[0]
    mask = padding_mask(n_q, np.arange(n_k) < n_keys)  # (q, k)
    if req["causal"]:
        if cross:
            notes.append("Causal masking applies to self-attention only; cross-attention sees the whole source.")
        else:
            mask &= causal_mask(n_q, n_k)

    layer = net.build_layer(n_heads, req["seed"])
    mh = multi_head(x_query, x_key, layer.w_q, layer.w_k, layer.w_v, layer.w_o, n_heads, mask, req["temperature"])
    stack = "cross" if cross else "self"
    if taps is not None:
        taps.attended(stack, 0, split_heads(x_key @ layer.w_v, n_heads), heads_of_in_out(layer.w_o, n_heads),
                      split_heads(mh.concat, n_heads))
    out = {"attention": {stack: {"weights": mh.weights[None].astype(np.float32),  # (1, heads, q, k)
                                 "query": "text", "key": key_side}},
           "built_roles": {stack: [net.role_info(r) for r in layer.roles]}, "notes": notes}
    if n_pad:
        out["tokens"] = {key_side: padded}
    if trace is not None:
        out["trace"] = _trace(x_query, x_key, layer, trace[2], mask, req["temperature"], mh)
    return out


def _trace(x_query: np.ndarray, x_key: np.ndarray, layer: net.SyntheticLayer, head: int,
           mask: np.ndarray, temperature: float, mh) -> dict:
    """Every intermediate of one head, recomputed step by step (and equal to the batched path)."""
    cols = slice(head * net.D_HEAD, (head + 1) * net.D_HEAD)
    w_q, w_k, w_v = layer.w_q[:, cols], layer.w_k[:, cols], layer.w_v[:, cols]  # (d_model, d_head)
    steps = scaled_dot_product(x_query @ w_q, x_key @ w_k, x_key @ w_v, mask, temperature)
    return {"x_query": x_query, "x_key": x_key, "w_q": w_q, "w_k": w_k, "w_v": w_v, **steps.named(),
            "concat": mh.concat, "w_o": layer.w_o, "output": mh.output, "temperature": temperature}
