"""The safetensors reader: exact round trips, each rule of the header refused by name, and fuzzing
(damaged bytes of a small valid file, damaged JSON headers, random bytes): a parse or a
ModelFileError naming the file, never another exception, a hang or a large allocation."""
from __future__ import annotations

import json
import re
import struct

import numpy as np
import pytest
from hypothesis import example, given

from attnviz.errors import ModelFileError
from attnviz.formats import json_text, safetensors
from tests.support.fuzzing import fuzz_settings, mutated, mutated_json, outcome, random_bytes

NAME = "fuzz.safetensors"
TENSORS = {"w": np.arange(6, dtype=np.float32).reshape(2, 3), "h": np.array([0.5, -2], dtype=np.float16),
           "i": np.array([[7]], dtype=np.int64), "empty": np.zeros((0, 4), dtype=np.float32),
           "flag": np.array([True, False])}
SMALL = safetensors.write(None, TENSORS)
HEADER = json.loads(SMALL[8:8 + struct.unpack_from("<Q", SMALL)[0]])


def file_of(header: object, body: bytes) -> bytes:
    head = json.dumps(header).encode()
    return struct.pack("<Q", len(head)) + head + body


BODY = SMALL[8 + struct.unpack_from("<Q", SMALL)[0]:]


def read_all(data: bytes) -> None:
    for name, array in safetensors.parse(data, NAME).items():
        assert isinstance(name, str) and array.dtype.kind in "fiub"
        array.astype(np.float64)


def test_round_trip_is_exact(tmp_path):
    path = tmp_path / NAME
    safetensors.write(str(path), TENSORS)
    back = safetensors.read(str(path))
    assert back.keys() == TENSORS.keys()
    for name, array in TENSORS.items():
        assert back[name].dtype == array.dtype and back[name].shape == array.shape
        np.testing.assert_array_equal(back[name], array)


def test_metadata_is_allowed_and_skipped():
    assert safetensors.parse(file_of({"__metadata__": {"format": "pt"}, **HEADER}, BODY), NAME).keys() == TENSORS.keys()


def with_entry(name: str, **change) -> dict:
    return {**HEADER, name: {**HEADER[name], **change}}


REFUSED = [
    ("too short", b"\x01\x00", "too short"),
    ("header past the end", struct.pack("<Q", 2**40) + b"{}", "header claims"),
    ("header not JSON", struct.pack("<Q", 3) + b"{x}", "damaged safetensors header"),
    ("header not UTF-8", struct.pack("<Q", 2) + b"\xff\xfe", "damaged safetensors header"),
    ("deeply nested", file_of([], b"").replace(b"[]", b"[" * 100_000 + b"]" * 100_000).replace(
        struct.pack("<Q", 2), struct.pack("<Q", 200_000)), "damaged safetensors header"),
    ("header a list", file_of([1, 2], b""), "not a JSON object"),
    ("unknown dtype", file_of(with_entry("w", dtype="Q7"), BODY), "dtype 'Q7'"),
    ("negative size", file_of(with_entry("w", shape=[-2, -3]), BODY), "not a list of sizes"),
    ("shape as text", file_of(with_entry("w", shape="2x3"), BODY), "not a list of sizes"),
    ("offsets backwards", file_of(with_entry("w", data_offsets=[24, 0]), BODY), "not [start, end]"),
    ("shape too big for its bytes", file_of(with_entry("w", shape=[2**62, 2**62, 2**62]), BODY), "does not fill"),
    ("overlapping tensors", file_of(with_entry("h", data_offsets=[0, 4]), BODY), "gap or an overlap"),
    ("truncated data", SMALL[:-3], "truncated"),
    ("data beyond the tensors", SMALL + b"\0" * 8, "cover"),
    ("metadata not strings", file_of({"__metadata__": {"n": 1}, **HEADER}, BODY), "not a map of strings"),
    ("entry not an object", file_of({**HEADER, "x": 3}, BODY), "not an object"),
]


@pytest.mark.parametrize("data, message", [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED])
def test_each_rule_is_refused_by_name(data, message):
    with pytest.raises(ModelFileError, match=re.escape(message)) as err:
        safetensors.parse(data, NAME)
    assert err.value.file == NAME


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(ModelFileError, match="cannot be read") as err:
        safetensors.read(str(tmp_path / "absent.safetensors"))
    assert err.value.file == "absent.safetensors"


@fuzz_settings(300)
@given(mutated(SMALL, hot=len(SMALL) - len(BODY), fields=(0,)))
@example(SMALL)
def test_damaged_files_parse_or_name_the_file(data):
    outcome(read_all, data, NAME)


@fuzz_settings(200)
@given(mutated_json(HEADER))
def test_damaged_headers_parse_or_name_the_file(header):
    outcome(read_all, file_of(header, BODY), NAME)


@fuzz_settings(150)
@given(random_bytes((b"", struct.pack("<Q", 2) + b"{}", struct.pack("<Q", 16))))
def test_random_bytes_parse_or_name_the_file(data):
    outcome(read_all, data, NAME)


def test_json_depth_ignores_brackets_in_strings():
    assert json_text.depth(b'{"a": [1, {"b": "[[[[{{{{"}], "c": "\\"]]]"}') == 3
    assert json_text.depth(b"[]") == 1 and json_text.depth(b'"x"') == 0
    with pytest.raises(ValueError, match="nested more than 32"):
        json_text.loads("[" * 33 + "]" * 33)
    nested: list = []
    for _ in range(31):
        nested = [nested]
    assert json_text.loads("[" * 32 + "]" * 32) == nested  # 32 levels: allowed
