"""Fuzzing the GGUF reader and the whole Llama load built on it (what `--weights FILE.gguf` runs):
random bytes and damaged copies of a small valid file end in a parse or a ModelFileError naming
the file, never another exception, a hang or a large allocation (tests/support/fuzzing.py)."""
from __future__ import annotations

import os
import struct
import tempfile

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st

from attnviz.formats import gguf
from attnviz.models import smollm2
from tests.support.fuzzing import fuzz_settings, mutated, outcome, random_bytes
from tests.support.tiny_models import TINY as TINY_METADATA, TOKENIZER, tiny_file, tiny_llama_file

NAME = "fuzz.gguf"


def small_gguf() -> bytes:
    """Every tensor type we read, every metadata type (nested arrays too), a few hundred bytes."""
    rng = np.random.default_rng(0)
    tensors = {name: (t, shape, gguf.quantize(rng.standard_normal(shape), t)) for name, t, shape in [
        ("f32", gguf.F32, (2, 3)), ("f16", gguf.F16, (1, 32)), ("q8", gguf.Q8_0, (1, 32)),
        ("q40", gguf.Q4_0, (1, 32)), ("q41", gguf.Q4_1, (2, 32))]}
    metadata = {"general.architecture": "test", "n": 7, "big": 2**40, "x": 0.5, "ok": True, "words": ["a", "bé"],
                "ids": [1, 2, 3], "nested": (gguf.ARRAY, (gguf.ARRAY, [(gguf.U8, [1, 2])])), "u16": (gguf.U16, 9)}
    return gguf.write(metadata, tensors)


SMALL = small_gguf()
HEADER_END = max(t.offset for t in gguf.read(SMALL).tensors.values())  # metadata and tensor infos before this
# the fixed header's counts: version, tensor count, metadata count
FIELDS = (4, 8, 16)


def read_all(data: bytes) -> None:
    g = gguf.read(data, name=NAME)
    for name in g.tensors:
        out = g.dequantize(name)
        assert out.dtype == np.float32 and out.shape == g.tensors[name].shape


@fuzz_settings(300)
@given(mutated(SMALL, hot=HEADER_END, fields=FIELDS))
@example(SMALL)
def test_damaged_gguf_files_parse_or_name_the_file(data):
    outcome(read_all, data, NAME)


@fuzz_settings(200)
@given(random_bytes((b"", b"GGUF", b"GGUF\x03\x00\x00\x00", b"GGUF\x02\x00\x00\x00")))
def test_random_bytes_are_refused_by_name(data):
    error = outcome(read_all, data, NAME)
    assert error is not None or len(data) >= 24


def test_the_valid_file_reads_exactly():
    assert outcome(read_all, SMALL, NAME) is None


def test_a_hostile_array_count_is_refused_before_any_allocation():
    """A 40-byte file claiming 2**61 metadata numbers: refused at once, in bounded memory."""
    body = b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", 1) + b"k"
    for etype in (gguf.U8, gguf.U64, gguf.BOOL, gguf.STRING, gguf.ARRAY):
        error = outcome(read_all, body + struct.pack("<IIQ", gguf.ARRAY, etype, 2**61) + bytes(16), NAME)
        assert error is not None and "more than the file holds" in error.message


def test_metadata_arrays_are_capped_in_all():
    """Arrays that fit in the file but would cost too many Python objects together: refused."""
    n = gguf.MAX_ARRAY_ITEMS // 2 + 1
    entry = lambda key: struct.pack("<Q", 1) + key + struct.pack("<IIQ", gguf.ARRAY, gguf.U8, n) + bytes(n)
    data = b"GGUF" + struct.pack("<IQQ", 3, 0, 2) + entry(b"a") + entry(b"b")
    error = outcome(read_all, data, NAME)
    assert error is not None and "more than 4,194,304 items" in error.message


TINY = tiny_llama_file()
TINY_HEADER = max(t.offset for t in gguf.read(TINY).tensors.values())
WORK = tempfile.mkdtemp(prefix="attnviz-fuzz-")  # a module-level folder: hypothesis reuses it per example


def load_llama(data: bytes) -> None:
    """What `python -m attnviz --model smollm2 --weights FILE` does with the file: the whole load."""
    path = os.path.join(WORK, NAME)
    with open(path, "wb") as f:
        f.write(data)
    model = smollm2.load(path)
    model.tokenizer.encode("the cat")


@fuzz_settings(150)
@given(mutated(TINY, hot=TINY_HEADER, fields=FIELDS))
def test_damaged_llama_files_load_or_name_the_file(data):
    outcome(load_llama, data, NAME)


def test_the_tiny_llama_loads():
    assert outcome(load_llama, TINY, NAME) is None


# Metadata values of every GGUF type, as a damaged or foreign file may hold them where we expect
# others: numbers of each width and sign, NaN and infinities, text, and lists of these.
GGUF_VALUES = (st.booleans() | st.integers(-2**31, 2**31 - 1) | st.integers(0, 2**64 - 1).map(lambda v: (gguf.U64, v))
               | st.floats(width=32) | st.text(max_size=6) | st.lists(st.integers(-9, 60), max_size=45)
               | st.lists(st.text(max_size=4), max_size=45) | st.lists(st.booleans(), max_size=3))


@fuzz_settings(120)
@given(st.dictionaries(st.sampled_from(sorted({**TINY_METADATA, **TOKENIZER})), GGUF_VALUES, min_size=1, max_size=3),
       st.sets(st.sampled_from(sorted({**TINY_METADATA, **TOKENIZER})), max_size=2))
def test_odd_metadata_values_load_or_name_the_file(changed, dropped):
    """Well-formed files whose metadata says something else than a Llama expects (a count as text,
    a vocabulary of numbers, no token types): the load refuses them by name, or reads them."""
    metadata = {k: v for k, v in {**TINY_METADATA, **TOKENIZER, **changed}.items() if k not in dropped}
    outcome(load_llama, tiny_file(metadata), NAME)
