"""Small numeric experiments behind the articles' widgets: the softmax/temperature playground and
the sqrt(d_k) variance demo. Same contract style as api.run: a request dict in, a result dict out,
bad input answered with {"ok": False, "error": {...}} rather than an exception."""
from __future__ import annotations

import math

import numpy as np

from .attention import softmax
from .errors import error_result

SCHEMA = 1
MAX_SCORES = 12
MAX_SAMPLES = 20_000
MAX_DIM = 4096


class DemoError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _number_list(request: dict, field: str, *, lo: float, hi: float, max_len: int, integer: bool = False) -> list:
    value = request.get(field)
    if not isinstance(value, list) or not value:
        raise DemoError(field, f"'{field}' must be a non-empty list of numbers.")
    if len(value) > max_len:
        raise DemoError(field, f"'{field}' can have at most {max_len} entries (got {len(value)}).")
    kind = int if integer else (int, float)
    for v in value:
        if isinstance(v, bool) or not isinstance(v, kind) or not (lo <= v <= hi):
            what = "whole numbers" if integer else "numbers"
            raise DemoError(field, f"Every entry of '{field}' must be {what} between {lo:g} and {hi:g}.")
    return value


def _number(request: dict, field: str, default: float, *, lo: float, hi: float, integer: bool = False):
    value = request.get(field, default)
    kind = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind) or not (lo <= value <= hi):
        raise DemoError(field, f"'{field}' must be a {'whole ' if integer else ''}number between {lo:g} and {hi:g}.")
    return value


def softmax_demo(request: dict) -> dict:
    """Softmax of a few scores at a temperature, with every step: s/T, exp(s/T - max), the sum, p."""
    scores = np.asarray(_number_list(request, "scores", lo=-50, hi=50, max_len=MAX_SCORES), dtype=np.float64)
    temperature = _number(request, "temperature", 1.0, lo=0.05, hi=10)
    tempered = scores / temperature  # (n,)
    exp = np.exp(tempered - tempered.max())  # (n,) shifted: the shift cancels in the ratio
    weights = exp / exp.sum()
    nonzero = weights[weights > 0]
    entropy_bits = float(-(nonzero * np.log2(nonzero)).sum())
    return {"schema": SCHEMA, "ok": True, "kind": "softmax", "temperature": temperature,
            "scores": scores.tolist(), "tempered": tempered.tolist(), "exp": exp.tolist(),
            "sum": float(exp.sum()), "weights": weights.tolist(), "entropy_bits": entropy_bits,
            "max_entropy_bits": math.log2(len(scores))}


def variance_demo(request: dict) -> dict:
    """Sample q, k ~ N(0, I_d) and show that Var(q.k) = d, while Var(q.k / sqrt d) = 1.

    Also shows why it matters: with 8 keys, the softmax of unscaled scores is nearly one-hot at
    large d (tiny gradients), while scaled scores keep it soft.
    """
    dims = _number_list(request, "dims", lo=1, hi=MAX_DIM, max_len=8, integer=True)
    samples = _number(request, "samples", 2000, lo=10, hi=MAX_SAMPLES, integer=True)
    seed = _number(request, "seed", 0, lo=0, hi=2**31 - 1, integer=True)
    rng = np.random.default_rng(seed)
    rows = []
    for d in dims:
        q = rng.standard_normal((samples, d))  # (samples, d)
        k = rng.standard_normal((samples, d))  # (samples, d)
        dots = (q * k).sum(axis=1)  # (samples,)
        scaled = dots / math.sqrt(d)
        keys = rng.standard_normal((samples // 8 or 1, 8, d))  # (trials, 8 keys, d)
        raw_scores = np.einsum("td,tkd->tk", q[: len(keys)], keys)  # (trials, 8)
        rows.append({
            "d": d,
            "var_raw": float(dots.var()), "var_scaled": float(scaled.var()),
            "std_raw": float(dots.std()), "std_scaled": float(scaled.std()),
            "max_weight_raw": float(softmax(raw_scores).max(axis=1).mean()),
            "max_weight_scaled": float(softmax(raw_scores / math.sqrt(d)).max(axis=1).mean()),
            "hist_raw": np.histogram(dots, bins=24)[0].tolist(),
            "hist_raw_range": [float(dots.min()), float(dots.max())],
            "hist_scaled": np.histogram(scaled, bins=24, range=(-4, 4))[0].tolist(),
        })
    return {"schema": SCHEMA, "ok": True, "kind": "variance", "samples": samples, "seed": seed, "rows": rows}


DEMOS = {"softmax": softmax_demo, "variance": variance_demo}


def run(request: dict) -> dict:
    """Dispatch on request["kind"]; unknown fields are errors, as in api.run."""
    kind = request.get("kind")
    allowed = {"softmax": {"kind", "schema", "scores", "temperature"},
               "variance": {"kind", "schema", "dims", "samples", "seed"}}
    if kind not in DEMOS:
        return error_result(f"Unknown demo '{kind}'. Choose one of: {', '.join(DEMOS)}.", "kind")
    unknown = sorted(set(request) - allowed[kind])
    if unknown:
        return error_result(f"Unknown field '{unknown[0]}' for the {kind} demo.", unknown[0])
    if request.get("schema", SCHEMA) != SCHEMA:
        return error_result(f"Unsupported schema version; this attnviz speaks schema {SCHEMA}.", "schema")
    try:
        return DEMOS[kind](request)
    except DemoError as err:
        return error_result(str(err), err.field)
