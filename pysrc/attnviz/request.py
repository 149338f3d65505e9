"""Validation of contract requests: every field checked, defaults filled in, messages a person
understands. Schema version 1 (see api.py for the fields)."""
from __future__ import annotations

from .errors import RequestError

SCHEMA = 1
MODELS = ("synthetic", "minilm")
MODES = ("self", "cross")

# field: (types, default, check or None, description for messages)
FIELDS: dict[str, tuple] = {
    "schema": (int, SCHEMA, None, "the schema version"),
    "text": (str, None, None, "the text"),
    "mode": (str, "self", None, '"self" or "cross"'),
    "source": (str, "", None, "the source text"),
    "model": (str, "synthetic", None, '"synthetic" or "minilm"'),
    "heads": (int, 8, (1, 16), "a whole number from 1 to 16"),
    "seed": (int, 0, (0, 2**31 - 1), "a whole number from 0 to 2147483647"),
    "causal": (bool, False, None, "true or false"),
    "temperature": ((int, float), 1.0, (0.05, 10.0), "a number from 0.05 to 10"),
    "pad_to": (int, 0, (0, 512), "a whole number from 0 to 512"),
    "intermediates": (bool, False, None, "true or false"),
    "layer": (int, 0, (0, 63), "a layer number"),
    "head": (int, 0, (0, 63), "a head number"),
    "hide_special": (bool, False, None, "true or false"),
    "merge_subwords": (bool, False, None, "true or false"),
    "top_k": (int, 10, (1, 100), "a whole number from 1 to 100"),
}


def _type_name(value: object) -> str:
    return {bool: "true/false", int: "a whole number", float: "a number", str: "text", list: "a list",
            dict: "an object", type(None): "null"}.get(type(value), type(value).__name__)


def normalise(request: dict) -> dict:
    """Return a complete request with defaults, or raise RequestError naming the bad field."""
    unknown = sorted(set(request) - set(FIELDS))
    if unknown:
        raise RequestError(f"Unknown field '{unknown[0]}'. Known fields: {', '.join(FIELDS)}.", unknown[0])
    out: dict = {}
    for name, (types, default, bounds, what) in FIELDS.items():
        value = request.get(name, default)
        if value is None:
            raise RequestError(f"'{name}' is required: give {what}." if default is None
                               else f"'{name}' must be {what}, not null.", name)
        # bool is a subclass of int in Python: refuse true/false where a number is expected
        ok_type = isinstance(value, types) and not (isinstance(value, bool) and types is not bool)
        if not ok_type:
            raise RequestError(f"'{name}' must be {what}, not {_type_name(value)}.", name)
        if bounds and not (bounds[0] <= value <= bounds[1]):
            raise RequestError(f"'{name}' must be {what} (got {value}).", name)
        out[name] = float(value) if name == "temperature" else value
    if out["schema"] != SCHEMA:
        raise RequestError(f"This attnviz speaks schema {SCHEMA}, not {out['schema']}.", "schema")
    if out["mode"] not in MODES:
        raise RequestError(f"'mode' must be \"self\" or \"cross\", not \"{out['mode']}\".", "mode")
    if out["model"] not in MODELS:
        raise RequestError(f"Unknown model \"{out['model']}\". Choose \"synthetic\" or \"minilm\".", "model")
    if out["mode"] == "cross" and not out["source"].strip():
        raise RequestError("Cross-attention needs a source text for the keys and values: type one.", "source")
    return out
