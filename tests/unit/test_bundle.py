"""The browser bundle format (formats/bundle.py) on small hand-made bundles: tensors in parts,
row chunks, whole files stored as they are or zlib-compressed, and the errors a damaged one gives."""
from __future__ import annotations

import json

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


def test_a_damaged_compressed_file_is_named(tmp_path):
    out, _ = make(tmp_path)
    entry = json.loads((out / bundle.MANIFEST).read_text())["files"]["blob"]
    (out / entry["file"]).write_bytes(b"not zlib at all")
    with pytest.raises(ModelFileError, match="cannot be expanded") as err:
        bundle.Bundle(str(out)).file_path("blob")
    assert err.value.file == entry["file"]


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
