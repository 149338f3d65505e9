"""The Llama decoder (SmolLM2, TinyLlama, Llama 2/3 …) as a numpy float32 forward pass over the
weights of a GGUF file, returning every layer's causal attention.

    x = embed(ids)
    for each layer:
        h = rms_norm(x)
        q, k, v = h W_q, h W_k, h W_v              grouped-query: fewer k/v heads than q heads
        q, k = rope(q), rope(k)                     positions enter only here
        x = x + attend(q, k, v, causal) W_o
        x = x + (silu(rms_norm(x) W_gate) * rms_norm(x) W_up) W_down
    logits = rms_norm(x) W_out                      W_out = the embedding when tied

Weights are float32 in (out, in) order. llama.cpp's converter reorders the rows of W_q and W_k of
each head for its interleaved rotary layout; `load` undoes that so that the shared rotate-half
`apply_rope` applies (Hugging Face's order).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..attention import attend, causal_mask, merge_heads, repeat_kv, scaled_dot_product, split_heads
from ..errors import ModelFileError, RequestError
from ..formats.gguf import GGUF
from ..layers import apply_rope, linear, rms_norm, rope_angles, silu
from .taps import Taps, heads_of_out_in


ROWS_PER_STEP = 4096  # of a tensor dequantised at once (the embedding has 49152 rows)


@dataclass(frozen=True)
class Config:
    layers: int
    d_model: int
    d_ff: int
    heads: int
    kv_heads: int
    vocab: int
    rope_base: float
    eps: float
    context: int

    @property
    def d_head(self) -> int:
        return self.d_model // self.heads

    @property
    def group(self) -> int:
        """Query heads per key/value head."""
        return self.heads // self.kv_heads

    @classmethod
    def from_gguf(cls, g: GGUF) -> Config:
        meta = g.metadata
        arch = meta.get("general.architecture")
        if arch != "llama":
            raise ModelFileError(g.file, f"is a {arch!r} model; only the 'llama' architecture is supported")

        def get(key: str, kind, default=None):
            value = meta.get("llama." + key, default)
            if value is None:
                raise ModelFileError(g.file, f"has no llama.{key} in its metadata")
            if isinstance(value, list):
                raise ModelFileError(g.file, f"llama.{key} varies per layer, which is not supported")
            # a count must be a whole number (2.5 heads, NaN layers: a damaged file), a rate finite
            number = type(value) is int or (kind is float and type(value) is float and math.isfinite(value))
            if not number or value <= 0:
                raise ModelFileError(g.file, f"llama.{key} = {value!r} is not a positive "
                                             + ("number" if kind is float else "whole number"))
            return kind(value)

        if meta.get("llama.expert_count", 0):
            raise ModelFileError(g.file, "is a mixture-of-experts Llama, which is not supported")
        scaling = meta.get("llama.rope.scaling.type", "none")
        if scaling != "none":
            raise ModelFileError(g.file, f"uses rotary scaling {scaling!r}, which is not supported")
        heads = get("attention.head_count", int)
        tokens = meta.get("tokenizer.ggml.tokens")  # (checked by the tokenizer: here only counted)
        config = cls(layers=get("block_count", int), d_model=get("embedding_length", int),
                     d_ff=get("feed_forward_length", int), heads=heads,
                     kv_heads=get("attention.head_count_kv", int, heads),
                     vocab=len(tokens) if isinstance(tokens, list) and tokens else get("vocab_size", int),
                     rope_base=get("rope.freq_base", float, 10000.0),
                     eps=get("attention.layer_norm_rms_epsilon", float),
                     context=get("context_length", int))
        if config.d_model % heads or heads % config.kv_heads or config.d_head % 2:
            raise ModelFileError(g.file, f"{heads} heads over d_model {config.d_model} with "
                                         f"{config.kv_heads} key/value heads do not divide evenly")
        if get("rope.dimension_count", int, config.d_head) != config.d_head:
            raise ModelFileError(g.file, "rotates only part of each head (partial rotary), which is not supported")
        return config


@dataclass
class Block:
    attn_norm: np.ndarray  # (d_model,)
    w_q: np.ndarray        # (heads * d_head, d_model)
    w_k: np.ndarray        # (kv_heads * d_head, d_model)
    w_v: np.ndarray        # (kv_heads * d_head, d_model)
    w_o: np.ndarray        # (d_model, heads * d_head)
    ffn_norm: np.ndarray   # (d_model,)
    w_gate: np.ndarray     # (d_ff, d_model)
    w_up: np.ndarray       # (d_ff, d_model)
    w_down: np.ndarray     # (d_model, d_ff)


@dataclass
class Weights:
    embedding: np.ndarray  # (vocab, d_model)
    blocks: list[Block]
    norm: np.ndarray       # (d_model,)
    output: np.ndarray     # (vocab, d_model), the embedding itself when tied

    @property
    def nbytes(self) -> int:
        arrays = [self.embedding, self.norm] + [a for b in self.blocks for a in vars(b).values()]
        if self.output is not self.embedding:
            arrays.append(self.output)
        return sum(a.nbytes for a in arrays)


def unpermute(w: np.ndarray, heads: int) -> np.ndarray:
    """Undo llama.cpp's per-head row order (pairs (f, f + d/2) stored next to each other, for its
    interleaved rotary) so that rows f and f + d/2 of each head form a rotate-half pair again."""
    out, d_in = w.shape
    return w.reshape(heads, out // heads // 2, 2, d_in).swapaxes(1, 2).reshape(out, d_in)


def load(g: GGUF, config: Config | None = None) -> Weights:
    """Dequantise every tensor to float32, checking each shape against the config."""
    c = config or Config.from_gguf(g)

    def get(name: str, shape: tuple[int, ...]) -> np.ndarray:
        info = g.tensor(name)
        if info.shape != shape:
            raise ModelFileError(g.file, f"tensor {name!r} has shape {info.shape}, expected {shape}")
        out = np.empty(shape, dtype=np.float32)
        for start in range(0, shape[0], ROWS_PER_STEP):  # big tensors a part at a time: small temporaries
            out[start:start + ROWS_PER_STEP] = g.dequantize(name, rows=slice(start, start + ROWS_PER_STEP))
        return out

    dq, dkv = c.heads * c.d_head, c.kv_heads * c.d_head
    blocks = []
    for i in range(c.layers):
        p = f"blk.{i}."
        blocks.append(Block(
            attn_norm=get(p + "attn_norm.weight", (c.d_model,)),
            w_q=unpermute(get(p + "attn_q.weight", (dq, c.d_model)), c.heads),
            w_k=unpermute(get(p + "attn_k.weight", (dkv, c.d_model)), c.kv_heads),
            w_v=get(p + "attn_v.weight", (dkv, c.d_model)),
            w_o=get(p + "attn_output.weight", (c.d_model, dq)),
            ffn_norm=get(p + "ffn_norm.weight", (c.d_model,)),
            w_gate=get(p + "ffn_gate.weight", (c.d_ff, c.d_model)),
            w_up=get(p + "ffn_up.weight", (c.d_ff, c.d_model)),
            w_down=get(p + "ffn_down.weight", (c.d_model, c.d_ff))))
    # The embedding is expanded to float32 too (SmolLM2: 113 MB; its Q8_0 bytes are 30 MB). Kept as
    # int8 + scales, the tied output projection must expand it again for every token: measured in
    # Pyodide, 0.050 s instead of 0.025 s per token, against a 0.15 s budget; the heap is within
    # budget with it expanded (795 MB).
    embedding = get("token_embd.weight", (c.vocab, c.d_model))
    output = get("output.weight", (c.vocab, c.d_model)) if "output.weight" in g.tensors else embedding
    return Weights(embedding, blocks, get("output_norm.weight", (c.d_model,)), output)


@dataclass
class KVCache:
    """The rotated keys and the values of every position so far, per layer: (kv_heads, n, d_head)."""
    keys: list[np.ndarray] = field(default_factory=list)
    values: list[np.ndarray] = field(default_factory=list)

    @property
    def length(self) -> int:
        return self.keys[0].shape[1] if self.keys else 0


@dataclass
class Output:
    attention: np.ndarray          # (layers, heads, T, T_past + T), exactly 0 where j > i
    logits: np.ndarray             # (vocab,) next-token logits after the last position
    all_logits: np.ndarray | None  # (T, vocab) when asked for
    trace: dict | None             # one head's inputs and steps when asked for
    cache: KVCache


def forward(ids, weights: Weights, config: Config, trace: tuple[int, int] | None = None,
            cache: KVCache | None = None, all_logits: bool = False, taps: Taps | None = None) -> Output:
    """Run the tokens ids (continuing after cache's positions, if given; the cache is extended in
    place) and return every layer's attention and the next-token logits. taps (stack "self") see
    every layer's values and may zero a head's output."""
    c = config
    ids = np.asarray(ids, dtype=np.int64)
    cache = cache if cache is not None else KVCache()
    past, n = cache.length, len(ids)
    total = past + n
    if n == 0 or total > c.context:
        raise RequestError(f"Need 1 to {c.context - past} tokens, got {n}.", "text")
    if ids.min() < 0 or ids.max() >= c.vocab:
        raise RequestError(f"Token ids must be in 0..{c.vocab - 1}.", "ids")
    if trace is not None and not (0 <= trace[0] < c.layers and 0 <= trace[1] < c.heads):
        raise RequestError(f"Pick a layer in 0..{c.layers - 1} and a head in 0..{c.heads - 1}.", "head")
    cos, sin = rope_angles(n, c.d_head, c.rope_base, start=past)  # (n, d_head)
    mask = causal_mask(total, total)[past:]  # (n, total): query past + i sees keys 0..past + i
    attention = np.empty((c.layers, c.heads, n, total), dtype=np.float32)
    kept = None
    x = weights.embedding[ids]  # (n, d_model)
    for layer, b in enumerate(weights.blocks):
        h = rms_norm(x, b.attn_norm, c.eps)  # (n, d_model)
        q_raw = split_heads(linear(h, b.w_q), c.heads)     # (heads, n, d_head)
        k_raw = split_heads(linear(h, b.w_k), c.kv_heads)  # (kv_heads, n, d_head)
        v = split_heads(linear(h, b.w_v), c.kv_heads)      # (kv_heads, n, d_head)
        q, k = apply_rope(q_raw, cos, sin), apply_rope(k_raw, cos, sin)
        if layer < len(cache.keys):  # keys are cached after rotation: their positions are fixed
            k = cache.keys[layer] = np.concatenate([cache.keys[layer], k], axis=1)  # (kv_heads, total, d_head)
            v = cache.values[layer] = np.concatenate([cache.values[layer], v], axis=1)
        else:
            cache.keys.append(k)
            cache.values.append(v)
        v_per_head = repeat_kv(v, c.group)  # (heads, total, d_head)
        weights_, context = attend(q, repeat_kv(k, c.group), v_per_head, mask)  # (heads, n, total), (heads, n, d_head)
        if trace is not None and trace[0] == layer:
            kept = _trace(trace[1], h, b, c, q_raw, k_raw, q, k, v, mask)
            # the same numbers by another summation order: show one set everywhere
            weights_[trace[1]] = kept["steps"].weights
            context[trace[1]] = kept["steps"].output
        attention[layer] = weights_
        if taps is not None:
            context = taps.attended("self", layer, v_per_head, heads_of_out_in(b.w_o, c.heads), context)
        x = x + linear(merge_heads(context), b.w_o)
        h = rms_norm(x, b.ffn_norm, c.eps)
        x = x + linear(silu(linear(h, b.w_gate)) * linear(h, b.w_up), b.w_down)  # SwiGLU
    rows = x if all_logits else x[-1:]  # only the last position predicts the next token
    logits = linear(rms_norm(rows, weights.norm, c.eps), weights.output)  # (rows, vocab)
    return Output(attention, logits[-1], logits if all_logits else None, kept, cache)


def _trace(head: int, h, b: Block, c: Config, q_raw, k_raw, q, k, v, mask) -> dict:
    """One head's inputs and every step of its attention (k and v: all positions so far)."""
    kv = head // c.group  # query head h reads key/value head h // group
    rows_q, rows_kv = slice(head * c.d_head, (head + 1) * c.d_head), slice(kv * c.d_head, (kv + 1) * c.d_head)
    return {"x": h, "w_q": b.w_q[rows_q].T, "w_k": b.w_k[rows_kv].T, "w_v": b.w_v[rows_kv].T,  # (d_model, d_head)
            "q_unrotated": q_raw[head], "k_unrotated": k_raw[kv], "kv_head": kv,
            "steps": scaled_dot_product(q[head], k[kv], v[kv], mask)}


@dataclass
class Generated:
    ids: list[int]                # the new tokens
    attention: list[np.ndarray]   # per new token i: (layers, heads, 1, T_prompt + i), the row of
                                  # the query that predicted it (the position before it)


def generate(ids, weights: Weights, config: Config, n_new: int, stop: set[int] | frozenset = frozenset(),
             cache: KVCache | None = None) -> Generated:
    """Greedy decoding: each new token is the argmax of the logits, fed back one at a time
    with the keys and values of earlier positions taken from the cache."""
    out = forward(ids, weights, config, cache=cache)
    new, rows = [], []
    for step in range(n_new):
        token = int(np.argmax(out.logits))
        new.append(token)
        rows.append(out.attention[:, :, -1:, :])  # (layers, heads, 1, T_so_far)
        if token in stop or step == n_new - 1 or out.cache.length >= config.context:
            break
        out = forward([token], weights, config, cache=out.cache)
    return Generated(new, rows)
