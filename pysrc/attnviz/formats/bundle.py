"""Our browser format for a model's weights: a manifest, tensors packed into content-addressed
parts (each at most PART_BYTES, as static hosts refuse very large files), row tables (an
embedding matrix) split into chunks so that a sentence fetches only the rows it needs, and any
other files (a vocabulary). Every file name carries its sha256, so caches never serve stale data;
the browser checks each file's size and hash against the manifest.

manifest.json
    format "attnviz-bundle", model (name), source (where the weights came from), licence (the
    file beside them holding the weights' licence, or null), config (the model's own), version
    (hash of every file's hash), total_bytes,
    files   {key: {file, bytes, sha256, zlib?, raw_bytes?}}   whole files (parts, vocabularies),
                                                  some stored zlib-compressed
    tensors {name: {file, offset, nbytes, shape, dtype}}   dtype: a numpy dtype ("<f2") or a
                                                  format's own block type ("gguf:Q4_1")
    rows    {name: {rows, cols, rows_per_chunk, dtype, chunks: [{file, bytes, sha256}]}}
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import zlib
from pathlib import Path

import numpy as np

from ..errors import ModelFileError

FORMAT = "attnviz-bundle"
MANIFEST = "manifest.json"
LICENCE = "LICENSE.txt"
PART_BYTES = 23 * 2**20  # under 25 MB
ALIGN = 64


class Bundle:
    """An exported model folder. In the browser, the worker has written the manifest, the base
    files and the row chunks a request needs into the folder before Python reads them."""

    def __init__(self, path: str) -> None:
        self.path = path
        manifest_path = os.path.join(path, MANIFEST)
        try:
            with open(manifest_path, encoding="utf-8") as f:
                self.manifest = json.load(f)
        except (OSError, ValueError) as exc:
            raise ModelFileError(MANIFEST, f"cannot be read ({exc})") from None
        if not isinstance(self.manifest, dict) or self.manifest.get("format") != FORMAT:
            raise ModelFileError(MANIFEST, "is not an attnviz model bundle")
        self.config: dict = self.manifest["config"]
        self._blobs: dict[str, bytes] = {}
        self._chunks: dict[tuple[str, int], np.ndarray] = {}

    def file_path(self, key: str) -> str:
        """The local path of a whole file by its key (e.g. "vocab"). A file stored compressed
        (zlib) is expanded once, beside it, into the bytes it was made from."""
        entry = self.manifest["files"][key]
        path = os.path.join(self.path, entry["file"])
        if not entry.get("zlib"):
            return path
        raw = path + ".raw"
        if not os.path.exists(raw):
            try:
                with open(path, "rb") as f:
                    data = zlib.decompress(f.read())
            except OSError:
                raise ModelFileError(entry["file"], "has not been loaded") from None
            except zlib.error as exc:
                raise ModelFileError(entry["file"], f"cannot be expanded ({exc})") from None
            if len(data) != entry["raw_bytes"]:
                raise ModelFileError(entry["file"], f"expands to {len(data)} bytes, not {entry['raw_bytes']}")
            with open(raw, "wb") as f:
                f.write(data)
        return raw

    def _read(self, name: str) -> bytes:
        if name not in self._blobs:
            try:
                with open(os.path.join(self.path, name), "rb") as f:
                    self._blobs[name] = f.read()
            except OSError:
                raise ModelFileError(name, "has not been loaded") from None
        return self._blobs[name]

    def tensor_bytes(self, name: str) -> memoryview:
        t = self.manifest["tensors"][name]
        blob = self._read(t["file"])
        if t["offset"] + t["nbytes"] > len(blob):
            raise ModelFileError(t["file"], f"is too short for the tensor {name}")
        return memoryview(blob)[t["offset"]:t["offset"] + t["nbytes"]]

    def tensor(self, name: str) -> np.ndarray:
        """A tensor stored with a numpy dtype, as float32."""
        t = self.manifest["tensors"][name]
        return np.frombuffer(self.tensor_bytes(name), dtype=np.dtype(t["dtype"])).reshape(t["shape"]).astype(np.float32)

    def base_files(self) -> list[dict]:
        """Files every request needs: all whole files (the row chunks come per request)."""
        return list(self.manifest["files"].values())

    def chunk_files(self, table: str, ids) -> list[dict]:
        """The chunk entries holding the rows of these ids."""
        t = self.manifest["rows"][table]
        return [t["chunks"][c] for c in sorted({int(i) // t["rows_per_chunk"] for i in ids})]

    def rows(self, table: str, ids) -> np.ndarray:
        """(n, cols) float32 rows of a row table."""
        t = self.manifest["rows"][table]
        per = t["rows_per_chunk"]
        out = np.empty((len(ids), t["cols"]), dtype=np.float32)
        for n, i in enumerate(ids):
            c = int(i) // per
            if (table, c) not in self._chunks:
                entry = t["chunks"][c]
                data = self._read(entry["file"])
                self._chunks[table, c] = np.frombuffer(data, dtype=np.dtype(t["dtype"])).reshape(-1, t["cols"])
                self._blobs.pop(entry["file"], None)  # the array keeps the bytes
            out[n] = self._chunks[table, c][int(i) % per]
        return out


def is_bundle(path: str) -> bool:
    return os.path.exists(os.path.join(path, MANIFEST))


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _write_file(out: Path, stem: str, suffix: str, data: bytes) -> dict:
    digest = _sha256(data)
    name = f"{stem}.{digest[:12]}{suffix}"
    (out / name).write_bytes(data)
    return {"file": name, "bytes": len(data), "sha256": digest}


def write(out: Path, *, model: str, source: str, config: dict, tensors: dict[str, tuple[bytes, list[int], str]],
          rows: dict[str, tuple[np.ndarray, int]] | None = None, files: dict[str, tuple[str, bytes]] | None = None,
          compress: tuple[str, ...] = (), licence: Path | None = None) -> dict:
    """Write a bundle into out (replacing it). tensors: name -> (raw bytes, shape, dtype);
    rows: name -> (array (rows, cols), rows per chunk), stored in the array's dtype;
    files: key -> (file name stem and suffix, e.g. "vocab.txt", bytes); compress: keys of files
    stored zlib-compressed (lossless: fewer bytes to download); licence: the weights' licence text, kept beside them as LICENSE.txt (named in the manifest, never downloaded by the
    worker). Returns the manifest."""
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    entries, index, parts, part, size = {}, {}, [], [], 0
    for name, (data, shape, dtype) in tensors.items():
        if part and size + len(data) > PART_BYTES:
            parts.append(part)
            part, size = [], 0
        part.append(name)
        size += len(data) + (-len(data) % ALIGN)
    if part:
        parts.append(part)
    for p, names in enumerate(parts):
        blob, offsets = b"", {}
        for name in names:
            offsets[name] = len(blob)
            blob += tensors[name][0] + b"\0" * (-len(tensors[name][0]) % ALIGN)
        entry = entries[f"part{p}"] = _write_file(tmp, f"part{p}", ".bin", blob)
        for name in names:
            data, shape, dtype = tensors[name]
            index[name] = {"file": entry["file"], "offset": offsets[name], "nbytes": len(data),
                           "shape": list(shape), "dtype": dtype}
    for key, (file_name, data) in (files or {}).items():
        stem, _, suffix = file_name.rpartition(".")
        if key in compress:
            entries[key] = {**_write_file(tmp, stem, f".{suffix}.zlib", zlib.compress(data, 9)),
                            "zlib": True, "raw_bytes": len(data)}
        else:
            entries[key] = _write_file(tmp, stem, "." + suffix, data)
    tables = {}
    for name, (array, per) in (rows or {}).items():
        chunks = [_write_file(tmp, f"{name}-{i // per:03d}", ".bin", np.ascontiguousarray(array[i:i + per]).tobytes())
                  for i in range(0, len(array), per)]
        tables[name] = {"rows": len(array), "cols": array.shape[1], "rows_per_chunk": per,
                        "dtype": array.dtype.str, "chunks": chunks}
    every = list(entries.values()) + [c for t in tables.values() for c in t["chunks"]]
    if licence is not None:
        shutil.copyfile(licence, tmp / LICENCE)
    manifest = {"format": FORMAT, "model": model, "source": source, "config": config,
                "licence": LICENCE if licence is not None else None,
                "version": _sha256("".join(f["sha256"] for f in every).encode())[:16],
                "total_bytes": sum(f["bytes"] for f in every),
                "files": entries, "tensors": index, "rows": tables}
    text = json.dumps(manifest, indent=1).encode()
    (tmp / MANIFEST).write_bytes(text)
    _write_file(tmp, "manifest", ".json", text)  # the same, under a name a browser may cache forever
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return manifest


def versioned_manifest(out: Path) -> str:
    """The file name of the content-addressed copy of a bundle's manifest."""
    return next(out.glob("manifest.*.json")).name
