"""What the file-format fuzzers share: hypothesis strategies that damage a small valid file the way
real files get damaged (a flipped byte, a cut download, a span inserted or lost, a length field
overwritten with an absurd value), and `outcome`, which runs a reader on the bytes and allows only
two ends: a result, or a ModelFileError naming the file, within bounded time and memory.

Memory is measured with tracemalloc (numpy reports its buffers to it too), time with an interval
timer where the platform has one (CPython on Unix; under Pyodide the hypothesis deadline stands
guard alone: it cannot stop a loop, but it fails a slow example).
"""
from __future__ import annotations

import json
import os
import signal
import struct
import sys
import tracemalloc
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, Callable

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from attnviz.errors import ModelFileError

SECONDS = 5.0  # no reader may take longer on a file of a few kilobytes, even on a busy machine
MEMORY_FACTOR = 64  # bytes a reader may allocate per byte of input (Python objects cost ~40x numbers)
MEMORY_FLOOR = 2 * 2**20  # and this much on top, for small files


def fuzz_settings(examples: int) -> settings:
    """Hypothesis settings of one fuzzer: a fixed budget of examples (a few seconds in all; the
    environment variable ATTNVIZ_FUZZ_SCALE multiplies it for a deep run) and a deadline per example."""
    if sys.platform == "emscripten":  # Pyodide runs them ~5x slower: a fifth, to check it behaves the same
        examples = max(20, examples // 5)
    scale = int(os.environ.get("ATTNVIZ_FUZZ_SCALE", "1"))
    return settings(max_examples=examples * scale, deadline=timedelta(seconds=SECONDS),
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# Values a damaged or hostile length field holds: around zero, around each integer width's limits.
ABSURD = [0, 1, 2, 3, 7, 8, 9, 255, 256, 2**15, 2**16 - 1, 2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**40,
          2**62, 2**63 - 1, 2**63, 2**64 - 1]


def _position(draw, size: int, hot: int) -> int:
    """Somewhere in the file, half the time in its first `hot` bytes (the headers, where a damaged
    byte matters most)."""
    if draw(st.booleans()):
        return draw(st.integers(0, max(0, min(hot, size) - 1)))
    return draw(st.integers(0, max(0, size - 1)))


@st.composite
def mutated(draw, valid: bytes, hot: int = 512, fields: tuple[int, ...] = ()) -> bytes:
    """The valid file damaged one to four times: a byte set to another value, a truncation, a span
    of random bytes inserted, a span deleted, or a 1/2/4/8-byte integer field overwritten with an
    absurd value or one near the file's size (at a random place, or at one of `fields`, offsets
    of the format's own length and count fields)."""
    data = bytearray(valid)
    for _ in range(draw(st.integers(1, 4), label="edits")):
        kind = draw(st.sampled_from(["set", "truncate", "insert", "delete", "patch"]), label="kind")
        at = _position(draw, len(data), hot)
        if kind == "set" and data:
            data[at] = draw(st.integers(0, 255), label="byte")
        elif kind == "truncate":
            del data[draw(st.integers(0, len(data)), label="cut at"):]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=64), label="inserted")
        elif kind == "delete" and data:
            del data[at:at + draw(st.integers(1, 64), label="deleted")]
        elif kind == "patch" and data:
            if fields and draw(st.booleans()):
                at = draw(st.sampled_from(fields), label="field")
            width = draw(st.sampled_from([1, 2, 4, 8]), label="width")
            value = draw(st.sampled_from(ABSURD) | st.integers(max(0, len(data) - 8), len(data) + 8), label="value")
            raw = struct.pack("<Q", value % 2**64)[:width]
            data[at:at + width] = raw[:max(0, len(data) - at)]
    return bytes(data)


def random_bytes(prefixes: tuple[bytes, ...] = (b"",), max_size: int = 512) -> st.SearchStrategy[bytes]:
    """Random bytes, often after a valid start (a magic number and version) so that the reader
    gets past its first check."""
    return st.builds(lambda p, b: p + b, st.sampled_from(prefixes), st.binary(max_size=max_size))


JSON_LEAVES = (st.none() | st.booleans() | st.sampled_from(ABSURD) | st.integers(-2**70, 2**70)
               | st.floats(allow_nan=True) | st.text(max_size=12))
JSON_VALUES = st.recursive(JSON_LEAVES, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=6)


@st.composite
def mutated_json(draw, valid: Any, edits: int = 3) -> Any:
    """A JSON document with up to `edits` of its values replaced by random JSON, keys dropped, or
    lists shortened (the structure a reader trusts, damaged)."""
    doc = json.loads(json.dumps(valid))
    for _ in range(draw(st.integers(1, edits), label="json edits")):
        paths = list(_paths(doc))
        path = draw(st.sampled_from(paths), label="path")
        parent, key = _locate(doc, path)
        if parent is None:
            doc = draw(JSON_VALUES, label="whole document")
            continue
        action = draw(st.sampled_from(["replace", "drop"]), label="action")
        if action == "drop":
            del parent[key]
        else:
            parent[key] = draw(JSON_VALUES | st.sampled_from(ABSURD), label="new value")
    return doc


def _paths(doc: Any, path: tuple = ()):
    yield path
    items = doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else ()
    for key, value in items:
        yield from _paths(value, path + (key,))


def _locate(doc: Any, path: tuple) -> tuple[Any, Any]:
    if not path:
        return None, None
    for key in path[:-1]:
        doc = doc[key]
    return doc, path[-1]


class Hang(BaseException):
    """A reader ran past SECONDS (a BaseException, so no reader's `except Exception` swallows it)."""


@contextmanager
def time_limit(seconds: float):
    if not hasattr(signal, "setitimer"):  # Pyodide: the hypothesis deadline guards alone
        yield
        return

    def stop(signum, frame):
        raise Hang(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def outcome(read: Callable[[bytes], Any], data: bytes, file: str | frozenset[str]) -> ModelFileError | None:
    """Run read(data): None when it reads the file, the ModelFileError when it refuses it. Any other
    exception, a refusal that does not name `file` (or one of a set of files), more than SECONDS or
    more memory than MEMORY_FACTOR x the file's size (+ MEMORY_FLOOR) fails the test."""
    tracing = tracemalloc.is_tracing()
    if not tracing:
        tracemalloc.start()
    tracemalloc.reset_peak()
    before = tracemalloc.get_traced_memory()[0]
    error = None
    try:
        with time_limit(SECONDS):
            read(data)
    except ModelFileError as e:
        error = e
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        if not tracing:
            tracemalloc.stop()
    budget = MEMORY_FLOOR + MEMORY_FACTOR * len(data)
    peak -= before
    assert peak <= budget, f"reading {len(data)} bytes took {peak:,} bytes of memory (budget {budget:,})"
    if error is not None:
        files = {file} if isinstance(file, str) else file
        assert error.file in files and str(error).startswith(f"{error.file}: "), f"the error names {error.file!r}: {error}"
    return error
