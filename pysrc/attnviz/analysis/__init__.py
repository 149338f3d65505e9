"""Analyses that look inside a model's heads beyond the raw weights, one module each:

    roles       head roles measured on a repeated random sequence (roles.py, probes.py)
    rollout     attention rollout through the layers (rollout.py)
    flow        attention flow: maximum flow through the layered attention graph (flow.py)
    value_norm  value-weighted attention ‖α_ij · v_j W_O^h‖ (value_norm.py)
    ablate      a token masked or a head zeroed, rerun, and what changed (ablate.py)
    neuron      q and k of one head for one pair, element by element (neuron.py)
    qk_map      queries and keys of one head over several sentences in 2-D (qk_map.py)

Each module's `result(ctx)` answers a request: the result keys it adds, or RequestError (field
"analysis" or the field at fault) when it does not apply to the model or the stack in view.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType

import numpy as np

from ..architectures.taps import Taps
from ..errors import RequestError
from ..views import hide_positions

# Model options that change which tokens are shown (drop or merge them): index-based analyses
# read the model's own tokens and ask for `hide` instead.
TOKEN_VIEWS = ("hide_special", "merge_subwords", "hide_first")
# Model options that only change what is shown, reset when an analysis reruns the model on probes.
VIEW_RESETS = {"hide_special": False, "merge_subwords": False, "hide_first": False, "generate": 0, "chat": False,
               "pad_to": 0, "target": ""}


@dataclass
class Context:
    req: dict            # the normalised request
    model: ModuleType    # the model's registry module
    weights: object      # its loaded weights
    tokens: dict         # {side: tokens} as the model read them
    raw: dict            # the forward pass's output (the model's own views applied, `hide` not)
    shown: dict          # {side: tokens} as the result shows them (hidden ones marked)

    @property
    def info(self):
        return self.model.INFO

    def stack(self, name: str | None = None) -> dict:
        """{weights (layers, heads, q, k), query, key} of a stack (default: the one in view)."""
        return self.raw["attention"][name or self.req["stack"]]

    def self_attention(self, what: str) -> dict:
        """The stack in view, which must be a self-attention stack (queries and keys one text)."""
        stack = self.stack()
        if stack["query"] != stack["key"]:
            others = [n for n, s in self.raw["attention"].items() if s["query"] == s["key"]]
            hint = f" Choose the {others[0]} stack." if others else ""
            raise RequestError(f"{what} needs a self-attention stack; '{self.req['stack']}' attends from one text "
                               f"to another.{hint}", "stack")
        return stack

    def own_tokens(self, what: str) -> None:
        """Refuse views that drop or merge tokens, for analyses that work on the model's own tokens."""
        on = [name for name in TOKEN_VIEWS if self.req.get(name)]
        if on:
            raise RequestError(f"{what} works on the model's own tokens: turn off '{on[0]}' (use 'hide' to hide "
                               "tokens instead).", on[0])

    def rerun(self, tokens: dict | None = None, taps: Taps | None = None, trace: tuple | None = None,
              **changes) -> dict:
        """The model's forward pass again, on other tokens, with taps or a trace, or other options."""
        return self.model.forward(self.weights, {**self.req, **changes}, tokens or self.tokens, trace, taps=taps)

    def hidden(self, maps: np.ndarray, stack: dict, renormalise: bool = True) -> np.ndarray:
        """`hide` applied to a (..., q, k) map of a stack as to its attention: hidden tokens' rows
        and columns 0, rows renormalised (unless the map's rows are not distributions)."""
        if not self.req["hide"]:
            return maps
        rows, cols = hidden_positions(self.req, self.raw["attention"], stack)
        return hide_positions(maps, rows, cols, renormalise)


def hide_side(req: dict, attention: dict) -> str:
    """The token list `hide` numbers: the one the keys of the stack in view come from."""
    return attention[req["stack"]]["key"]


def hidden_positions(req: dict, attention: dict, stack: dict) -> tuple[list[int], list[int]]:
    """The rows and columns of a stack that `hide` hides: its rows where its queries come from the
    hidden tokens' list, its columns where its keys do."""
    side = hide_side(req, attention)
    return (req["hide"] if stack["query"] == side else []), (req["hide"] if stack["key"] == side else [])


MODULES = {"roles": "roles", "rollout": "rollout", "flow": "flow", "value_norm": "value_norm", "ablate": "ablate",
           "neuron": "neuron", "qk_map": "qk_map"}


def module(name: str) -> ModuleType:
    return importlib.import_module(f"{__name__}.{MODULES[name]}")


def tokens_needed(req: dict, model: ModuleType, weights: object, tokens: dict) -> list[dict]:
    """The other token lists ({side: tokens}) the request's analysis runs the model on (a probe, a
    masked token, other sentences): in the browser, their files are fetched before it runs."""
    needed = getattr(module(req["analysis"]), "tokens_needed", None) if req["analysis"] else None
    return needed(req, model, weights, tokens) if needed else []


def run(ctx: Context) -> dict:
    """The result keys of the analysis the request names."""
    return module(ctx.req["analysis"]).result(ctx)
