"""Ablation (as exBERT masks a token, and as circuits work zeroes a head): change one thing, run
the model again, and show what changed — every stack's attention after, its difference from
before, and what the model says after (a causal LM's next-token probabilities, a translator's
translation). Two kinds:

    token   the token at ablate_token (in the list the keys of the stack in view come from) becomes
            the model's mask/unknown token (models' mask_token: [MASK], <unk>, <|endoftext|>)
    head    the output of the head in view (stack, layer, head) becomes 0 before W_O: the weights of
            its own layer do not change, those of every later layer (and of stacks reading it) may
"""
from __future__ import annotations

import numpy as np

from ..architectures.taps import Taps
from ..errors import RequestError
from . import hide_side


def masked_tokens(req: dict, model, weights, tokens: dict, side: str) -> dict:
    """The request's tokens with the one at ablate_token replaced by the model's mask token."""
    i = req["ablate_token"]
    if i >= len(tokens[side]):
        raise RequestError(f"'ablate_token' is {i}, but there are {len(tokens[side])} tokens (0-{len(tokens[side]) - 1}).",
                           "ablate_token")
    replaced = {**tokens[side][i], "special": False, **model.mask_token(weights)}
    return {**tokens, side: tokens[side][:i] + [replaced] + tokens[side][i + 1:]}


def tokens_needed(req: dict, model, weights, tokens: dict) -> list[dict]:
    if req["ablate_token"] < 0:
        return []
    side = model.INFO.sides[0] if len(tokens) == 1 else _key_side(req, model)
    try:
        return [masked_tokens(req, model, weights, tokens, side)]
    except RequestError:
        return []  # the run itself says so


def _key_side(req: dict, model) -> str:
    """The token list the keys of the stack in view come from, before the model has run (the
    registry's sides: a translator's keys are its source, a cross stack's the second text)."""
    return "source" if "source" in model.INFO.sides and (req["mode"] == "cross" or "target" in model.INFO.sides) \
        else "text"


def result(ctx) -> dict:
    req = ctx.req
    token, head = req["ablate_token"] >= 0, req["ablate_head"]
    if token == head:
        raise RequestError("Ablation needs one thing to change: a token ('ablate_token', a position) or the head in "
                           "view ('ablate_head': true), not " + ("both." if token else "neither."), "analysis")
    if token:
        ctx.own_tokens("Ablating a token")
        side = hide_side(req, ctx.raw["attention"])
        after = ctx.rerun(tokens=masked_tokens(req, ctx.model, ctx.weights, ctx.tokens, side))
        about = {"what": "token", "side": side, "token": req["ablate_token"],
                 "replaced": ctx.tokens[side][req["ablate_token"]]["text"],
                 "replacement": ctx.model.mask_token(ctx.weights)["text"]}
    else:
        after = ctx.rerun(taps=Taps(zero=(req["stack"], req["layer"], req["head"])))
        about = {"what": "head", "stack": req["stack"], "layer": req["layer"], "head": req["head"]}
    attention, difference, notes = {}, {}, []
    for name, stack in after["attention"].items():
        weights = ctx.hidden(stack["weights"], stack)
        attention[name] = {**stack, "weights": weights}
        before = ctx.hidden(ctx.raw["attention"][name]["weights"], ctx.raw["attention"][name])
        if before.shape == weights.shape:
            difference[name] = (weights - before).astype(np.float32)  # (layers, heads, q, k)
        else:
            notes.append(f"The {name} stack has other tokens after the ablation (the model wrote another "
                         "output), so it has no difference map.")
    if difference and not any(d.any() for d in difference.values()):
        notes.append("No attention weight changed: only layers after the ablated head's own (and stacks that read "
                     "its output) can change, and this model has none.")
    out = {**about, "attention": attention, "difference": difference, "notes": notes}
    for extra in ("next_tokens", "translation", "generated"):
        if extra in after:
            out[extra] = after[extra]
    if "tokens" in after:
        out["tokens"] = after["tokens"]
    return {"ablate": out}
