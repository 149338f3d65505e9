"""Marian's transformer with an SSRU decoder (the Bergamot "tiny" translation models), float32 numpy.

    encoder: x = emb(src) · √d + sinusoid(pos); 6 × [x = LN(x + SelfAttn(x)); x = LN(x + FFN(x))]
    decoder, per target step t (input: the previous target word, a zero vector at t = 0):
        y = emb(prev) · √d + sinusoid(t)
        2 × [y = LN(y + SSRU(y)); y = LN(y + CrossAttn(y, enc)); y = LN(y + FFN(y))]
        p = softmax(y Embᵀ + b)                      (one embedding matrix everywhere)
    SSRU (Kim et al. 2019): f = σ(y W_f + b_f); c_t = f ⊙ c_{t-1} + (1 − f) ⊙ (y W); out = ReLU(c_t)

The decoder has no self-attention (the SSRU replaces it), so the attention a reader can look at is
the encoder's self-attention and the decoder's cross-attention (the last layer's is the alignment).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..attention import HeadSteps, attend, merge_heads, scaled_dot_product, softmax, split_heads
from ..errors import ModelFileError, RequestError
from ..formats import marian as fmt
from ..layers import layer_norm, linear, relu, sinusoidal_positions
from .taps import Taps, heads_of_out_in

EOS, UNK = 0, 1  # Marian's SentencePiece vocabularies: </s> = 0, <unk> = 1


@dataclass(frozen=True)
class Config:
    enc_layers: int = 6
    dec_layers: int = 2
    d_model: int = 256
    heads: int = 8
    d_ffn: int = 1536
    vocab: int = 32000
    ln_eps: float = 1e-6
    max_length_factor: float = 2.5  # decoding stops after this many × the source length

    @property
    def d_head(self) -> int:
        return self.d_model // self.heads

    @classmethod
    def from_yaml(cls, y: dict, file: str = "model.yml") -> "Config":
        """Check that the model is the architecture this module implements, then read its sizes."""
        expect = {"type": "transformer", "transformer-postprocess": "dan", "transformer-preprocess": "",
                  "dec-cell": "ssru", "transformer-decoder-autoreg": "rnn", "transformer-ffn-activation": "relu",
                  "transformer-ffn-depth": 2, "tied-embeddings-all": True}
        for key, want in expect.items():
            if y.get(key, want) != want:
                raise ModelFileError(file, f"unsupported Marian model: {key} is {y.get(key)!r}, this reader "
                                           f"implements {want!r}")
        def size(key: str) -> int:
            value = y.get(key)
            if key == "dim-vocabs":  # one per language; the target's is the last
                value = value[-1] if isinstance(value, list) and value else 32000 if value is None else value
            if type(value) is not int:  # 2.5 layers, 1e400 heads, a word: a damaged config
                raise ModelFileError(file, f"model.yml lacks or garbles a size: {key} is {value!r}")
            return value

        c = cls(enc_layers=size("enc-depth"), dec_layers=size("dec-depth"), d_model=size("dim-emb"),
                heads=size("transformer-heads"), d_ffn=size("transformer-dim-ffn"), vocab=size("dim-vocabs"))
        if min(c.enc_layers, c.dec_layers, c.d_model, c.heads, c.d_ffn, c.vocab) <= 0 or c.d_model % c.heads:
            raise ModelFileError(file, "model.yml has inconsistent sizes")
        return c


@dataclass
class Weights:
    emb: np.ndarray                          # (vocab, d_model): source, target and output embedding
    out_b: np.ndarray                        # (vocab,)
    enc: list[dict] = field(default_factory=list)  # per layer: name -> float32, matrices (out, in)
    dec: list[dict] = field(default_factory=list)

    @property
    def nbytes(self) -> int:
        arrays = [self.emb, self.out_b] + [a for layer in self.enc + self.dec for a in layer.values()]
        return sum(a.nbytes for a in arrays)


_ENC = ["self_Wq", "self_Wk", "self_Wv", "self_Wo", "self_bq", "self_bk", "self_bv", "self_bo",
        "self_Wo_ln_scale", "self_Wo_ln_bias", "ffn_W1", "ffn_b1", "ffn_W2", "ffn_b2",
        "ffn_ffn_ln_scale", "ffn_ffn_ln_bias"]
_DEC = [n.replace("self_", "context_") for n in _ENC] + ["rnn_W", "rnn_Wf", "rnn_bf", "rnn_ffn_ln_scale",
                                                           "rnn_ffn_ln_bias"]


def load(bin_path: str) -> tuple[Config, Weights]:
    """Config and float32 weights of a Marian model file (matrices in (out, in) order)."""
    file = fmt._base(bin_path)
    items = fmt.read(bin_path)
    cfg = Config.from_yaml(fmt.config(items, file), file)

    def get(name: str) -> np.ndarray:
        if name not in items:
            raise ModelFileError(file, f"missing weight {name!r}")
        it = items[name]
        a = fmt.matrix(it, file) if name.rsplit("_", 1)[-1].startswith("W") else fmt.values(it, file).reshape(-1)
        return a

    def check(name: str, a: np.ndarray, shape: tuple) -> np.ndarray:
        if a.shape != shape:
            raise ModelFileError(file, f"weight {name!r} has shape {a.shape}, expected {shape}")
        return a

    d, f = cfg.d_model, cfg.d_ffn
    shapes = {"W1": (f, d), "b1": (f,), "W2": (d, f)}

    def layer(prefix: str, names: list[str]) -> dict:
        out = {}
        for n in names:
            a = get(f"{prefix}_{n}")
            tail = n.rsplit("_", 1)[-1]
            want = shapes.get(tail, (d, d) if tail.startswith("W") and "ln" not in n else (d,))
            out[n] = check(f"{prefix}_{n}", a, want)
        return out

    w = Weights(emb=check("Wemb", get("Wemb"), (cfg.vocab, d)),
                out_b=check("decoder_ff_logit_out_b", get("decoder_ff_logit_out_b"), (cfg.vocab,)))
    w.enc = [layer(f"encoder_l{i + 1}", _ENC) for i in range(cfg.enc_layers)]
    w.dec = [layer(f"decoder_l{i + 1}", _DEC) for i in range(cfg.dec_layers)]
    return cfg, w


# --- pieces ----------------------------------------------------------------------------------

def embed(ids, w: Weights, cfg: Config, start: int = 0) -> np.ndarray:
    """(n, d) word embeddings × √d plus sinusoidal positions start..start+n-1."""
    x = w.emb[np.asarray(ids, dtype=np.int64)] * np.float32(math.sqrt(cfg.d_model))
    return x + sinusoidal_positions(len(x), cfg.d_model, start)


def ffn(x: np.ndarray, p: dict, eps: float) -> np.ndarray:
    h = relu(linear(x, p["ffn_W1"], p["ffn_b1"]))  # (n, d_ffn)
    return layer_norm(x + linear(h, p["ffn_W2"], p["ffn_b2"]), p["ffn_ffn_ln_scale"], p["ffn_ffn_ln_bias"], eps)


def project_kv(x_key: np.ndarray, p: dict, kind: str, heads: int) -> tuple[np.ndarray, np.ndarray]:
    """Keys and values of all heads: each (heads, k, d_head)."""
    k = split_heads(linear(x_key, p[f"{kind}_Wk"], p[f"{kind}_bk"]), heads)
    v = split_heads(linear(x_key, p[f"{kind}_Wv"], p[f"{kind}_bv"]), heads)
    return k, v


STACKS = {"self": "encoder", "context": "cross"}  # a layer kind's attention stack in results


def attention_block(x: np.ndarray, k: np.ndarray, v: np.ndarray, p: dict, kind: str, cfg: Config,
                    taps: Taps | None = None, layer: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Multi-head attention of queries x (q, d) over cached k, v, then LN(x + out); taps, if
    given, see the layer's values and may zero a head. -> (weights (heads, q, k), y (q, d),
    queries (heads, q, d_head))."""
    q = split_heads(linear(x, p[f"{kind}_Wq"], p[f"{kind}_bq"]), cfg.heads)  # (heads, q, d_head)
    weights, ctx = attend(q, k, v)  # (heads, q, k), (heads, q, d_head)
    if taps is not None:
        ctx = taps.attended(STACKS[kind], layer, v, heads_of_out_in(p[f"{kind}_Wo"], cfg.heads), ctx)
    out = linear(merge_heads(ctx), p[f"{kind}_Wo"], p[f"{kind}_bo"])
    return weights, layer_norm(x + out, p[f"{kind}_Wo_ln_scale"], p[f"{kind}_Wo_ln_bias"], cfg.ln_eps), q


def head_trace(x_query: np.ndarray, x_key: np.ndarray, p: dict, kind: str, head: int, d_head: int,
               q: np.ndarray, k: np.ndarray, v: np.ndarray) -> dict:
    """One head's inputs, its (d_model, d_head) projection slices and every attention step, from the
    q (q, d_head), k and v (k, d_head) the forward pass used. q = x_query @ w_q + b_q up to float32
    rounding (Marian's projections have biases), likewise k and v."""
    cols = slice(head * d_head, (head + 1) * d_head)
    w_q, w_k, w_v = (np.ascontiguousarray(p[f"{kind}_W{c}"][cols].T) for c in "qkv")  # (d_model, d_head)
    b_q, b_k, b_v = (p[f"{kind}_b{c}"][cols] for c in "qkv")
    steps: HeadSteps = scaled_dot_product(q, k, v)
    return {"x_query": x_query, "x_key": x_key, "w_q": w_q, "w_k": w_k, "w_v": w_v,
            "b_q": b_q, "b_k": b_k, "b_v": b_v, "steps": steps}


# --- encoder ---------------------------------------------------------------------------------

def encode(src_ids, w: Weights, cfg: Config, trace: tuple[int, int] | None = None, taps: Taps | None = None
           ) -> tuple[np.ndarray, np.ndarray, dict | None]:
    """Encoder output (S, d), self-attention (layers, heads, S, S) and, for trace=(layer, head), that head's steps."""
    _check_trace(trace, cfg.enc_layers, cfg.heads)
    _check_ids(src_ids, cfg, "source")
    x = embed(src_ids, w, cfg)  # (S, d)
    n = len(x)
    attn = np.empty((cfg.enc_layers, cfg.heads, n, n), dtype=np.float32)
    kept = None
    for i, p in enumerate(w.enc):
        k, v = project_kv(x, p, "self", cfg.heads)
        x_in = x
        attn[i], x, q = attention_block(x, k, v, p, "self", cfg, taps, i)
        if trace is not None and trace[0] == i:
            h = trace[1]
            kept = head_trace(x_in, x_in, p, "self", h, cfg.d_head, q[h], k[h], v[h])
            attn[i, h] = kept["steps"].weights  # the same numbers; this makes them bit-identical
        x = ffn(x, p, cfg.ln_eps)
    return x, attn, kept


# --- decoder ---------------------------------------------------------------------------------

def ssru(y: np.ndarray, p: dict, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The SSRU over the rows of y (t, d) in order, from cell state c (d,). -> (outputs (t, d), last cell)."""
    xw = linear(y, p["rnn_W"])  # (t, d) candidate
    f = 1 / (1 + np.exp(-linear(y, p["rnn_Wf"], p["rnn_bf"])))  # (t, d) forget gate
    out = np.empty_like(xw)
    for t in range(len(y)):  # the only recurrence: a cheap element-wise scan
        c = f[t] * c + (1 - f[t]) * xw[t]
        out[t] = c
    return relu(out), c


@dataclass
class DecoderState:
    cross_kv: list[tuple[np.ndarray, np.ndarray]]  # per layer (k, v), each (heads, S, d_head): computed once
    cells: list[np.ndarray]                        # per layer SSRU cell (d,)
    position: int = 0


def start(enc_out: np.ndarray, w: Weights, cfg: Config) -> DecoderState:
    kv = [project_kv(enc_out, p, "context", cfg.heads) for p in w.dec]
    return DecoderState(kv, [np.zeros(cfg.d_model, dtype=np.float32) for _ in w.dec])


def decode_steps(prev_ids, state: DecoderState, w: Weights, cfg: Config, queries: list | None = None,
                 taps: Taps | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Run the decoder over the target inputs prev_ids (t of them, -1 = the zero start vector),
    advancing state. -> (final states (t, d), cross-attention (layers, heads, t, S)).
    queries, if given, collects each layer's input to the cross-attention (t, d) and its
    queries (heads, t, d_head)."""
    ids = np.asarray(prev_ids, dtype=np.int64)
    y = embed(np.maximum(ids, 0), w, cfg, state.position)
    y[ids < 0] = sinusoidal_positions(len(ids), cfg.d_model, state.position)[ids < 0]  # zero embedding
    state.position += len(ids)
    S = state.cross_kv[0][0].shape[1]
    cross = np.empty((cfg.dec_layers, cfg.heads, len(ids), S), dtype=np.float32)
    for i, p in enumerate(w.dec):
        r, state.cells[i] = ssru(y, p, state.cells[i])
        y = layer_norm(y + r, p["rnn_ffn_ln_scale"], p["rnn_ffn_ln_bias"], cfg.ln_eps)
        y_in = y
        cross[i], y, q = attention_block(y, *state.cross_kv[i], p, "context", cfg, taps, i)
        if queries is not None:
            queries[i].append((y_in, q))
        y = ffn(y, p, cfg.ln_eps)
    return y, cross


def logits(y: np.ndarray, w: Weights, allowed: np.ndarray | None = None) -> np.ndarray:
    """(t, vocab) scores, or (t, len(allowed)) over the allowed target ids only."""
    if allowed is None:
        return linear(y, w.emb, w.out_b)
    return linear(y, w.emb[allowed], w.out_b[allowed])


@dataclass
class Result:
    target_ids: list[int]    # the target tokens, ending with </s> unless max_len stopped decoding
    cross: np.ndarray        # (dec_layers, heads, T, S) float32, a row per target token
    probs: np.ndarray        # (T,) probability of each chosen/forced token
    enc_attention: np.ndarray  # (enc_layers, heads, S, S)
    trace: dict | None = None  # the cross-attention head asked for


def _finish(src_ids, ids, cross_rows, probs, enc_attn, enc_out, state, queries, w, cfg, trace) -> Result:
    cross = np.concatenate(cross_rows, axis=2) if cross_rows else np.zeros(
        (cfg.dec_layers, cfg.heads, 0, len(src_ids)), np.float32)
    kept = None
    if trace is not None:
        layer, head = trace
        x_query = np.concatenate([y for y, _ in queries[layer]], axis=0)  # (T, d)
        q = np.concatenate([q for _, q in queries[layer]], axis=1)[head]  # (T, d_head)
        k, v = state.cross_kv[layer]
        kept = head_trace(x_query, enc_out, w.dec[layer], "context", head, cfg.d_head, q, k[head], v[head])
        cross[layer, head] = kept["steps"].weights  # the same numbers; this makes them bit-identical
    return Result(list(ids), cross, np.asarray(probs, dtype=np.float32), enc_attn, kept)


def _check_trace(trace, layers: int, heads: int) -> None:
    if trace is not None and not (0 <= trace[0] < layers and 0 <= trace[1] < heads):
        raise RequestError(f"trace (layer, head) must be within ({layers}, {heads}), got {trace}", "head")


def _check_ids(ids, cfg: Config, field: str) -> None:
    if len(ids) == 0:
        raise RequestError("There are no tokens to translate.", field)
    if min(ids) < 0 or max(ids) >= cfg.vocab:
        raise RequestError(f"token ids must be within 0..{cfg.vocab - 1}", field)


def translate(src_ids, w: Weights, cfg: Config, shortlist=None, max_len: int | None = None,
              trace: tuple[int, int] | None = None, taps: Taps | None = None) -> Result:
    """Greedy decoding until </s> (or max_len tokens, by default max_length_factor × the source length).
    src_ids should end with </s>. With a shortlist, only its target ids are scored (as the engine does)
    and probabilities are over those ids. taps see both stacks ("encoder", "cross")."""
    _check_trace(trace, cfg.dec_layers, cfg.heads)
    _check_ids(src_ids, cfg, "source")
    enc_out, enc_attn, _ = encode(src_ids, w, cfg, taps=taps)
    state = start(enc_out, w, cfg)
    allowed = shortlist.allowed(src_ids, cfg.vocab) if shortlist is not None else None
    max_len = max_len if max_len is not None else int(cfg.max_length_factor * len(src_ids))
    queries = [[] for _ in w.dec] if trace is not None else None
    ids, rows, probs, prev = [], [], [], -1
    while len(ids) < max_len:
        y, cross = decode_steps([prev], state, w, cfg, queries, taps)
        p = softmax(logits(y, w, allowed))[0]  # (vocab or allowed,)
        best = int(np.argmax(p))
        prev = int(allowed[best]) if allowed is not None else best
        ids.append(prev)
        rows.append(cross)
        probs.append(p[best])
        if prev == EOS:
            break
    return _finish(src_ids, ids, rows, probs, enc_attn, enc_out, state, queries, w, cfg, trace)


def force(src_ids, tgt_ids, w: Weights, cfg: Config, trace: tuple[int, int] | None = None,
          taps: Taps | None = None) -> Result:
    """Teacher forcing: run the decoder on a given target (ids, </s> appended if missing) in one pass
    and report the cross-attention and each forced token's probability (over the full vocabulary).
    taps see both stacks ("encoder", "cross")."""
    _check_trace(trace, cfg.dec_layers, cfg.heads)
    _check_ids(src_ids, cfg, "source")
    if len(tgt_ids):
        _check_ids(tgt_ids, cfg, "target")
    tgt = list(tgt_ids)
    if not tgt or tgt[-1] != EOS:
        tgt.append(EOS)
    enc_out, enc_attn, _ = encode(src_ids, w, cfg, taps=taps)
    state = start(enc_out, w, cfg)
    queries = [[] for _ in w.dec] if trace is not None else None
    y, cross = decode_steps([-1] + tgt[:-1], state, w, cfg, queries, taps)
    p = softmax(logits(y, w))  # (T, vocab)
    probs = p[np.arange(len(tgt)), tgt]
    return _finish(src_ids, tgt, [cross], probs, enc_attn, enc_out, state, queries, w, cfg, trace)
