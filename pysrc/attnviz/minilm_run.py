"""Run a request on the real pretrained MiniLM-L6 (see the minilm package)."""
from __future__ import annotations

from . import minilm
from .errors import RequestError


def compute(req: dict, model_dir: str | None) -> dict:
    """Weights (6, 12, q, k) of every layer and head, tokens, and intermediates when asked."""
    if req["mode"] == "cross":
        raise RequestError("MiniLM is an encoder: it only has self-attention. Switch to the synthetic "
                           "model for cross-attention.", "mode")
    notes = []
    if req["causal"]:
        notes.append("MiniLM reads in both directions, as it was trained: the causal mask is not applied.")
    if req["temperature"] != 1.0:
        notes.append("Temperature applies to the synthetic model; MiniLM is shown as trained (T = 1).")
    if req["pad_to"]:
        notes.append("Padding applies to the synthetic model only.")
    if not 0 <= req["layer"] < minilm.LAYERS or not 0 <= req["head"] < minilm.HEADS:
        raise RequestError(f"MiniLM has {minilm.LAYERS} layers of {minilm.HEADS} heads: 'layer' must be "
                           f"0-{minilm.LAYERS - 1} and 'head' 0-{minilm.HEADS - 1}.",
                           "layer" if req["layer"] >= minilm.LAYERS else "head")
    try:
        out = minilm.run(req["text"], model_dir, intermediates=req["intermediates"], layer=req["layer"],
                         head=req["head"])
    except ValueError as exc:  # tokenizer limits and unreadable weights say what is wrong
        raise RequestError(str(exc), "text") from exc
    weights, tokens = out["weights"], out["tokens"]  # (layers, heads, q, q)
    if req["hide_special"]:
        weights, tokens = minilm.hide_special(weights, tokens)
        notes.append("[CLS] and [SEP] are hidden and each row is renormalised to sum to 1.")
    if req["merge_subwords"]:
        weights, tokens = minilm.merge_subwords(weights, tokens)
        notes.append("Word pieces are merged: attention to a word is the sum over its pieces, "
                     "attention from a word the mean over its pieces.")
    layers, heads = weights.shape[:2]
    return {"model": out["model"], "query_tokens": tokens, "key_tokens": tokens, "weights": weights,
            "roles": [{} for _ in range(layers * heads)], "notes": notes,
            "intermediates": out.get("intermediates")}
