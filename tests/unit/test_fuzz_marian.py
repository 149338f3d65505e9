"""Fuzzing the Marian readers: the model file (.bin), the lexical shortlist, and the whole load of a
translator folder (model, SentencePiece vocabulary and shortlist: what `--model marian-en-pt
--weights FOLDER` reads). Every damaged copy of a small valid file, and random bytes, end in a
parse or a ModelFileError naming the file (tests/support/fuzzing.py)."""
from __future__ import annotations

import os
import struct
import tempfile

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st

from attnviz.formats import marian as fmt
from attnviz.formats import shortlist as sl
from attnviz.models import marian_en_pt
from attnviz.models.marian import folder_files
from tests.support.fuzzing import fuzz_settings, mutated, outcome, random_bytes
from tests.support.tiny_models import TINY_PIECES, TINY_YML, model, tiny_model

NAME = "fuzz.bin"


def small_bin() -> bytes:
    """One item of each type we read (an intgemm8 matrix, float32, float16, int8) and model.yml."""
    return fmt.write(None, [("enc_Wq", fmt.INTGEMM8, np.arange(6, dtype=np.int8).reshape(3, 2), 4.0),
                            ("enc_bq", fmt.FLOAT32, np.array([[1.5, -2.0]])),
                            ("half", fmt.FLOAT16, np.array([[0.5, 2.0, -1.0]])),
                            ("bytes", fmt.INT8, np.array([[-3, 4]])),
                            ("special:model.yml", fmt.INT8, "dim-emb: 256\nxs:\n  - 1\n  - 2\n")])


SMALL = small_bin()
N_ITEMS = 5
# version, item count, then each item's name length, type, shape length and data length
BIN_FIELDS = (0, 8) + tuple(16 + 8 * i for i in range(4 * N_ITEMS))
HEADER_END = len(SMALL) - sum(len(it.data) for it in fmt.parse(SMALL).values())


def read_bin(data: bytes) -> None:
    items = fmt.parse(data, NAME)
    for item in items.values():
        if item.type in (fmt.INTGEMM8, fmt.FLOAT32, fmt.FLOAT16, fmt.INT8):
            values = fmt.values(item, NAME)
            assert values.dtype == np.float32 and values.shape == item.shape
            if values.ndim == 2:
                fmt.matrix(item, NAME)
    if "special:model.yml" in items:
        fmt.config(items, NAME)


@fuzz_settings(300)
@given(mutated(SMALL, hot=HEADER_END, fields=BIN_FIELDS))
@example(SMALL)
def test_damaged_marian_files_parse_or_name_the_file(data):
    outcome(read_bin, data, NAME)


@fuzz_settings(150)
@given(random_bytes((b"", struct.pack("<QQ", 1, 1), struct.pack("<QQ", 1, 3))))
def test_random_bytes_are_refused_by_name(data):
    assert outcome(read_bin, data, NAME) is not None


SHORTLIST = sl.write(2, 3, [[5], [], [7, 8, 1], [9]])


def read_shortlist(data: bytes) -> None:
    lex = sl.parse(data, "lex.bin")
    allowed = lex.allowed(list(range(-1, 6)), vocab_size=10)
    assert allowed.dtype.kind == "i" and np.all(np.diff(allowed) > 0) and np.all(allowed < 10)


@fuzz_settings(200)
@given(mutated(SHORTLIST, hot=48, fields=(16, 24, 32, 40)) | random_bytes((b"", SHORTLIST[:8]), max_size=128))
def test_damaged_shortlists_parse_or_name_the_file(data):
    outcome(read_shortlist, data, "lex.bin")


# --- the whole translator folder ------------------------------------------------------------------

FILES = {"model": tiny_model(), "vocab": model(TINY_PIECES), "shortlist": sl.write(2, 4, [[3]] * 12)}
WORK = tempfile.mkdtemp(prefix="attnviz-fuzz-")
PATHS = folder_files(WORK, "enpt")  # the file names the package ships


def load_folder(files: dict[str, bytes]) -> None:
    for key, data in files.items():
        with open(PATHS[key], "wb") as f:
            f.write(data)
    translator = marian_en_pt.load(WORK)
    ids = [p.id for p in translator.spm.encode("the cat", eos=True)]
    assert max(ids) < translator.config.vocab


def test_the_tiny_translator_loads():
    load_folder(FILES)  # asserts that its ids fit the model


def test_a_vocabulary_bigger_than_the_model_is_named():
    vocab = os.path.basename(PATHS["vocab"])
    error = outcome(lambda d: load_folder({**FILES, "vocab": d}), model(TINY_PIECES + [("▁x", -5.0, 1)]), vocab)
    assert error is not None and "13 pieces; the model has 12 embeddings" in error.message


@fuzz_settings(150)
@given(st.sampled_from(sorted(FILES)).flatmap(lambda key: st.tuples(st.just(key), mutated(FILES[key], hot=1024))))
def test_a_translator_folder_with_one_damaged_file_loads_or_names_it(damage):
    key, data = damage
    error = outcome(lambda d: load_folder({**FILES, key: d}), data, os.path.basename(PATHS[key]))
    assert error is None or error.file == os.path.basename(PATHS[key])


YML_VALUES = st.sampled_from(["0", "-1", "2.5", "nan", "1e400", "99999999999999999999", "''", "[]", "true",
                              "ssru", "lstm"])


@fuzz_settings(100)
@given(st.dictionaries(st.sampled_from(["enc-depth", "dec-depth", "dim-emb", "transformer-heads", "transformer-dim-ffn",
                                        "dec-cell", "tied-embeddings-all"]), YML_VALUES, min_size=1, max_size=3))
def test_odd_model_yml_values_load_or_name_the_file(changed):
    """A well-formed model file whose config says something else (no heads, NaN layers, a size
    past any file): refused by name, never a crash."""
    lines = [line for line in TINY_YML.splitlines() if line.split(":")[0] not in changed]
    yml = "\n".join(lines + [f"{k}: {v}" for k, v in changed.items()]) + "\n"
    outcome(lambda d: load_folder({**FILES, "model": d}), tiny_model(yml=yml), os.path.basename(PATHS["model"]))
