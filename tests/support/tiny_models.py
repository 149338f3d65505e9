"""Tiny models with the real architectures, written by the tests themselves in the real file
formats: a 2-layer Llama as GGUF (with a byte-level BPE vocabulary) and a Marian transformer as
Marian's .bin. The unit tests and the fuzzers start from these."""
from __future__ import annotations

import struct

import numpy as np

from attnviz.formats import gguf
from attnviz.formats import marian as fmt

TINY = {"general.architecture": "llama", "llama.block_count": 2, "llama.embedding_length": 32,
        "llama.feed_forward_length": 64, "llama.attention.head_count": 4, "llama.attention.head_count_kv": 2,
        "llama.rope.freq_base": 10000.0, "llama.attention.layer_norm_rms_epsilon": 1e-5,
        "llama.context_length": 64, "llama.vocab_size": 40}


def tiny_file(metadata: dict = TINY) -> bytes:
    """A random 2-layer Llama (d_model 32, 4 query heads and 2 key/value heads of 8, vocab 40),
    the big matrices in Q8_0 and Q4_1 as in real files."""
    rng = np.random.default_rng(0)
    d, ff, dkv, vocab = 32, 64, 16, 40
    tensors = {}

    def add(name, shape, ggml_type=gguf.F32, scale=0.3):
        x = rng.standard_normal(shape).astype(np.float32) * scale
        tensors[name] = (ggml_type, shape, gguf.quantize(x, ggml_type))

    add("token_embd.weight", (vocab, d), gguf.Q8_0, 1.0)
    for i in range(2):
        p = f"blk.{i}."
        add(p + "attn_norm.weight", (d,), scale=1.0)
        add(p + "ffn_norm.weight", (d,), scale=1.0)
        add(p + "attn_q.weight", (d, d), gguf.Q4_1)
        add(p + "attn_k.weight", (dkv, d), gguf.Q4_1)
        add(p + "attn_v.weight", (dkv, d))
        add(p + "attn_output.weight", (d, d))
        add(p + "ffn_gate.weight", (ff, d), gguf.F16)
        add(p + "ffn_up.weight", (ff, d))
        add(p + "ffn_down.weight", (d, ff))
    add("output_norm.weight", (d,), scale=1.0)
    return gguf.write(metadata, tensors)


TINY_YML = """type: transformer
enc-depth: 1
dec-depth: 2
dim-emb: 8
transformer-heads: 2
transformer-dim-ffn: 16
transformer-ffn-activation: relu
transformer-ffn-depth: 2
transformer-postprocess: dan
transformer-preprocess: ""
transformer-decoder-autoreg: rnn
dec-cell: ssru
tied-embeddings-all: true
dim-vocabs:
  - 12
  - 12
"""


def quantised(name: str, w_out_in: np.ndarray) -> tuple:
    """An intgemm8 `*_W*` item as the browser models store it: the (out, in) matrix's bytes under
    Marian's (in, out) shape (Wemb, not transposed, keeps its (vocab, d) shape)."""
    mult = 127.0 / max(float(np.abs(w_out_in).max()), 1e-6)
    q = np.clip(np.round(w_out_in * mult), -127, 127).astype(np.int8)
    if name != "Wemb":
        q = q.reshape(w_out_in.shape[1], w_out_in.shape[0])  # same bytes, Marian's (in, out) shape
    return (name, fmt.INTGEMM8, q, mult)


def tiny_model(seed: int = 0, yml: str = TINY_YML) -> bytes:
    """A random model with the real architecture and tiny sizes: d 8, 2 heads, vocab 12."""
    rng = np.random.default_rng(seed)
    d, f, v = 8, 16, 12
    items = [quantised("Wemb", rng.normal(0, 0.5, (v, d))),
             ("decoder_ff_logit_out_b", fmt.FLOAT32, rng.normal(0, 0.1, (1, v)))]

    def layer(prefix: str, kind: str, rnn: bool) -> None:
        for m in "qkvo":
            items.append(quantised(f"{prefix}_{kind}_W{m}", rng.normal(0, 0.4, (d, d))))
            items.append((f"{prefix}_{kind}_b{m}", fmt.FLOAT32, rng.normal(0, 0.1, (1, d))))
        items.append((f"{prefix}_{kind}_Wo_ln_scale", fmt.FLOAT16, 1 + rng.normal(0, 0.1, (1, d))))
        items.append((f"{prefix}_{kind}_Wo_ln_bias", fmt.FLOAT32, rng.normal(0, 0.1, (1, d))))
        items.extend([quantised(f"{prefix}_ffn_W1", rng.normal(0, 0.4, (f, d))),
                  (f"{prefix}_ffn_b1", fmt.FLOAT32, rng.normal(0, 0.1, (1, f))),
                  quantised(f"{prefix}_ffn_W2", rng.normal(0, 0.4, (d, f))),
                  (f"{prefix}_ffn_b2", fmt.FLOAT32, rng.normal(0, 0.1, (1, d))),
                  (f"{prefix}_ffn_ffn_ln_scale", fmt.FLOAT32, np.ones((1, d))),
                  (f"{prefix}_ffn_ffn_ln_bias", fmt.FLOAT32, np.zeros((1, d)))])
        if rnn:
            items.extend([quantised(f"{prefix}_rnn_W", rng.normal(0, 0.4, (d, d))),
                      quantised(f"{prefix}_rnn_Wf", rng.normal(0, 0.4, (d, d))),
                      (f"{prefix}_rnn_bf", fmt.FLOAT32, rng.normal(0, 0.1, (1, d))),
                      (f"{prefix}_rnn_ffn_ln_scale", fmt.FLOAT32, np.ones((1, d))),
                      (f"{prefix}_rnn_ffn_ln_bias", fmt.FLOAT32, np.zeros((1, d)))])

    layer("encoder_l1", "self", False)
    layer("decoder_l1", "context", True)
    layer("decoder_l2", "context", True)
    items.append(("none_QuantMultA", fmt.FLOAT32, np.ones((1, 1))))
    items.append(("special:model.yml", fmt.INT8, yml))
    return fmt.write(None, items)


# A byte-level BPE vocabulary of 40 tokens (the tiny Llama's vocab_size): <|endoftext|>, 26 letters,
# "Ġ" (a space), "." and ",", and ten merges.
MERGES = ["Ġ t", "t h", "Ġt h", "h e", "Ġth e", "a t", "Ġ c", "Ġc at", "i n", "a n"]
TOKENIZER = {"tokenizer.ggml.model": "gpt2",
             "tokenizer.ggml.tokens": ["<|endoftext|>", *"abcdefghijklmnopqrstuvwxyz", "Ġ", ".", ","]
             + [m.replace(" ", "") for m in MERGES],
             "tokenizer.ggml.merges": MERGES,
             "tokenizer.ggml.token_type": [3] + [1] * 39,
             "tokenizer.ggml.eos_token_id": 0}


def tiny_llama_file() -> bytes:
    """The tiny Llama with its vocabulary: a file smollm2.load (and the CLI's --weights) reads whole."""
    return tiny_file({**TINY, **TOKENIZER})


# --- SentencePiece models (protobuf ModelProto), by hand ---------------------------------------

def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def field(number: int, payload: bytes | int, wire: int = 2) -> bytes:
    if wire == 0:
        return varint(number << 3) + varint(payload)
    if wire == 5:
        return varint(number << 3 | 5) + payload
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def model(pieces: list[tuple[str, float, int]], byte_fallback: bool = False) -> bytes:
    body = b"".join(field(1, field(1, p.encode()) + field(2, struct.pack("<f", s), 5) + field(3, t, 0))
                    for p, s, t in pieces)
    trainer = field(3, 1, 0) + (field(35, 1, 0) if byte_fallback else b"")
    return body + field(2, trainer) + field(3, field(1, b"identity"))


# A vocabulary for the tiny Marian model (12 ids, </s> = 0 and <unk> = 1 as Marian's are).
TINY_PIECES = [("</s>", 0.0, 3), ("<unk>", 0.0, 2), ("▁the", -1.0, 1), ("▁cat", -1.5, 1), ("▁", -3.0, 1),
               ("t", -4.0, 1), ("h", -4.0, 1), ("e", -4.0, 1), ("c", -4.0, 1), ("a", -4.0, 1),
               ("▁a", -2.0, 1), ("s", -4.0, 1)]
