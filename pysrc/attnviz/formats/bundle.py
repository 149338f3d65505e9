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
import re
import shutil
import sys
import zlib
from pathlib import Path

import numpy as np

from ..errors import ModelFileError
from . import json_text
from .sizes import nbytes

FORMAT = "attnviz-bundle"
MANIFEST = "manifest.json"
LICENCE = "LICENSE.txt"
PART_BYTES = 23 * 2**20  # under 25 MB
ALIGN = 64
HASH_BLOCK = 2**20  # bytes hashed at a time when checking a file on disk

# In the browser the worker checks every file's sha256 before it writes it into Pyodide's file
# system (and before it keeps it in the Cache API): hashing SmolLM2's 98 MB again here cost 2.4 s
# per load. The worker says so through host_checks_sha256(); sizes are still checked here.
_host_checks_sha256 = False


def host_checks_sha256() -> None:
    """Called by the browser's worker, whose downloader has checked every file's sha256."""
    global _host_checks_sha256
    _host_checks_sha256 = True


class Bundle:
    """An exported model folder. In the browser, the worker has written the manifest, the base
    files and the row chunks a request needs into the folder before Python reads them. The
    manifest is checked whole when opened; each file is checked against its size and sha256 the
    first time it is read, so a damaged or partial file is refused by name, never half-used."""

    def __init__(self, path: str) -> None:
        self.path = path
        manifest_path = os.path.join(path, MANIFEST)
        try:
            with open(manifest_path, "rb") as f:
                self.manifest = json_text.loads(f.read())
        except (OSError, ValueError) as exc:
            raise ModelFileError(MANIFEST, f"cannot be read ({type(exc).__name__}: {str(exc)[:120]})") from None
        self._entries = check_manifest(self.manifest)  # file name -> its {file, bytes, sha256}
        self.config: dict = self.manifest["config"]
        self._blobs: dict[str, bytes] = {}
        self._chunks: dict[tuple[str, int], np.ndarray] = {}
        self._verified: set[str] = set()

    def _verify(self, name: str, data: bytes | None = None) -> None:
        """Refuse a file whose size or sha256 is not the manifest's (data: its bytes, if read;
        else the file is hashed from disk a block at a time)."""
        if name in self._verified:
            return
        entry = self._entries[name]
        digest, size = hashlib.sha256(), 0
        try:
            if _host_checks_sha256:
                size = len(data) if data is not None else os.path.getsize(os.path.join(self.path, name))
            elif data is not None:
                digest.update(data)
                size = len(data)
            else:
                with open(os.path.join(self.path, name), "rb") as f:
                    while block := f.read(HASH_BLOCK):
                        digest.update(block)
                        size += len(block)
        except OSError:
            raise ModelFileError(name, "has not been loaded") from None
        if size != entry["bytes"]:
            raise ModelFileError(name, f"is {size:,} bytes, the manifest says {entry['bytes']:,}: a partial or "
                                       "damaged download")
        if not _host_checks_sha256 and digest.hexdigest() != entry["sha256"]:
            raise ModelFileError(name, "does not match its sha256 in the manifest: a damaged download")
        self._verified.add(name)

    def file_path(self, key: str) -> str:
        """The local path of a whole file by its key (e.g. "vocab"), checked. A file stored
        compressed (zlib) is expanded once, beside it, into the bytes it was made from."""
        if key not in self.manifest["files"]:
            raise ModelFileError(MANIFEST, f"lists no file {key!r}")
        entry = self.manifest["files"][key]
        path = os.path.join(self.path, entry["file"])
        if not entry.get("zlib"):
            self._verify(entry["file"])
            return path
        raw = path + ".raw"  # expanded by an earlier load: kept if whole (its name holds the hash)
        if not os.path.exists(raw) or os.path.getsize(raw) != entry["raw_bytes"]:
            data = _expand(self._read(entry["file"]), entry)
            self._blobs.pop(entry["file"], None)
            with open(raw, "wb") as f:
                f.write(data)
        return raw

    def _read(self, name: str) -> bytes:
        if name not in self._blobs:
            try:
                with open(os.path.join(self.path, name), "rb") as f:
                    data = f.read()
            except OSError:
                raise ModelFileError(name, "has not been loaded") from None
            self._verify(name, data)
            self._blobs[name] = data
        return self._blobs[name]

    def tensor_bytes(self, name: str) -> memoryview:
        if name not in self.manifest["tensors"]:
            raise ModelFileError(MANIFEST, f"lists no tensor {name!r}")
        t = self.manifest["tensors"][name]
        blob = self._read(t["file"])
        return memoryview(blob)[t["offset"]:t["offset"] + t["nbytes"]]

    def tensor(self, name: str) -> np.ndarray:
        """A tensor stored with a numpy dtype, as float32."""
        data = self.tensor_bytes(name)
        t = self.manifest["tensors"][name]
        if t["dtype"].startswith("gguf:"):
            raise ModelFileError(MANIFEST, f"tensor {name!r} is stored as {t['dtype']}, not as numbers")
        return np.frombuffer(data, dtype=np.dtype(t["dtype"])).reshape(t["shape"]).astype(np.float32)

    def base_files(self) -> list[dict]:
        """Files every request needs: all whole files (the row chunks come per request)."""
        return list(self.manifest["files"].values())

    def _table(self, table: str, ids) -> dict:
        if table not in self.manifest["rows"]:
            raise ModelFileError(MANIFEST, f"lists no row table {table!r}")
        t = self.manifest["rows"][table]
        bad = [int(i) for i in ids if not 0 <= int(i) < t["rows"]]
        if bad:  # a vocabulary longer than its embedding table: the two files do not belong together
            raise ModelFileError(MANIFEST, f"row table {table!r} has {t['rows']} rows, not row {bad[0]}")
        return t

    def chunk_files(self, table: str, ids) -> list[dict]:
        """The chunk entries holding the rows of these ids."""
        t = self._table(table, ids)
        return [t["chunks"][c] for c in sorted({int(i) // t["rows_per_chunk"] for i in ids})]

    def rows(self, table: str, ids) -> np.ndarray:
        """(n, cols) float32 rows of a row table."""
        t = self._table(table, ids)
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


def _expand(data: bytes, entry: dict) -> bytes:
    """A zlib file's content, never more than the manifest's raw_bytes (a damaged or hostile stream
    cannot expand into more memory than the file it claims to be)."""
    z = zlib.decompressobj()
    try:
        out = z.decompress(data, entry["raw_bytes"] + 1)
    except zlib.error as exc:
        raise ModelFileError(entry["file"], f"cannot be expanded ({exc})") from None
    if len(out) != entry["raw_bytes"] or not z.eof:
        raise ModelFileError(entry["file"], f"does not expand to the {entry['raw_bytes']:,} bytes the manifest says")
    return out


# --- the manifest, checked whole before any file is read -----------------------------------------

SAFE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+-]{0,199}")  # a plain file name: no folders, no "..", no dotfiles
SHA256 = re.compile(r"[0-9a-f]{64}")


def _fail(message: str) -> ModelFileError:
    return ModelFileError(MANIFEST, message)


def _count(value: object, what: str, low: int = 0) -> int:
    if type(value) is not int or value < low:
        raise _fail(f"{what} is {value!r}, not a whole number of at least {low}")
    return value


def _obj(value: object, what: str) -> dict:
    if not isinstance(value, dict):
        raise _fail(f"{what} is not an object")
    return value


def _file_entry(entry: object, what: str) -> dict:
    entry = _obj(entry, what)
    name = entry.get("file")
    if not isinstance(name, str) or not SAFE_NAME.fullmatch(name) or ".." in name:
        raise _fail(f"{what} names the file {name!r}, which is not a plain file name")
    _count(entry.get("bytes"), f"the size of {name}")
    if not isinstance(entry.get("sha256"), str) or not SHA256.fullmatch(entry["sha256"]):
        raise _fail(f"the sha256 of {name} is not 64 lower-case hex digits")
    if entry.get("zlib"):
        size = _count(entry.get("raw_bytes"), f"the expanded size of {name}")
        if size >= sys.maxsize:  # zlib's output limit (size + 1) must fit C's ssize_t (2 GB on wasm32)
            raise _fail(f"the expanded size of {name} is {size:,} bytes, more than this Python can hold")
    return entry


def _numeric_dtype(value: object, what: str) -> np.dtype:
    """A little-endian numeric numpy dtype, spelt as numpy spells it ("<f2", "|i1")."""
    try:
        dtype = np.dtype(value) if isinstance(value, str) else None
    except (TypeError, ValueError):
        dtype = None
    if dtype is None or dtype.kind not in "fiu" or dtype.str != value or dtype.str[0] not in "<|":
        raise _fail(f"{what} has dtype {value!r}, not a little-endian number type")
    return dtype


def check_manifest(manifest: object) -> dict[str, dict]:
    """Every field of a manifest the reader uses, checked: types, sizes, and tensors and row chunks
    that fit in their files. Returns every file's entry by file name."""
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise _fail("is not an attnviz model bundle")
    _obj(manifest.get("config"), "config")
    entries: dict[str, dict] = {}
    for key, entry in _obj(manifest.get("files"), "files").items():
        entry = _file_entry(entry, f"file {key!r}")
        entries[entry["file"]] = entry
    for name, t in _obj(manifest.get("tensors"), "tensors").items():
        t = _obj(t, f"tensor {name!r}")
        part = entries.get(t.get("file")) if isinstance(t.get("file"), str) else None
        if part is None or part.get("zlib"):
            raise _fail(f"tensor {name!r} is in {t.get('file')!r}, which is not one of its (uncompressed) files")
        offset, size = _count(t.get("offset"), f"the offset of {name!r}"), _count(t.get("nbytes"), f"the size of {name!r}")
        if offset + size > part["bytes"]:
            raise _fail(f"tensor {name!r} ends at byte {offset + size:,}, past the end of {part['file']}")
        shape = t.get("shape")
        if not isinstance(shape, list) or not all(type(d) is int and d >= 0 for d in shape):
            raise _fail(f"tensor {name!r} has shape {shape!r}, not a list of sizes")
        if not isinstance(t.get("dtype"), str):
            raise _fail(f"tensor {name!r} has no dtype")
        if not t["dtype"].startswith("gguf:"):
            itemsize = _numeric_dtype(t["dtype"], f"tensor {name!r}").itemsize
            if nbytes(shape, itemsize, part["bytes"]) != size:
                raise _fail(f"tensor {name!r} of shape {shape} does not fill its {size:,} bytes")
    for name, t in _obj(manifest.get("rows"), "rows").items():
        t = _obj(t, f"row table {name!r}")
        rows, cols = _count(t.get("rows"), f"the rows of {name!r}"), _count(t.get("cols"), f"the columns of {name!r}", 1)
        per = _count(t.get("rows_per_chunk"), f"the rows per chunk of {name!r}", 1)
        itemsize = _numeric_dtype(t.get("dtype"), f"row table {name!r}").itemsize
        chunks = t.get("chunks")
        if not isinstance(chunks, list) or len(chunks) != -(-rows // per):
            raise _fail(f"row table {name!r} of {rows:,} rows in chunks of {per} does not list "
                        f"{-(-rows // per):,} chunks")
        for c, chunk in enumerate(chunks):
            chunk = _file_entry(chunk, f"chunk {c} of {name!r}")
            expected = min(per, rows - c * per) * cols * itemsize
            if chunk["bytes"] != expected or chunk.get("zlib"):
                raise _fail(f"chunk {chunk['file']} is listed as {chunk['bytes']:,} bytes; {min(per, rows - c * per)} "
                            f"rows of {cols} take {expected:,}")
            entries[chunk["file"]] = chunk
    return entries


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
