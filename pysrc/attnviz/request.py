"""Validation of contract requests: every field checked, defaults filled in, messages a person
understands. Schema 3 (schema 1 and 2 requests, whose fields are a subset, are read the same way).
Which fields apply to which model comes from the registry (ModelInfo.options)."""
from __future__ import annotations

from . import models
from .errors import RequestError

SCHEMA = 3
READS = (1, 2, 3)
MODES = ("self", "cross")
# The analyses a request can ask for (attnviz.analysis); the CLI also takes them with hyphens.
ANALYSES = ("roles", "rollout", "flow", "value_norm", "ablate", "neuron", "qk_map")
ROLLOUT_HEADS = ("mean", "each")
MAX_SENTENCES = 8

# field: (types, default, check or None, description for messages)
FIELDS: dict[str, tuple] = {
    "schema": (int, SCHEMA, None, "the schema version"),
    "text": (str, None, None, "the text"),
    "mode": (str, "self", None, '"self" or "cross"'),
    "source": (str, "", None, "the source text"),
    "model": (str, "synthetic", None, "a model name"),
    "heads": (int, 8, (1, 16), "a whole number from 1 to 16"),
    "seed": (int, 0, (0, 2**31 - 1), "a whole number from 0 to 2147483647"),
    "causal": (bool, False, None, "true or false"),
    "temperature": ((int, float), 1.0, (0.05, 10.0), "a number from 0.05 to 10"),
    "pad_to": (int, 0, (0, 512), "a whole number from 0 to 512"),
    "intermediates": (bool, False, None, "true or false"),
    "stack": (str, "", None, "an attention stack of the model"),
    "layer": (int, 0, (0, 63), "a layer number"),
    "head": (int, 0, (0, 63), "a head number"),
    "hide_special": (bool, False, None, "true or false"),
    "merge_subwords": (bool, False, None, "true or false"),
    "top_k": (int, 10, (1, 100), "a whole number from 1 to 100"),
    "target": (str, "", None, "your own translation of the text"),
    "generate": (int, 0, (0, 20), "a whole number of tokens from 0 to 20"),
    "chat": (bool, False, None, "true or false"),
    "hide_first": (bool, False, None, "true or false"),
    "analysis": (str, "", None, f"one of {', '.join(ANALYSES)} (or empty for none)"),
    "rollout_heads": (str, "mean", None, '"mean" or "each"'),
    "hide": (list, [], None, "a list of token positions"),
    "ablate_token": (int, -1, (-1, 4095), "a token position (or -1 for none)"),
    "ablate_head": (bool, False, None, "true or false"),
    "query": (int, 0, (0, 4095), "a query token position"),
    "key": (int, 0, (0, 4095), "a key token position"),
    "sentences": (list, [], None, f"a list of at most {MAX_SENTENCES} texts"),
    "truncate": (bool, False, None, "true or false"),  # text past the model's limit: read its first tokens
}
# The type every element of a list field must have.
LIST_ITEMS = {"hide": (int, "whole numbers"), "sentences": (str, "texts")}
# What a person calls an option, for the note saying it does not apply to a model.
OPTION_NAMES = {"mode": "cross-attention between two texts", "source": "a source text", "heads": "the number of heads",
                "seed": "the seed", "causal": "the causal mask", "temperature": "temperature", "pad_to": "padding",
                "hide_special": "hiding special tokens", "merge_subwords": "merging word pieces",
                "target": "a translation of your own", "generate": "generation", "chat": "the chat template",
                "hide_first": "hiding the first token"}


def _type_name(value: object) -> str:
    return {bool: "true/false", int: "a whole number", float: "a number", str: "text", list: "a list",
            dict: "an object", type(None): "null"}.get(type(value), type(value).__name__)


def _checked(name: str, value: object) -> object:
    types, default, bounds, what = FIELDS[name]
    if value is None:
        raise RequestError(f"'{name}' is required: give {what}." if default is None
                           else f"'{name}' must be {what}, not null.", name)
    # bool is a subclass of int in Python: refuse true/false where a number is expected
    if not isinstance(value, types) or (isinstance(value, bool) and types is not bool):
        raise RequestError(f"'{name}' must be {what}, not {_type_name(value)}.", name)
    if bounds and not (bounds[0] <= value <= bounds[1]):
        raise RequestError(f"'{name}' must be {what} (got {value}).", name)
    if name in LIST_ITEMS:
        kind, kinds = LIST_ITEMS[name]
        if any(not isinstance(v, kind) or isinstance(v, bool) for v in value):
            raise RequestError(f"'{name}' must be {what}: {kinds} only.", name)
        return list(value)
    return float(value) if name == "temperature" else value


def normalise(request: dict) -> tuple[dict, list[str]]:
    """A complete request with defaults and the notes on what was ignored, or RequestError naming
    the bad field. Fields that do not apply to the chosen model are reset to their defaults."""
    unknown = sorted(set(request) - set(FIELDS))
    if unknown:
        raise RequestError(f"Unknown field '{unknown[0]}' (known: {', '.join(FIELDS)}).", unknown[0])
    req = {name: _checked(name, request.get(name, spec[1])) for name, spec in FIELDS.items()}
    if req["schema"] not in READS:
        raise RequestError(f"This attnviz speaks schema {SCHEMA}, not {req['schema']}.", "schema")
    req["schema"] = SCHEMA
    req["analysis"] = req["analysis"].replace("-", "_")
    if req["analysis"] not in ("",) + ANALYSES:
        raise RequestError(f"'analysis' must be one of {', '.join(ANALYSES)}, not \"{req['analysis']}\".", "analysis")
    if req["rollout_heads"] not in ROLLOUT_HEADS:
        raise RequestError(f"'rollout_heads' must be \"mean\" or \"each\", not \"{req['rollout_heads']}\".",
                           "rollout_heads")
    if len(req["sentences"]) > MAX_SENTENCES:
        raise RequestError(f"'sentences' holds at most {MAX_SENTENCES} texts (got {len(req['sentences'])}).",
                           "sentences")
    if any(i < 0 for i in req["hide"]):
        raise RequestError("'hide' must list token positions from 0 up.", "hide")
    req["hide"] = sorted(set(req["hide"]))
    if req["mode"] not in MODES:
        raise RequestError(f"'mode' must be \"self\" or \"cross\", not \"{req['mode']}\".", "mode")
    info = models.info(req["model"])
    if req["mode"] == "cross" and "mode" not in info.options:
        raise RequestError(f"{info.label} has no cross-attention between two texts you type: switch the "
                           "attention to self, or choose a model that has it.", "mode")
    if req["mode"] == "cross" and not req["source"].strip():
        raise RequestError("Cross-attention needs a source text for the keys and values: type one.", "source")
    notes = []
    for name, what in OPTION_NAMES.items():
        if name not in info.options and name != "source" and req[name] != FIELDS[name][1]:
            notes.append(f"{what[0].upper()}{what[1:]} does not apply to {info.label}; it is left out.")
            req[name] = FIELDS[name][1]
    check_head(req, info)
    return req, notes


def check_head(req: dict, info: models.ModelInfo) -> None:
    """Fill in the stack (cross in cross mode, else the model's first) and check that the stack,
    layer and head exist in the model (the synthetic model's heads vary)."""
    stack = req["stack"] = req["stack"] or ("cross" if req["mode"] == "cross" else info.stacks[0])
    # a model with two modes (the synthetic one) holds one stack at a time: the mode's
    stacks = (req["mode"],) if "mode" in info.options else info.stacks
    if stack not in stacks:
        raise RequestError(f"There is no '{stack}' attention here; choose {' or '.join(stacks)}.", "stack")
    layers = info.layers_of(stack)
    heads = req["heads"] if "heads" in info.options else info.heads
    if req["layer"] >= layers:
        raise RequestError(f"{info.label} has {layers} layer{'s' * (layers > 1)}: 'layer' must be 0"
                           f"{f'-{layers - 1}' if layers > 1 else ''}.", "layer")
    if req["head"] >= heads:
        raise RequestError(f"{info.label} has {heads} heads per layer: 'head' must be below {heads}.", "head")
