"""GGUF (llama.cpp's single-file model format), versions 2 and 3, little-endian.

    magic "GGUF" | u32 version | u64 n_tensors | u64 n_metadata
    metadata:  key (u64 length + UTF-8) | u32 value type | value      (arrays: u32 type, u64 count, items)
    tensors:   name | u32 n_dims | u64 ne[n_dims] | u32 ggml type | u64 offset (from the data start)
    padding to `general.alignment` (32 by default), then the tensor data

ne[0] is the fastest-varying dimension, so a tensor's numpy shape is ne reversed: a (out, in)
matrix is stored as ne = [in, out]. Every count, length and offset is checked against the file's
size before anything is allocated, so a damaged file fails with ModelFileError, not MemoryError.
"""
from __future__ import annotations

import math
import os
import struct
from dataclasses import dataclass

import numpy as np

from ..errors import ModelFileError

MAGIC = b"GGUF"
DEFAULT_ALIGNMENT = 32
MAX_DIMS = 4
# Metadata arrays become Python lists (about 36 bytes an item, against 1 to 8 in the file); real
# files hold well under a million items (vocabulary, scores, types, merges), so this many in all
# bounds the memory a damaged or hostile file can make us spend on them.
MAX_ARRAY_ITEMS = 1 << 22

# ggml tensor types we read: name, values per block, bytes per block
F32, F16, Q4_0, Q4_1, Q8_0 = 0, 1, 2, 3, 8
TYPES = {F32: ("F32", 1, 4), F16: ("F16", 1, 2), Q4_0: ("Q4_0", 32, 18), Q4_1: ("Q4_1", 32, 20),
         Q8_0: ("Q8_0", 32, 34)}
KNOWN_TYPE_NAMES = {6: "Q5_0", 7: "Q5_1", 9: "Q8_1", 10: "Q2_K", 11: "Q3_K", 12: "Q4_K", 13: "Q5_K",
                    14: "Q6_K", 15: "Q8_K", 16: "IQ2_XXS", 17: "IQ2_XS", 18: "IQ3_XXS", 19: "IQ1_S",
                    20: "IQ4_NL", 21: "IQ3_S", 22: "IQ2_S", 23: "IQ4_XS", 24: "I8", 25: "I16",
                    26: "I32", 27: "I64", 28: "F64", 29: "IQ1_M", 30: "BF16"}

# metadata value types: struct code (None for string and array)
U8, I8, U16, I16, U32, I32, F32V, BOOL, STRING, ARRAY, U64, I64, F64V = range(13)
SCALARS = {U8: "B", I8: "b", U16: "H", I16: "h", U32: "I", I32: "i", F32V: "f", BOOL: "?",
           U64: "Q", I64: "q", F64V: "d"}
NUMPY_SCALARS = {U8: "<u1", I8: "<i1", U16: "<u2", I16: "<i2", U32: "<u4", I32: "<i4", F32V: "<f4",
                 U64: "<u8", I64: "<i8", F64V: "<f8"}


@dataclass(frozen=True)
class TensorInfo:
    name: str
    shape: tuple[int, ...]  # numpy order (ne reversed)
    type: int               # ggml type, one of TYPES
    offset: int             # absolute, from the start of the file
    nbytes: int

    @property
    def type_name(self) -> str:
        return TYPES[self.type][0]


@dataclass
class GGUF:
    file: str
    version: int
    metadata: dict
    tensors: dict[str, TensorInfo]
    data: memoryview  # the whole file

    def raw(self, name: str) -> memoryview:
        """The stored bytes of one tensor."""
        info = self.tensor(name)
        return self.data[info.offset:info.offset + info.nbytes]

    def tensor(self, name: str) -> TensorInfo:
        if name not in self.tensors:
            raise ModelFileError(self.file, f"has no tensor {name!r}")
        return self.tensors[name]

    def dequantize(self, name: str, rows: slice | None = None) -> np.ndarray:
        """float32 array of the tensor's numpy shape (rows: an optional slice of its first axis,
        so that a big embedding can be expanded a part at a time)."""
        info = self.tensor(name)
        shape = info.shape
        row_len = math.prod(shape[1:]) if len(shape) > 1 else shape[0]
        n_rows = shape[0] if len(shape) > 1 else 1
        start, stop, _ = (rows or slice(None)).indices(n_rows)
        stop = max(start, stop)
        row_bytes = info.nbytes // n_rows if n_rows else 0
        buf = self.data[info.offset + start * row_bytes:info.offset + stop * row_bytes]
        out = dequantize(buf, info.type, (stop - start) * row_len)
        return out.reshape((stop - start,) + tuple(shape[1:]) if len(shape) > 1 else shape)


def dequantize(buf, ggml_type: int, n: int) -> np.ndarray:
    """n float32 values from the stored bytes of one ggml type (vectorised over the blocks)."""
    raw = np.frombuffer(buf, dtype=np.uint8)
    if ggml_type == F32:
        return raw.view("<f4").astype(np.float32)
    if ggml_type == F16:
        return raw.view("<f2").astype(np.float32)
    _, per_block, block_bytes = TYPES[ggml_type]
    blocks = raw.reshape(n // per_block, block_bytes)
    d = blocks[:, 0:2].copy().view("<f2").astype(np.float32)  # (blocks, 1) the scale
    # one float32 output, then in-place arithmetic: no second full-size temporary
    if ggml_type == Q8_0:
        out = blocks[:, 2:].view(np.int8).astype(np.float32)  # (blocks, 32)
        out *= d
        return out.reshape(n)
    qs = blocks[:, -16:]  # (blocks, 16): value j in the low nibble, value j + 16 in the high one
    out = np.empty((len(blocks), 32), dtype=np.float32)
    np.bitwise_and(qs, 0x0F, out=out[:, :16], casting="unsafe")
    np.right_shift(qs, 4, out=out[:, 16:], casting="unsafe")
    if ggml_type == Q4_0:
        out -= np.float32(8)
        out *= d
        return out.reshape(n)
    out *= d
    out += blocks[:, 2:4].copy().view("<f2").astype(np.float32)  # Q4_1's minimum
    return out.reshape(n)

class _Reader:
    def __init__(self, data: memoryview, file: str) -> None:
        self.data, self.file, self.pos = data, file, 0
        self.array_items = 0  # metadata array items read so far (MAX_ARRAY_ITEMS in all)

    def fail(self, message: str) -> ModelFileError:
        return ModelFileError(self.file, message)

    def take(self, n: int, what: str) -> memoryview:
        if n < 0 or self.pos + n > len(self.data):
            raise self.fail(f"is truncated: {what} at byte {self.pos} needs {n} bytes, "
                            f"only {len(self.data) - self.pos} left")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def scalar(self, code: str, what: str):
        return struct.unpack("<" + code, self.take(struct.calcsize(code), what))[0]

    def string(self, what: str) -> str:
        n = self.scalar("Q", what + " length")
        raw = self.take(n, what)
        try:
            return str(raw, "utf-8")
        except UnicodeDecodeError:
            raise self.fail(f"{what} at byte {self.pos - n} is not UTF-8") from None

    def value(self, vtype: int, what: str, depth: int = 0):
        if vtype in SCALARS:
            return self.scalar(SCALARS[vtype], what)
        if vtype == STRING:
            return self.string(what)
        if vtype != ARRAY:
            raise self.fail(f"{what} has unknown metadata type {vtype}")
        if depth > 2:
            raise self.fail(f"{what} nests arrays too deeply")
        etype = self.scalar("I", what + " item type")
        count = self.scalar("Q", what + " count")
        # the fewest bytes an item can take: a number its size, a string or an array 8 or more
        smallest = np.dtype(NUMPY_SCALARS[etype]).itemsize if etype in NUMPY_SCALARS else 1 if etype == BOOL else 8
        if count > (len(self.data) - self.pos) // smallest:
            raise self.fail(f"{what} claims {count} items, more than the file holds")
        self.array_items += count
        if self.array_items > MAX_ARRAY_ITEMS:
            raise self.fail(f"{what}: the metadata arrays hold more than {MAX_ARRAY_ITEMS:,} items in all")
        if etype in NUMPY_SCALARS:  # numbers: one read
            return np.frombuffer(self.take(count * smallest, what), dtype=NUMPY_SCALARS[etype]).tolist()
        if etype == BOOL:
            return [b != 0 for b in self.take(count, what)]
        if etype == STRING:
            return [self.string(what) for _ in range(count)]
        return [self.value(etype, what, depth + 1) for _ in range(count)]


def read(source: str | os.PathLike | bytes | bytearray | memoryview, name: str | None = None) -> GGUF:
    """Parse a GGUF file (a path, or its bytes). Tensor data stays in the file's buffer until
    dequantised."""
    if isinstance(source, (str, os.PathLike)):
        file = name or os.path.basename(os.fspath(source))
        try:
            with open(source, "rb") as f:  # one buffer of the file's size (read() may grow and copy)
                buf = bytearray(os.fstat(f.fileno()).st_size)
                if f.readinto(buf) != len(buf):
                    raise OSError("the file changed size while being read")
                data = memoryview(buf).toreadonly()
        except OSError as e:
            raise ModelFileError(file, f"cannot be read ({e.strerror or e})") from None
    else:  # the caller's buffer itself (a 100 MB model is not copied), read-only from here on
        file, data = name or "model.gguf", memoryview(source).cast("B").toreadonly()
    r = _Reader(data, file)
    if len(data) < 24 or bytes(data[:4]) != MAGIC:
        raise r.fail("is not a GGUF file (no 'GGUF' magic at the start)")
    r.pos = 4
    version = r.scalar("I", "version")
    if version not in (2, 3):
        if version & 0xFFFF == 0 and version >> 16:
            raise r.fail("is a big-endian GGUF file; only little-endian files are supported")
        raise r.fail(f"is GGUF version {version}; only versions 2 and 3 are supported")
    n_tensors = r.scalar("Q", "tensor count")
    n_kv = r.scalar("Q", "metadata count")
    if n_kv > len(data) // 13 or n_tensors > len(data) // 25:  # the smallest possible entries
        raise r.fail(f"claims {n_tensors} tensors and {n_kv} metadata entries, more than fit in the file")
    metadata: dict = {}
    for _ in range(n_kv):
        key = r.string("metadata key")
        if key in metadata:
            raise r.fail(f"metadata {key!r} appears twice")
        metadata[key] = r.value(r.scalar("I", f"type of {key!r}"), f"metadata {key!r}")
    alignment = metadata.get("general.alignment", DEFAULT_ALIGNMENT)
    if not isinstance(alignment, int) or isinstance(alignment, bool) or alignment <= 0 or alignment & (alignment - 1):
        raise r.fail(f"general.alignment {alignment!r} is not a power of two")
    infos = []
    for _ in range(n_tensors):
        tname = r.string("tensor name")
        n_dims = r.scalar("I", f"dimensions of {tname!r}")
        if not 1 <= n_dims <= MAX_DIMS:
            raise r.fail(f"tensor {tname!r} has {n_dims} dimensions (1 to {MAX_DIMS} are supported)")
        ne = [r.scalar("Q", f"shape of {tname!r}") for _ in range(n_dims)]
        ttype = r.scalar("I", f"type of {tname!r}")
        offset = r.scalar("Q", f"offset of {tname!r}")
        infos.append((tname, ne, ttype, offset))
    data_start = -(-r.pos // alignment) * alignment
    tensors: dict[str, TensorInfo] = {}
    for tname, ne, ttype, offset in infos:
        if ttype not in TYPES:
            kind = KNOWN_TYPE_NAMES.get(ttype, f"unknown type {ttype}")
            raise r.fail(f"tensor {tname!r} is {kind}; supported types: "
                         + ", ".join(t[0] for t in TYPES.values()))
        _, per_block, block_bytes = TYPES[ttype]
        count = 1
        for dim in ne:
            if dim <= 0:
                raise r.fail(f"tensor {tname!r} has a zero-length dimension {ne}")
            count *= dim  # Python ints do not overflow; checked against the file size below
            if count > len(data) * 2:
                raise r.fail(f"tensor {tname!r} of shape {ne} is larger than the file")
        if ne[0] % per_block:
            raise r.fail(f"tensor {tname!r}: rows of {ne[0]} values are not whole {TYPES[ttype][0]} blocks of {per_block}")
        nbytes = count // per_block * block_bytes
        start = data_start + offset
        if offset % alignment:
            raise r.fail(f"tensor {tname!r} at offset {offset} is misaligned (alignment {alignment})")
        if start + nbytes > len(data):
            raise r.fail(f"is truncated or damaged: tensor {tname!r} ({nbytes:,} bytes at byte {start:,}) runs past "
                         f"the end of the file ({len(data):,} bytes)")
        if tname in tensors:
            raise r.fail(f"tensor {tname!r} appears twice")
        tensors[tname] = TensorInfo(tname, tuple(reversed(ne)), ttype, start, nbytes)
    return GGUF(file, version, metadata, tensors, data)


def _pack_value(value) -> tuple[int, bytes]:
    """(type, bytes) of a metadata value: bool, int (as i32 or i64), float (f32), str, or a
    list of one of those, or an (type, value) pair to force a type."""
    if isinstance(value, tuple):
        vtype, v = value
        if vtype == ARRAY:
            etype, items = v
            body = b"".join(_pack_value((etype, item))[1] for item in items)
            return ARRAY, struct.pack("<IQ", etype, len(items)) + body
        if vtype == STRING:
            raw = v.encode("utf-8")
            return STRING, struct.pack("<Q", len(raw)) + raw
        return vtype, struct.pack("<" + SCALARS[vtype], v)
    if isinstance(value, bool):
        return _pack_value((BOOL, value))
    if isinstance(value, int):
        return _pack_value((I32 if -2**31 <= value < 2**31 else I64, value))
    if isinstance(value, float):
        return _pack_value((F32V, value))
    if isinstance(value, str):
        return _pack_value((STRING, value))
    if isinstance(value, list):
        etype = _pack_value(value[0])[0] if value else U8
        return _pack_value((ARRAY, (etype, value)))
    raise TypeError(f"cannot write {type(value).__name__} as GGUF metadata")


def write(metadata: dict, tensors: dict[str, tuple[int, tuple[int, ...], bytes]], version: int = 3,
          alignment: int = DEFAULT_ALIGNMENT) -> bytes:
    """A GGUF file's bytes (for tests). tensors: name -> (ggml type, numpy shape, stored bytes)."""
    def string(s: str) -> bytes:
        raw = s.encode("utf-8")
        return struct.pack("<Q", len(raw)) + raw

    out = bytearray(MAGIC + struct.pack("<IQQ", version, len(tensors), len(metadata)))
    for key, value in metadata.items():
        vtype, raw = _pack_value(value)
        out += string(key) + struct.pack("<I", vtype) + raw
    offset, blobs = 0, []
    for tname, (ttype, shape, raw) in tensors.items():
        out += string(tname) + struct.pack("<I", len(shape)) + struct.pack(f"<{len(shape)}Q", *reversed(shape))
        out += struct.pack("<IQ", ttype, offset)
        blobs.append(raw)
        offset += -(-len(raw) // alignment) * alignment
    out += bytes(-len(out) % alignment)
    for raw in blobs:
        out += raw + bytes(-len(raw) % alignment)
    return bytes(out)


def quantize(x: np.ndarray, ggml_type: int) -> bytes:
    """Stored bytes of float values in one ggml type (round to nearest; for tests)."""
    x = np.asarray(x, dtype=np.float32).reshape(-1)
    if ggml_type == F32:
        return x.astype("<f4").tobytes()
    if ggml_type == F16:
        return x.astype("<f2").tobytes()
    blocks = x.reshape(-1, 32)
    if ggml_type == Q8_0:
        d = (np.abs(blocks).max(axis=1, keepdims=True) / 127).astype(np.float16)
        inv = np.divide(1, d.astype(np.float32), out=np.zeros_like(d, dtype=np.float32), where=d != 0)
        q = np.clip(np.rint(blocks * inv), -127, 127).astype(np.int8)
        return np.concatenate([d.view(np.uint8), q.view(np.uint8)], axis=1).tobytes()
    if ggml_type == Q4_0:
        lo, hi = -8, 7
        amax_idx = np.abs(blocks).argmax(axis=1)
        d = (blocks[np.arange(len(blocks)), amax_idx] / -8)[:, None].astype(np.float16)
        m = None
        base = np.float32(8)
    elif ggml_type == Q4_1:
        lo, hi = 0, 15
        mn, mx = blocks.min(axis=1, keepdims=True), blocks.max(axis=1, keepdims=True)
        d = ((mx - mn) / 15).astype(np.float16)
        m = mn.astype(np.float16)
        blocks = blocks - m.astype(np.float32)
        base = np.float32(0)
    else:
        raise ValueError(f"cannot quantize to type {ggml_type}")
    df = d.astype(np.float32)
    inv = np.divide(1, df, out=np.zeros_like(df), where=df != 0)
    q = (np.clip(np.rint(blocks * inv), lo, hi) + base).astype(np.uint8)  # (blocks, 32)
    packed = q[:, :16] | (q[:, 16:] << 4)
    parts = [d.view(np.uint8)] + ([m.view(np.uint8)] if m is not None else []) + [packed]
    return np.concatenate(parts, axis=1).tobytes()
