"""Read (and, for the tests, write) Marian's binary model format (`model.*.bin`), numpy only.

Layout, all little-endian:

    uint64 version (1)          uint64 n (number of items)
    n × {uint64 name_len, uint64 type, uint64 shape_len, uint64 data_len}
    n names, each NUL-terminated (name_len counts the NUL)
    n shapes, each shape_len int32
    uint64 pad, then pad bytes (so that the data starts on a 256-byte boundary)
    n data blocks of data_len bytes, in order

Types are Marian's `Type` codes. intgemm8 (0x4101) is a row-major int8 matrix followed by one
float32 multiplier (value = int8 / multiplier); the block is padded up to a multiple of 256.
The config the model was trained with is the item `special:model.yml` (text).
"""
from __future__ import annotations

import math
import struct
from dataclasses import dataclass

import numpy as np

from ..errors import ModelFileError, read_model_file
from .sizes import nbytes

VERSION = 1
ALIGN = 256
INT8, UINT8, FLOAT16, FLOAT32, INTGEMM8 = 0x101, 0x201, 0x402, 0x404, 0x4101
_PLAIN = {INT8: np.int8, UINT8: np.uint8, 0x102: np.int16, 0x104: np.int32, 0x108: np.int64,
          FLOAT16: np.float16, FLOAT32: np.float32, 0x408: np.float64}
TYPE_NAMES = {INT8: "int8", UINT8: "uint8", FLOAT16: "float16", FLOAT32: "float32", INTGEMM8: "intgemm8"}
MAX_ITEMS = 100_000
MAX_DIMS = 8


@dataclass(frozen=True)
class Item:
    name: str
    type: int
    shape: tuple[int, ...]  # Marian's shape: weight matrices are (in, out)
    data: memoryview        # this item's data block (padding included)

    @property
    def count(self) -> int:
        return math.prod(self.shape)  # Python ints: no overflow on absurd shapes


def _base(path: str) -> str:
    return path.replace("\\", "/").rsplit("/", 1)[-1]


def read(path: str) -> dict[str, Item]:
    """Every item of the file at path, by name, in file order."""
    return parse(*read_model_file(path))


def parse(data: bytes, file: str = "model.bin") -> dict[str, Item]:
    """Items of a Marian binary held in memory. Every count, length and shape is checked against the
    size of the file before anything is allocated: a bad file raises ModelFileError, never more."""
    size = len(data)
    view = memoryview(data)

    def need(pos: int, n: int, what: str) -> None:
        if n < 0 or pos + n > size:
            raise ModelFileError(file, f"truncated or damaged Marian file: {what} runs past the end "
                                       f"(needs bytes {pos}..{pos + n}, file has {size})")

    need(0, 16, "the file header")
    version, n = struct.unpack_from("<QQ", data, 0)
    if version != VERSION:
        raise ModelFileError(file, f"not a Marian binary model (version {version}, expected {VERSION})")
    if n == 0 or n > MAX_ITEMS:
        raise ModelFileError(file, f"implausible number of items ({n})")
    pos = 16
    need(pos, 32 * n, "the table of item headers")
    headers = [struct.unpack_from("<4Q", data, pos + 32 * i) for i in range(n)]
    pos += 32 * n
    names = []
    for name_len, *_ in headers:
        need(pos, name_len, "an item name")
        raw = bytes(view[pos:pos + name_len])
        if name_len == 0 or raw[-1] != 0:
            raise ModelFileError(file, "damaged item name (not NUL-terminated)")
        try:
            names.append(raw[:-1].decode("utf-8"))
        except UnicodeDecodeError:
            raise ModelFileError(file, "damaged item name (not UTF-8)") from None
        pos += name_len
    shapes = []
    for name, (_, _, shape_len, _) in zip(names, headers):
        if shape_len > MAX_DIMS:
            raise ModelFileError(file, f"item {name!r} has {shape_len} dimensions")
        need(pos, 4 * shape_len, f"the shape of {name!r}")
        shape = struct.unpack_from(f"<{shape_len}i", data, pos)
        if any(d < 0 for d in shape):
            raise ModelFileError(file, f"item {name!r} has a negative dimension {shape}")
        shapes.append(tuple(shape))
        pos += 4 * shape_len
    need(pos, 8, "the alignment padding")
    (pad,) = struct.unpack_from("<Q", data, pos)
    pos += 8
    need(pos, pad, "the alignment padding")
    pos += pad
    items: dict[str, Item] = {}
    for name, (_, type_, _, data_len), shape in zip(names, headers, shapes):
        need(pos, data_len, f"the data of {name!r}")
        item = Item(name, type_, shape, view[pos:pos + data_len])
        _check_size(item, file)
        if name in items:
            raise ModelFileError(file, f"item {name!r} appears twice")
        items[name] = item
        pos += data_len
    return items


def _check_size(item: Item, file: str) -> None:
    if item.type == INTGEMM8:
        values = nbytes(item.shape, 1, len(item.data))
        needed = None if values is None else values + 4  # the int8 values, then the float32 multiplier
    elif item.type in _PLAIN:
        needed = nbytes(item.shape, np.dtype(_PLAIN[item.type]).itemsize, len(item.data))
    else:
        return  # an unknown type is only an error if someone asks for its values
    if needed is None or needed > len(item.data):
        raise ModelFileError(file, f"item {item.name!r}: shape {item.shape} needs "
                                   f"{'more' if needed is None else needed} bytes, its block has {len(item.data)}")


def values(item: Item, file: str = "model.bin") -> np.ndarray:
    """The item as float32 in the stored (row-major) order, with Marian's shape. For intgemm8 the
    int8 values are divided by the multiplier stored after them."""
    if item.type == INTGEMM8:
        q = np.frombuffer(item.data, dtype=np.int8, count=item.count)
        (mult,) = struct.unpack_from("<f", item.data, item.count)
        if not np.isfinite(mult) or mult == 0:
            raise ModelFileError(file, f"item {item.name!r}: bad quantisation multiplier {mult}")
        return (q.astype(np.float32) * np.float32(1.0 / mult)).reshape(item.shape)
    if item.type in _PLAIN:
        dtype = np.dtype(_PLAIN[item.type]).newbyteorder("<")
        return np.frombuffer(item.data, dtype=dtype, count=item.count).astype(np.float32).reshape(item.shape)
    raise ModelFileError(file, f"item {item.name!r} has type 0x{item.type:x}, which is not supported "
                               "(supported: float32, float16, int8, intgemm8)")


def is_transposed_weight(name: str) -> bool:
    """Quantised models for browsers (Bergamot's `*.intgemm.alphas.bin`) store every `*_W*` matrix but
    the shared embedding transposed: the bytes are the (out, in) matrix although the shape says (in, out)."""
    last = name.rsplit("_", 1)[-1]
    return name != "Wemb" and last.startswith("W") and "QuantMult" not in name


def matrix(item: Item, file: str = "model.bin") -> np.ndarray:
    """A weight as float32 in (out, in) order, ready for `layers.linear`. Quantised `*_W*` items are
    stored transposed already (see is_transposed_weight); plain ones are (in, out) and get transposed."""
    v = values(item, file)
    if v.ndim != 2:
        raise ModelFileError(file, f"item {item.name!r} should be a matrix, has shape {item.shape}")
    if item.type == INTGEMM8 and is_transposed_weight(item.name):
        return v.reshape(item.shape[1], item.shape[0])  # (out, in)
    if item.name == "Wemb":
        return v  # (vocab, d_model): rows are words, also the output layer's (out, in)
    return np.ascontiguousarray(v.T)


def text(item: Item) -> str:
    """A text item (`special:model.yml`), up to its first NUL."""
    return bytes(item.data[:item.count]).split(b"\0", 1)[0].decode("utf-8", errors="replace")


# --- config: the tiny subset of YAML that Marian writes ---------------------------------------

def parse_yaml(source: str, file: str = "model.yml") -> dict:
    """`key: scalar` lines and `key:` followed by `  - item` lists, as Marian writes model.yml.
    Scalars become bool, int, float or str (quotes removed)."""
    out: dict = {}
    current_list: list | None = None
    for number, line in enumerate(source.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("- "):
            if current_list is None:
                raise ModelFileError(file, f"line {number}: a list item outside a list")
            current_list.append(_scalar(stripped[2:]))
            continue
        key, sep, rest = stripped.partition(":")
        if not sep or not key:
            raise ModelFileError(file, f"line {number}: expected `key: value`")
        rest = rest.strip()
        if rest:
            out[key] = _scalar(rest)
            current_list = None
        else:
            out[key] = current_list = []
    return out


def _scalar(s: str):
    s = s.strip()
    if s == "[]":
        return []
    if len(s) >= 2 and s[0] == s[-1] and s[0] in "\"'":
        return s[1:-1]
    if s in ("true", "false"):
        return s == "true"
    for kind in (int, float):
        try:
            return kind(s)
        except ValueError:
            pass
    return s


def config(items: dict[str, Item], file: str = "model.bin") -> dict:
    if "special:model.yml" not in items:
        raise ModelFileError(file, "no `special:model.yml` item: not a Marian model, or damaged")
    return parse_yaml(text(items["special:model.yml"]), file)


# --- writer (tests) ---------------------------------------------------------------------------

def write(path: str | None, items: list[tuple]) -> bytes:
    """Build a Marian binary from (name, type, array[, multiplier]) tuples; intgemm8 takes an int8
    array and its multiplier, text items a str with type INT8. Writes path if given; returns the bytes."""
    headers, names, shapes, blocks = [], b"", b"", []
    for entry in items:
        name, type_, arr = entry[:3]
        if isinstance(arr, str):
            raw = arr.encode("utf-8") + b"\0"
            shape = (len(raw),)
        elif type_ == INTGEMM8:
            arr = np.asarray(arr, dtype=np.int8)
            raw, shape = arr.tobytes() + struct.pack("<f", entry[3]), arr.shape
        else:
            arr = np.asarray(arr, dtype=np.dtype(_PLAIN[type_]).newbyteorder("<"))
            raw, shape = arr.tobytes(), arr.shape
        if not isinstance(arr, str):
            raw += b"\0" * (-len(raw) % ALIGN)
        n = name.encode("utf-8") + b"\0"
        headers.append(struct.pack("<4Q", len(n), type_, len(shape), len(raw)))
        names += n
        shapes += struct.pack(f"<{len(shape)}i", *shape)
        blocks.append(raw)
    head = struct.pack("<QQ", VERSION, len(items)) + b"".join(headers) + names + shapes
    pad = -(len(head) + 8) % ALIGN
    out = head + struct.pack("<Q", pad) + b"\0" * pad + b"".join(blocks)
    if path:
        with open(path, "wb") as f:
            f.write(out)
    return out
