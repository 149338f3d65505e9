"""The model registry: every model the API, the CLI and the site can run, one module each.

A model module has
    INFO                        a ModelInfo: what the model is, its shape, stacks, options, limits
    load(source)                its weights (source: a directory or file, None for the default place)
    tokenize(weights, req)      {side: [token dict]} for the request's text(s); text past the
                                model's limit goes through `first_tokens` (refused, or cut to its
                                first tokens when req["truncate"], with a note under "notes")
    files_needed(weights, tokens)  browser files the tokens need beyond the bundle's base files
    forward(weights, req, tokens, trace, on_step=None, taps=None)
                                {"attention": {stack: {weights, query, key}}, "trace", "notes", ...};
                                a model that writes its output a step at a time (an LLM generating)
                                calls on_step(the output so far) after each step; taps
                                (architectures/taps.py) record values and W_O or zero a head
    mask_token(weights)         {text, id?, special?}: what an ablated token becomes
    probe_tokens(weights, length, seed)
                                {side: tokens}: a repeated sequence of seeded random words (the
                                head-role probe, analysis/probes.py)

`trace` is None or (stack, layer, head): the head whose named intermediates to record (see
attention.HeadSteps.named). Adding a model is one module here, its entry in MODULES, its export
(tools/export_models.py) and its fixtures.
"""
from __future__ import annotations

import importlib
import json
from dataclasses import asdict, dataclass, field
from types import ModuleType
from typing import Any

from ..errors import ModelFileError, RequestError

# name -> module, imported on first use so the synthetic path never loads a real model's code
MODULES = {"synthetic": "attnviz.models.synthetic", "minilm": "attnviz.models.minilm",
           "smollm2": "attnviz.models.smollm2",
           "marian-en-pt": "attnviz.models.marian_en_pt", "marian-pt-en": "attnviz.models.marian_pt_en"}


@dataclass(frozen=True)
class ModelInfo:
    name: str                  # the id in requests, links and file paths
    label: str                 # what the page calls it
    kind: str                  # "encoder" | "decoder" | "encoder-decoder" | "hand-built"
    layers: int
    heads: int                 # query heads per layer (the synthetic model: the default of 1..16)
    kv_heads: int              # key/value heads per layer (< heads: grouped-query attention)
    d_model: int
    d_head: int
    stacks: tuple[str, ...]    # attention stacks a result holds, the default one first
    sides: tuple[str, ...]     # token lists a result holds ("text", or "source" and "target")
    options: tuple[str, ...]   # request fields beyond text/model/layer/head that apply to it
    max_tokens: int            # longest input, in the model's own tokens
    steps: tuple[str, ...]     # the named intermediates its trace records
    about: str                 # one sentence for the model list
    bundle: str | None = None  # folder of its browser files under models/ (None: nothing to download)
    stack_layers: dict[str, int] = field(default_factory=dict)  # stacks with another layer count
    named_heads: tuple[tuple[str, int, int, str], ...] = ()  # (stack, layer, head, what it is known for)

    def layers_of(self, stack: str) -> int:
        return self.stack_layers.get(stack, self.layers)

    def as_dict(self) -> dict:
        return asdict(self)


# Numeric options whose upper bound a reader can run into (request.FIELDS holds the bounds).
LIMITED_OPTIONS = ("generate", "heads", "pad_to")


def limits(info: ModelInfo) -> dict[str, int]:
    """What one request may ask of a model, for the model index (pages show the limits before a
    reader runs into them) and the model page: characters of each text, the model's own tokens
    (max_tokens), and the upper bound of each limited option the model takes."""
    from ..request import FIELDS  # request imports this module: looked up when asked
    from ..tokenizers.words import MAX_CHARS
    out = {"characters": MAX_CHARS, "tokens": info.max_tokens}
    out.update({option: FIELDS[option][2][1] for option in LIMITED_OPTIONS if option in info.options})
    return out


BROWSER_ROOT = "/models"  # where the worker writes each bundle, in Pyodide's file system


def browser_dir(info: ModelInfo) -> str:
    return f"{BROWSER_ROOT}/{info.bundle}"


def module(name: str) -> ModuleType:
    """The module of a model by name; RequestError for a name not in the registry."""
    if name not in MODULES:
        raise RequestError(f"Unknown model \"{name}\". Choose one of: {', '.join(MODULES)}.", "model")
    return importlib.import_module(MODULES[name])


def info(name: str) -> ModelInfo:
    return module(name).INFO


def all_info() -> list[ModelInfo]:
    return [info(name) for name in MODULES]


_loaded: dict[tuple[str, str | None], Any] = {}


def unreadable(name: str, exc: ModelFileError) -> RequestError:
    """A missing or damaged file as the reader is told of it: a `model` error naming the file."""
    return RequestError(f"{info(name).label} could not be loaded: {exc}", "model")


def load(name: str, source: str | None = None) -> Any:
    """A model's weights, read once per process and source (a bad file: see `unreadable`)."""
    key = (name, source)
    if key not in _loaded:
        try:
            _loaded[key] = module(name).load(source)
        except ModelFileError as exc:
            raise unreadable(name, exc) from exc
    return _loaded[key]


def unload(name: str) -> None:
    """Forget a model's weights and the tokens remembered for it (the worker keeps one large model
    in memory at a time: loading another unloads this one)."""
    for key in [k for k in _loaded if k[0] == name]:
        del _loaded[key]
    for key in [k for k in _token_cache if k[0] == name]:
        del _token_cache[key]


# Request fields that choose what is shown of a model's output, not what it reads or computes.
# The analyses' fields are among them: an analysis that reruns the model does so on its own.
VIEW_FIELDS = ("stack", "layer", "head", "top_k", "intermediates", "hide", "analysis", "rollout_heads",
               "ablate_token", "ablate_head", "query", "key", "sentences")
_token_cache: dict[tuple, dict] = {}
TOKEN_CACHE_SIZE = 8


def tokenize(name: str, weights: Any, req: dict) -> tuple[dict[str, list[dict]], list[str]]:
    """({side: tokens}, notes on any text cut to the model's limit) for a request, remembered for
    the last few requests: the worker asks which files a request needs and then runs it, and the
    text is tokenized once for both."""
    key = (name, id(weights), json.dumps({k: v for k, v in req.items() if k not in VIEW_FIELDS}, sort_keys=True))
    if key not in _token_cache:
        if len(_token_cache) >= TOKEN_CACHE_SIZE:
            _token_cache.pop(next(iter(_token_cache)))
        try:
            _token_cache[key] = tokens_and_notes(module(name), weights, req)
        except ModelFileError as exc:  # damage found only by a text that reaches it (a normaliser rule)
            raise unreadable(name, exc) from exc
    return _token_cache[key]


def tokens_and_notes(model: ModuleType, weights: Any, req: dict) -> tuple[dict[str, list[dict]], list[str]]:
    """A model module's tokenize, with its notes (on text cut to the limit) apart from the token lists."""
    tokens = dict(model.tokenize(weights, req))
    return tokens, tokens.pop("notes", [])


FIELD_NAMES = {"text": "text", "source": "source text"}


def first_tokens(tokens: list[dict], limit: int, req: dict, info: ModelInfo, *, field: str = "text",
                 unit: str = "tokens", start: int = 0, end: int = 0, reserved: int = 0,
                 notes: list[str] | None = None) -> list[dict]:
    """`tokens` within the model's limit. Past it, with req["truncate"]: the first ones that fit
    (the `start` leading and `end` trailing special tokens, such as [CLS] and [SEP], kept) and a
    note appended to `notes`; without: a RequestError that offers exactly that.
    `reserved`: places the limit keeps for other tokens (those an LLM is asked to generate)."""
    room = limit - reserved
    if len(tokens) <= room:
        return tokens
    what = FIELD_NAMES.get(field, field)
    kept = room - start - end
    if kept < 1:
        raise RequestError(f"{info.label} takes at most {limit} {unit} here, and {reserved} are asked "
                           f"for generation: ask for fewer.", "generate")
    if not req["truncate"]:
        raise RequestError(f"The {what} makes {len(tokens):,} {unit}; the limit is {room} for {info.label}. "
                           f"Shorten it, or use its first {room}.", field, {"tokens": len(tokens), "limit": room})
    body = tokens[start:len(tokens) - end]
    cut = tokens[:start] + body[:kept] + tokens[len(tokens) - end:]
    last = body[kept - 1]
    if notes is not None:
        notes.append(f"Only the first {room} of the {what}'s {len(tokens):,} {unit} are read ({info.label}'s limit"
                     f"{f' with {reserved} to generate' if reserved else ''}): up to “{last['text']}”, "
                     f"character {last['end']:,}.")
    return cut
