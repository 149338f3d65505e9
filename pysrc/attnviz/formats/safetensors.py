"""Read and write the safetensors format with numpy only: an 8-byte little-endian header length,
a JSON header {name: {dtype, shape, data_offsets}, "__metadata__"?: {str: str}}, then the raw
little-endian tensor bytes.

The reader checks what the reference implementation checks before it touches the data: the header
fits in the file (and in 100 MB), is a JSON object, every dtype is known, every shape is a list of
non-negative integers whose byte size equals its data_offsets span, and the spans tile the data
exactly (no gap, no overlap, nothing past the end). A file that breaks any of these raises
ModelFileError naming the file.
"""
from __future__ import annotations

import json
import os
import struct

import numpy as np

from ..errors import ModelFileError, read_model_file
from . import json_text
from .sizes import nbytes

DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I64": np.int64, "I32": np.int32,
          "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}
MAX_HEADER = 100_000_000  # bytes, as the reference reader allows
METADATA = "__metadata__"


def read(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """All tensors of a .safetensors file, by name (views into one buffer read from disk)."""
    return parse(*read_model_file(os.fspath(path)))


def _header(data: bytes, file: str) -> dict:
    if len(data) < 8:
        raise ModelFileError(file, f"is not a safetensors file: {len(data)} bytes, too short for the header length")
    (header_len,) = struct.unpack_from("<Q", data, 0)
    if header_len > min(len(data) - 8, MAX_HEADER):
        raise ModelFileError(file, f"is not a safetensors file or is truncated: the header claims {header_len} "
                                   f"bytes, the file has {len(data) - 8} after the length")
    try:
        header = json_text.loads(bytes(data[8:8 + header_len]).decode("utf-8"))
    except ValueError as e:  # UnicodeDecodeError, JSONDecodeError, nested too deeply
        raise ModelFileError(file, f"has a damaged safetensors header ({type(e).__name__}: {str(e)[:80]})") from None
    if not isinstance(header, dict):
        raise ModelFileError(file, "has a safetensors header that is not a JSON object")
    return header


def _entry(name: str, info: object, file: str, data_bytes: int) -> tuple[np.dtype, tuple[int, ...], int, int]:
    """(dtype, shape, start, end) of one header entry, every field checked (data_bytes: the size of
    the data after the header)."""
    if not isinstance(info, dict):
        raise ModelFileError(file, f"tensor {name!r}: its header entry is not an object")
    dtype, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
    if not isinstance(dtype, str) or dtype not in DTYPES:
        raise ModelFileError(file, f"tensor {name!r} has dtype {dtype!r}; supported: {', '.join(DTYPES)}")
    if not isinstance(shape, list) or not all(type(d) is int and d >= 0 for d in shape):
        raise ModelFileError(file, f"tensor {name!r} has shape {shape!r}, not a list of sizes")
    if (not isinstance(offsets, list) or len(offsets) != 2 or not all(type(o) is int for o in offsets)
            or not 0 <= offsets[0] <= offsets[1]):
        raise ModelFileError(file, f"tensor {name!r} has data_offsets {offsets!r}, not [start, end]")
    if offsets[1] > data_bytes:
        raise ModelFileError(file, f"is truncated: tensor {name!r} ends at byte {offsets[1]:,} of the data, "
                                   f"the file holds {data_bytes:,}")
    np_dtype = np.dtype(DTYPES[dtype]).newbyteorder("<")
    if nbytes(shape, np_dtype.itemsize, data_bytes) != offsets[1] - offsets[0]:
        raise ModelFileError(file, f"tensor {name!r} of shape {shape} ({dtype}) does not fill its "
                                   f"{offsets[1] - offsets[0]} bytes")
    return np_dtype, tuple(shape), offsets[0], offsets[1]


def parse(data: bytes, file: str = "model.safetensors") -> dict[str, np.ndarray]:
    header = _header(data, file)
    body = memoryview(data)[8 + struct.unpack_from("<Q", data, 0)[0]:]
    metadata = header.pop(METADATA, {})
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise ModelFileError(file, f"{METADATA} is not a map of strings")
    entries = {name: _entry(name, info, file, len(body)) for name, info in header.items()}
    end = 0  # the spans, in order, must tile the data: a gap or an overlap is a damaged file
    for name, (_, _, start, stop) in sorted(entries.items(), key=lambda e: (e[1][2], e[1][3])):
        if start != end:
            raise ModelFileError(file, f"tensor {name!r} starts at byte {start} of the data, expected {end} "
                                       "(a gap or an overlap)")
        end = stop
    if end != len(body):
        raise ModelFileError(file, f"the tensors cover {end} bytes of data, the file holds {len(body)}"
                                   + (" (truncated)" if end > len(body) else ""))
    return {name: np.frombuffer(body[start:stop], dtype=dtype).reshape(shape)
            for name, (dtype, shape, start, stop) in entries.items()}


def write(path: str, tensors: dict[str, np.ndarray]) -> bytes:
    """Write tensors (used by tests to round-trip the reader); returns the file's bytes."""
    names = {np.dtype(v): k for k, v in DTYPES.items()}
    header, offset, blobs = {}, 0, []
    for name, array in tensors.items():
        blob = np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": names[array.dtype], "shape": list(array.shape), "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    head = json.dumps(header).encode()
    head += b" " * (-len(head) % 8)  # the format pads the header to 8 bytes
    data = struct.pack("<Q", len(head)) + head + b"".join(blobs)
    if path:
        with open(path, "wb") as f:
            f.write(data)
    return data
