#!/usr/bin/env python3
"""Time every analysis of issue 17 for every model at 16, 64 and 128 tokens, in CPython: the
median over a few runs of the analysis alone (after the model's forward pass, which the result's
other timings cover). CPU time by default (`time.process_time`), as a shared machine's wall clock
says more about its neighbours; --wall for wall-clock time. Prints a table; --json writes one.

    python tools/bench_analyses.py [--models minilm,smollm2] [--tokens 16,64,128] [--runs 3]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pysrc"))

from attnviz import analysis, api, models  # noqa: E402
from attnviz.analysis import roles  # noqa: E402
from attnviz.errors import RequestError  # noqa: E402
from attnviz.request import ANALYSES  # noqa: E402

WORDS = ("the quick brown fox jumps over a lazy dog while the small cat sleeps on the warm mat near an open "
         "window and birds sing in tall green trees").split()
STACKS = {"marian-en-pt": "encoder", "marian-pt-en": "encoder"}  # a self-attention stack: every analysis applies
EXTRA = {"ablate": {"ablate_head": True}, "neuron": {"query": 3, "key": 1}}


def text_of(model: str, tokens: int) -> str:
    """A text the model reads as `tokens` tokens (as close as whole words allow)."""
    weights = models.load(model)
    words = (WORDS * (tokens // len(WORDS) + 2))
    low, high = 1, len(words)
    while low < high:  # the most words that make at most `tokens` tokens
        mid = (low + high + 1) // 2
        try:
            req = api.prepare({"text": " ".join(words[:mid]), "model": model})[0]
            n = len(next(iter(models.module(model).tokenize(weights, req).values())))
        except RequestError:  # longer than the model takes
            n = tokens + 1
        low, high = (mid, high) if n <= tokens else (low, mid - 1)
    return " ".join(words[:low])


def measure(model: str, tokens: int, name: str, runs: int, clock) -> float | str:
    request = {"text": text_of(model, tokens), "model": model, "stack": STACKS.get(model, ""), "analysis": name,
               "layer": min(1, models.info(model).layers_of(STACKS.get(model) or models.info(model).stacks[0]) - 1),
               "head": 1, **EXTRA.get(name, {})}
    spent: list[float] = []
    original = analysis.run

    def timed(ctx):
        start = clock()
        try:
            return original(ctx)
        finally:
            spent.append((clock() - start) * 1e3)

    analysis.run = timed
    try:
        times = []
        for _ in range(runs):
            roles._cache.clear()  # every run measures the probe, not the cache
            spent.clear()
            r = api.run(request)
            if not r["ok"]:
                return "limit" if "at most" in r["error"]["message"] else "error"
            times.append(spent[0])
        return statistics.median(times)
    finally:
        analysis.run = original


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--models", default="synthetic,minilm,smollm2,marian-en-pt")
    p.add_argument("--tokens", default="16,64,128")
    p.add_argument("--analyses", default=",".join(ANALYSES))
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--wall", action="store_true", help="wall-clock time instead of CPU time")
    p.add_argument("--json", help="also write the figures here")
    args = p.parse_args()
    clock = time.perf_counter if args.wall else time.process_time
    sizes = [int(t) for t in args.tokens.split(",")]
    names = args.analyses.split(",")
    figures: dict = {}
    print(f"{'model':14} {'analysis':11}" + "".join(f"{n:>10}" for n in sizes) + f"   ({'wall' if args.wall else 'CPU'} ms, median of {args.runs})")
    for model in args.models.split(","):
        for name in names:
            row = [measure(model, n, name, args.runs, clock) for n in sizes]
            figures.setdefault(model, {})[name] = dict(zip(map(str, sizes), row))
            print(f"{model:14} {name:11}" + "".join(f"{v:>10.0f}" if isinstance(v, float) else f"{v:>10}" for v in row),
                  flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
