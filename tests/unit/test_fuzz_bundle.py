"""Fuzzing the bundle reader the browser path uses (formats/bundle.py): a damaged manifest, or a
damaged part, chunk or whole file, ends in the data the manifest describes or a ModelFileError
naming the file at fault; never another exception, a hang or a large allocation."""
from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from attnviz.errors import ModelFileError
from attnviz.formats import bundle
from tests.support.fuzzing import fuzz_settings, mutated, mutated_json, outcome

TABLE = np.arange(40, dtype="<f2").reshape(10, 4)
ORIGINAL = Path(tempfile.mkdtemp(prefix="attnviz-fuzz-")) / "original"
MANIFEST = bundle.write(ORIGINAL, model="tiny", source="a test", config={"n": 1},
                        tensors={"w": (np.ones((2, 3), "<f4").tobytes(), [2, 3], "<f4")}, rows={"table": (TABLE, 4)},
                        files={"vocab": ("vocab.txt", b"a\nb\n"), "blob": ("blob.bin", bytes(range(256)) * 4)},
                        compress=("blob",))
WORK = ORIGINAL.with_name("work")
shutil.copytree(ORIGINAL, WORK)


def fresh(damaged: dict[str, bytes] | None = None) -> Path:
    """The working copy of the valid bundle, with these files damaged (each example starts from
    the original files: the ones an earlier example damaged are restored, expanded copies removed)."""
    for path in WORK.iterdir():
        original = ORIGINAL / path.name
        if not original.exists():
            path.unlink()
        elif path.read_bytes() != original.read_bytes():
            shutil.copyfile(original, path)
    for name, data in (damaged or {}).items():
        (WORK / name).write_bytes(data)
    return WORK


def read_everything(folder: Path) -> None:
    b = bundle.Bundle(str(folder))
    for name in b.manifest["tensors"]:
        b.tensor(name)
    for name, table in b.manifest["rows"].items():
        ids = list(range(table["rows"]))
        b.chunk_files(name, ids)
        assert b.rows(name, ids).shape == (len(ids), table["cols"])
    for key in b.manifest["files"]:
        with open(b.file_path(key), "rb") as f:
            f.read()


def test_the_valid_bundle_reads_back():
    folder = fresh()
    read_everything(folder)
    np.testing.assert_array_equal(bundle.Bundle(str(folder)).rows("table", [9, 2]), TABLE[[9, 2]].astype(np.float32))


@fuzz_settings(150)
@given(mutated_json(MANIFEST))
def test_a_damaged_manifest_reads_or_is_named(manifest):
    """A refusal names the manifest, or a file the (damaged) manifest lists: a changed sha256 or
    size makes its file the one that does not match."""
    text = json.dumps(manifest)
    folder = fresh({bundle.MANIFEST: text.encode()})
    outcome(lambda _: read_everything(folder), text.encode(), frozenset({bundle.MANIFEST, *file_names(manifest)}))


def test_an_expanded_size_past_what_python_can_hold_is_refused():
    """Found by the fuzzer: zlib's output limit (raw_bytes + 1) overflowed C's ssize_t."""
    damaged = json.loads(json.dumps(MANIFEST))
    entry = next(e for e in damaged["files"].values() if e.get("zlib"))
    entry["raw_bytes"] = 2 ** 63 - 1
    folder = fresh({bundle.MANIFEST: json.dumps(damaged).encode()})
    with pytest.raises(ModelFileError, match="more than this Python can hold") as caught:
        read_everything(folder)
    assert caught.value.file == bundle.MANIFEST


def file_names(doc) -> set[str]:
    """Every {"file": name} in a JSON document."""
    if isinstance(doc, dict):
        own = {doc["file"]} if isinstance(doc.get("file"), str) else set()
        return own.union(*(file_names(v) for v in doc.values()))
    if isinstance(doc, list):
        return set().union(*(file_names(v) for v in doc))
    return set()


FILES = sorted(file_names(MANIFEST))


@fuzz_settings(100)
@given(st.sampled_from(FILES).flatmap(lambda name: st.tuples(st.just(name), mutated((ORIGINAL / name).read_bytes(), hot=64))))
def test_a_damaged_file_is_named(damage):
    name, data = damage
    folder = fresh({name: data})
    error = outcome(lambda _: read_everything(folder), data, name)
    assert (error is None) == (data == (ORIGINAL / name).read_bytes())  # any change is caught by its sha256
