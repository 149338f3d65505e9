"""attnviz.formats.gguf on hand-made files: every supported tensor type decodes to known values,
and every kind of damage is a ModelFileError (never an IndexError, MemoryError, struct.error …);
the fuzzers are in test_fuzz_gguf.py."""
from __future__ import annotations

import struct

import numpy as np
import pytest

from attnviz.errors import ModelFileError
from attnviz.formats import gguf

F16_SCALE = np.float16(0.5)


def blocks_q8_0(q: np.ndarray, d: np.float16) -> bytes:
    """Q8_0 blocks by hand: f16 scale, then 32 signed bytes."""
    return b"".join(np.float16(d).tobytes() + row.astype(np.int8).tobytes() for row in q.reshape(-1, 32))


def blocks_q4(q: np.ndarray, d: np.float16, m: np.float16 | None) -> bytes:
    """Q4_0 (m None) or Q4_1 blocks by hand: value j in the low nibble of byte j, j + 16 in the high one."""
    out = b""
    for row in q.reshape(-1, 32).astype(np.uint8):
        out += np.float16(d).tobytes() + (np.float16(m).tobytes() if m is not None else b"")
        out += bytes(int(row[j]) | int(row[j + 16]) << 4 for j in range(16))
    return out


def sample_file() -> tuple[bytes, dict]:
    rng = np.random.default_rng(0)
    f32 = rng.standard_normal((3, 4)).astype(np.float32)
    f16 = rng.standard_normal((2, 32)).astype(np.float16)
    q8 = rng.integers(-127, 128, (2, 64))
    q40 = rng.integers(0, 16, (1, 64))
    q41 = rng.integers(0, 16, (3, 32))
    expected = {
        "f32": f32, "f16": f16.astype(np.float32),
        "q8_0": (q8 * np.float32(F16_SCALE)).astype(np.float32),
        "q4_0": ((q40 - 8) * np.float32(F16_SCALE)).astype(np.float32),
        "q4_1": (q41 * np.float32(F16_SCALE) + np.float32(np.float16(-1.25))).astype(np.float32),
    }
    tensors = {
        "f32": (gguf.F32, (3, 4), f32.tobytes()),
        "f16": (gguf.F16, (2, 32), f16.tobytes()),
        "q8_0": (gguf.Q8_0, (2, 64), blocks_q8_0(q8, F16_SCALE)),
        "q4_0": (gguf.Q4_0, (1, 64), blocks_q4(q40, F16_SCALE, None)),
        "q4_1": (gguf.Q4_1, (3, 32), blocks_q4(q41, F16_SCALE, np.float16(-1.25))),
    }
    metadata = {"general.architecture": "test", "count": 7, "big": 2**40, "ratio": 0.5, "flag": True,
                "names": ["a", "bé", ""], "numbers": [1, 2, 3], "nested": (gguf.ARRAY, (gguf.ARRAY, [(gguf.U8, [1, 2])])),
                "u8": (gguf.U8, 255), "i16": (gguf.I16, -3), "f64": (gguf.F64V, 0.25), "u64": (gguf.U64, 2**63)}
    return gguf.write(metadata, tensors), expected


def test_every_type_decodes_to_known_values():
    data, expected = sample_file()
    g = gguf.read(data, name="sample.gguf")
    assert g.version == 3
    assert g.metadata["count"] == 7 and g.metadata["big"] == 2**40 and g.metadata["flag"] is True
    assert g.metadata["names"] == ["a", "bé", ""] and g.metadata["numbers"] == [1, 2, 3]
    assert g.metadata["nested"] == [[1, 2]] and g.metadata["u8"] == 255 and g.metadata["i16"] == -3
    assert g.metadata["f64"] == 0.25 and g.metadata["u64"] == 2**63 and g.metadata["ratio"] == 0.5
    for name, values in expected.items():
        out = g.dequantize(name)
        assert out.dtype == np.float32 and out.shape == values.shape, name
        np.testing.assert_array_equal(out, values, err_msg=name)
        assert g.tensors[name].offset % 32 == 0
    np.testing.assert_array_equal(g.dequantize("q4_1", rows=slice(1, 3)), expected["q4_1"][1:3])
    assert len(g.raw("q8_0")) == 2 * 2 * 34


@pytest.mark.parametrize("ggml_type", [gguf.F32, gguf.F16, gguf.Q8_0, gguf.Q4_0, gguf.Q4_1])
def test_quantize_round_trip(ggml_type):
    x = np.random.default_rng(1).standard_normal((4, 64)).astype(np.float32)
    g = gguf.read(gguf.write({}, {"x": (ggml_type, x.shape, gguf.quantize(x, ggml_type))}, version=2))
    tolerance = {gguf.F32: 0, gguf.F16: 2e-3, gguf.Q8_0: 0.02, gguf.Q4_0: 0.3, gguf.Q4_1: 0.3}[ggml_type]
    assert np.abs(g.dequantize("x") - x).max() <= tolerance


def header(version=3, n_tensors=0, n_kv=0) -> bytes:
    return b"GGUF" + struct.pack("<IQQ", version, n_tensors, n_kv)


def string(s: bytes) -> bytes:
    return struct.pack("<Q", len(s)) + s


def one_tensor(ne, ttype=gguf.F32, offset=0, data=b"") -> bytes:
    body = header(n_tensors=1) + string(b"t") + struct.pack("<I", len(ne)) + struct.pack(f"<{len(ne)}Q", *ne)
    body += struct.pack("<IQ", ttype, offset)
    return body + bytes(-len(body) % 32) + data


DAMAGED = {
    "bad magic": (b"GGML" + bytes(40), "not a GGUF file"),
    "empty": (b"", "not a GGUF file"),
    "version 1": (header(version=1) + bytes(8), "version 1"),
    "version 4": (header(version=4) + bytes(8), "version 4"),
    "big-endian": (b"GGUF" + struct.pack(">IQQ", 3, 0, 0), "big-endian"),
    "too many entries": (header(n_kv=2**60), "more than fit"),
    "truncated key": (header(n_kv=1) + struct.pack("<Q", 100) + b"abc", "truncated"),
    "key not utf-8": (header(n_kv=1) + string(b"\xff\xfe") + struct.pack("<IB", gguf.U8, 1), "not UTF-8"),
    "unknown value type": (header(n_kv=1) + string(b"k") + struct.pack("<I", 99), "unknown metadata type"),
    "huge array": (header(n_kv=1) + string(b"k") + struct.pack("<IIQ", gguf.ARRAY, gguf.U32, 2**62), "more than the file holds"),
    "huge string array": (header(n_kv=1) + string(b"k") + struct.pack("<IIQ", gguf.ARRAY, gguf.STRING, 2**40), "more than the file holds"),
    "bad alignment": (header(n_kv=1) + string(b"general.alignment") + struct.pack("<II", gguf.U32, 3), "power of two"),
    "unknown tensor type": (one_tensor([32], ttype=12, data=bytes(144)), "Q4_K"),
    "never-seen tensor type": (one_tensor([32], ttype=999, data=bytes(144)), "unknown type 999"),
    "offset past end": (one_tensor([4], offset=2**40, data=bytes(16)), "past"),
    "data truncated": (one_tensor([8], data=bytes(16)), "past"),
    "overflowing shape": (one_tensor([2**62, 2**62, 2**62]), "larger than the file"),
    "zero dimension": (one_tensor([4, 0]), "zero-length"),
    "five dimensions": (one_tensor([1, 1, 1, 1, 1]), "dimensions"),
    "partial block": (one_tensor([16], ttype=gguf.Q8_0, data=bytes(64)), "blocks"),
    "misaligned offset": (one_tensor([4], offset=4, data=bytes(64)), "misaligned"),
}


@pytest.mark.parametrize("case", DAMAGED, ids=list(DAMAGED))
def test_damage_is_a_model_file_error(case):
    data, message = DAMAGED[case]
    with pytest.raises(ModelFileError, match=message) as info:
        gguf.read(data, name="broken.gguf")
    assert info.value.file == "broken.gguf"


def test_truncation_anywhere_is_a_model_file_error():
    data, _ = sample_file()
    end = max(t.offset + t.nbytes for t in gguf.read(data).tensors.values())  # then only padding
    for cut in range(0, end, 7):
        with pytest.raises(ModelFileError):
            gguf.read(data[:cut])


def test_missing_file_and_missing_tensor(tmp_path):
    with pytest.raises(ModelFileError, match="cannot be read"):
        gguf.read(tmp_path / "nope.gguf")
    path = tmp_path / "ok.gguf"
    path.write_bytes(sample_file()[0])
    g = gguf.read(path)
    assert g.file == "ok.gguf"
    with pytest.raises(ModelFileError, match="no tensor 'x'"):
        g.dequantize("x")
