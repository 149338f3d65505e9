"""The browser bundle format (formats/bundle.py) on small hand-made bundles: tensors in parts,
row chunks, whole files stored as they are or zlib-compressed, and the errors a damaged one gives."""
from __future__ import annotations

import hashlib
import json
import tracemalloc
import zlib

import numpy as np
import pytest

from attnviz.errors import ModelFileError
from attnviz.formats import bundle


def make(tmp_path, **kwargs):
    table = np.arange(40, dtype="<f2").reshape(10, 4)
    out = tmp_path / "b"
    bundle.write(out, model="tiny", source="made by a test", config={"n": 1},
                 tensors={"w": (np.ones((2, 3), "<f4").tobytes(), [2, 3], "<f4")}, rows={"table": (table, 4)},
                 files={"vocab": ("vocab.txt", b"a\nb\n"), "blob": ("blob.bin", bytes(range(256)) * 40)},
                 compress=("blob",), **kwargs)
    return out, table


def test_a_bundle_reads_back_what_was_written(tmp_path):
    out, table = make(tmp_path)
    b = bundle.Bundle(str(out))
    np.testing.assert_array_equal(b.tensor("w"), np.ones((2, 3)))
    np.testing.assert_array_equal(b.rows("table", [9, 0, 5]), table[[9, 0, 5]].astype(np.float32))
    assert [c["file"] for c in b.chunk_files("table", [9, 0, 5])] == [
        c["file"] for c in b.manifest["rows"]["table"]["chunks"]]  # rows 0-3, 4-7, 8-9: all three chunks
    with open(b.file_path("vocab"), "rb") as f:
        assert f.read() == b"a\nb\n"
    entry = b.manifest["files"]["blob"]
    assert entry["zlib"] and entry["raw_bytes"] == 256 * 40 and entry["bytes"] < entry["raw_bytes"]
    with open(b.file_path("blob"), "rb") as f:
        assert f.read() == bytes(range(256)) * 40  # expanded losslessly
    assert bundle.versioned_manifest(out).startswith("manifest.")


def rewrite_manifest(out, change) -> None:
    """Apply change(manifest) to a bundle's manifest on disk."""
    m = json.loads((out / bundle.MANIFEST).read_text())
    change(m)
    (out / bundle.MANIFEST).write_text(json.dumps(m))


def replace_file(out, entry: dict, data: bytes) -> None:
    """Put other bytes in a bundle's file and make the manifest vouch for them (a bad export rather
    than a bad download)."""
    (out / entry["file"]).write_bytes(data)

    def vouch(m):
        for e in [*m["files"].values(), *(c for t in m["rows"].values() for c in t["chunks"])]:
            if e["file"] == entry["file"]:
                e.update(bytes=len(data), sha256=hashlib.sha256(data).hexdigest())
    rewrite_manifest(out, vouch)


def test_a_compressed_file_that_does_not_expand_is_named(tmp_path):
    out, _ = make(tmp_path)
    entry = json.loads((out / bundle.MANIFEST).read_text())["files"]["blob"]
    replace_file(out, entry, b"not zlib at all")
    with pytest.raises(ModelFileError, match="cannot be expanded") as err:
        bundle.Bundle(str(out)).file_path("blob")
    assert err.value.file == entry["file"]


def test_a_compressed_file_expands_no_further_than_its_manifest_says(tmp_path):
    out, _ = make(tmp_path)
    entry = json.loads((out / bundle.MANIFEST).read_text())["files"]["blob"]
    bomb = zlib.compress(bytes(50 * 2**20), 9)  # 50 MB of zeros in about 50 kB
    replace_file(out, entry, bomb)
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError, match="does not expand to the 10,240 bytes") as err:
            bundle.Bundle(str(out)).file_path("blob")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert err.value.file == entry["file"] and peak < 2 * 2**20, peak


@pytest.mark.parametrize("damage, message", [
    (lambda data: data[:-1], "is 8,191 bytes, the manifest says 8,192"),
    (lambda data: data + b"\0", "is 8,193 bytes"),
    (lambda data: bytes([data[0] ^ 1]) + data[1:], "does not match its sha256"),
])
def test_a_chunk_or_part_whose_size_or_sha256_differs_is_named(tmp_path, damage, message):
    table = np.arange(4096, dtype="<f2").reshape(1024, 4)  # chunks of 1024 rows: 8,192 bytes
    out = tmp_path / "b"
    bundle.write(out, model="tiny", source="a test", config={}, rows={"table": (table, 1024)},
                 tensors={"w": (np.ones((32, 64), "<f4").tobytes(), [32, 64], "<f4")})
    m = json.loads((out / bundle.MANIFEST).read_text())
    chunk, part = m["rows"]["table"]["chunks"][0]["file"], m["tensors"]["w"]["file"]
    for name in (chunk, part):
        (out / name).write_bytes(damage((out / name).read_bytes()))
    b = bundle.Bundle(str(out))
    with pytest.raises(ModelFileError, match=message) as err:
        b.rows("table", [3])
    assert err.value.file == chunk
    with pytest.raises(ModelFileError, match=message) as err:
        b.tensor("w")
    assert err.value.file == part


def test_a_damaged_whole_file_is_refused_by_file_path(tmp_path):
    out, _ = make(tmp_path)
    entry = json.loads((out / bundle.MANIFEST).read_text())["files"]["vocab"]
    (out / entry["file"]).write_bytes(b"a\nc\n")
    with pytest.raises(ModelFileError, match="sha256") as err:
        bundle.Bundle(str(out)).file_path("vocab")
    assert err.value.file == entry["file"]


def test_when_the_browser_has_checked_the_sha256_only_sizes_are_checked_again(tmp_path, monkeypatch):
    out, _ = make(tmp_path)
    entry = json.loads((out / bundle.MANIFEST).read_text())["files"]["vocab"]
    (out / entry["file"]).write_bytes(b"a\nc\n")  # same size, other bytes: only a hash would see it
    monkeypatch.setattr(bundle, "_host_checks_sha256", False)
    bundle.host_checks_sha256()
    with open(bundle.Bundle(str(out)).file_path("vocab"), "rb") as f:
        assert f.read() == b"a\nc\n"
    (out / entry["file"]).write_bytes(b"a\n")  # a cut file is still refused by name
    with pytest.raises(ModelFileError, match="is 2 bytes, the manifest says 4") as err:
        bundle.Bundle(str(out)).file_path("vocab")
    assert err.value.file == entry["file"]


def test_a_row_beyond_the_table_is_a_model_file_error(tmp_path):
    out, _ = make(tmp_path)
    with pytest.raises(ModelFileError, match="has 10 rows, not row 10"):
        bundle.Bundle(str(out)).rows("table", [0, 10])


MANIFEST_DAMAGE = [
    ("no config", lambda m: m.pop("config"), "config is not an object"),
    ("files not an object", lambda m: m.update(files=[]), "files is not an object"),
    ("a path, not a file name", lambda m: m["files"]["vocab"].update(file="../../etc/passwd"), "not a plain file name"),
    ("a folder in the name", lambda m: m["files"]["vocab"].update(file="sub/vocab.txt"), "not a plain file name"),
    ("negative size", lambda m: m["files"]["vocab"].update(bytes=-1), "not a whole number"),
    ("size as text", lambda m: m["files"]["vocab"].update(bytes="4"), "not a whole number"),
    ("bad sha256", lambda m: m["files"]["vocab"].update(sha256="xyz"), "64 lower-case hex"),
    ("no expanded size", lambda m: m["files"]["blob"].pop("raw_bytes"), "expanded size"),
    ("tensor past its part", lambda m: m["tensors"]["w"].update(offset=10**6), "past the end"),
    ("tensor in an unknown file", lambda m: m["tensors"]["w"].update(file="nope.bin"), "not one of its"),
    ("tensor shape too big", lambda m: m["tensors"]["w"].update(shape=[2**40, 2**40]), "does not fill"),
    ("tensor of objects", lambda m: m["tensors"]["w"].update(dtype="|O"), "not a little-endian number type"),
    ("big-endian tensor", lambda m: m["tensors"]["w"].update(dtype=">f4"), "not a little-endian number type"),
    ("garbage dtype", lambda m: m["tensors"]["w"].update(dtype="(99999999999,)f8"), "number type"),
    ("missing chunk", lambda m: m["rows"]["table"]["chunks"].pop(), "does not list 3 chunks"),
    ("zero rows per chunk", lambda m: m["rows"]["table"].update(rows_per_chunk=0), "at least 1"),
    ("chunk of the wrong size", lambda m: m["rows"]["table"]["chunks"][0].update(bytes=1), "rows of 4 take 32"),
]


@pytest.mark.parametrize("change, message", [d[1:] for d in MANIFEST_DAMAGE], ids=[d[0] for d in MANIFEST_DAMAGE])
def test_a_damaged_manifest_is_refused_when_opened(tmp_path, change, message):
    out, _ = make(tmp_path)
    rewrite_manifest(out, change)
    with pytest.raises(ModelFileError, match=message) as err:
        bundle.Bundle(str(out))
    assert err.value.file == bundle.MANIFEST


def test_deeply_nested_json_is_a_model_file_error(tmp_path):
    (tmp_path / bundle.MANIFEST).write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ModelFileError, match="cannot be read"):
        bundle.Bundle(str(tmp_path))


def test_a_missing_chunk_or_part_is_named(tmp_path):
    out, _ = make(tmp_path)
    m = json.loads((out / bundle.MANIFEST).read_text())
    (out / m["rows"]["table"]["chunks"][1]["file"]).unlink()
    (out / m["tensors"]["w"]["file"]).unlink()
    b = bundle.Bundle(str(out))
    with pytest.raises(ModelFileError, match="has not been loaded"):
        b.rows("table", [5])
    with pytest.raises(ModelFileError, match="has not been loaded"):
        b.tensor("w")


def test_a_manifest_that_is_not_ours_is_refused(tmp_path):
    (tmp_path / bundle.MANIFEST).write_text('{"format": "something else"}')
    with pytest.raises(ModelFileError, match="not an attnviz model bundle"):
        bundle.Bundle(str(tmp_path))
    (tmp_path / bundle.MANIFEST).write_text("{broken")
    with pytest.raises(ModelFileError, match="cannot be read"):
        bundle.Bundle(str(tmp_path))
