"""The head-role probe: a sequence of random tokens, repeated (Olsson et al. 2022, "In-context
Learning and Induction Heads"). On its second copy a duplicate-token head looks back at the same
token in the first copy, and an induction head at the token that followed it; nothing but the
repetition itself can tell a head where to look. The probe is generated, seeded, by attnviz; each
model module turns it into its own tokens (probe_tokens), from words of its own vocabulary."""
from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import numpy as np

T = TypeVar("T")
LENGTH = 20  # tokens of the random sequence, which appears twice
SEED = 0


def repeated(pool: Sequence[T], length: int = LENGTH, seed: int = SEED) -> list[T]:
    """`length` distinct items of pool in a seeded random order, then the same items again."""
    if len(pool) < length:
        raise ValueError(f"a probe of {length} distinct tokens needs a pool of at least {length}, not {len(pool)}")
    picked = np.random.default_rng(seed).choice(len(pool), size=length, replace=False)
    sequence = [pool[int(i)] for i in picked]
    return sequence + sequence


def layout(tokens: list[dict], length: int = LENGTH) -> tuple[int, int]:
    """(where the first copy starts, its length) in a probe's token list: after any leading
    special tokens (a [CLS])."""
    start = 0
    while start < len(tokens) and tokens[start]["special"]:
        start += 1
    return start, length
