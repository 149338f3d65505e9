"""The Marian binary reader and the lexical shortlist reader on hand-made files: values, the
transposed quantised weights, model.yml, and damaged files raising ModelFileError (and nothing
else); the fuzzers are in test_fuzz_marian.py."""
from __future__ import annotations

import struct

import numpy as np
import pytest

from attnviz.errors import ModelFileError
from attnviz.formats import marian as fmt
from attnviz.formats import shortlist as sl


W = np.arange(6, dtype=np.float32).reshape(2, 3) - 2.5  # (out 2, in 3)


def small_file() -> bytes:
    return fmt.write(None, [quantised("enc_Wq", W), ("enc_bq", fmt.FLOAT32, np.array([[1.5, -2.0]])),
                            ("half", fmt.FLOAT16, np.array([[0.5, 2.0, -1.0]])),
                            ("bytes", fmt.INT8, np.array([[-3, 4]])),
                            ("special:model.yml", fmt.INT8, "dim-emb: 256\nflag: true\nxs:\n  - 1\n  - 2\nname: \"q\"\n")])


def test_reads_items_values_and_the_transposed_weights():
    items = fmt.parse(small_file(), "small.bin")
    assert list(items) == ["enc_Wq", "enc_bq", "half", "bytes", "special:model.yml"]
    wq = items["enc_Wq"]
    assert wq.type == fmt.INTGEMM8 and wq.shape == (3, 2)  # Marian's (in, out) shape
    np.testing.assert_allclose(fmt.matrix(wq), W, atol=2.5 / 127)  # (out, in), de-quantised
    assert fmt.matrix(wq).dtype == np.float32
    np.testing.assert_array_equal(fmt.values(items["enc_bq"]), [[1.5, -2.0]])
    np.testing.assert_array_equal(fmt.values(items["half"]), [[0.5, 2.0, -1.0]])
    np.testing.assert_array_equal(fmt.values(items["bytes"]), [[-3, 4]])
    assert fmt.config(items) == {"dim-emb": 256, "flag": True, "xs": [1, 2], "name": "q"}


def test_data_blocks_are_256_byte_aligned():
    data = small_file()
    items = list(fmt.parse(data).values())
    first = len(data) - sum(len(it.data) for it in items)
    assert first % 256 == 0
    assert all(len(it.data) % 256 == 0 for it in items[:-1])  # the text item at the end is not padded


def test_which_weights_are_transposed():
    assert fmt.is_transposed_weight("decoder_l1_ffn_W1")
    assert fmt.is_transposed_weight("encoder_l3_self_Wo")
    assert not fmt.is_transposed_weight("Wemb")
    assert not fmt.is_transposed_weight("encoder_l1_self_Wo_ln_scale")
    assert not fmt.is_transposed_weight("decoder_l1_ffn_W1_QuantMultA")


def test_yaml_subset():
    y = fmt.parse_yaml('a: 1\nb: 2.5\nc: ""\nd: []\ne:\n  - x\n  - 3\nf: false\nversion: v1.9 abc\n')
    assert y == {"a": 1, "b": 2.5, "c": "", "d": [], "e": ["x", 3], "f": False, "version": "v1.9 abc"}
    with pytest.raises(ModelFileError, match="list item outside"):
        fmt.parse_yaml("- 1\n")
    with pytest.raises(ModelFileError, match="key: value"):
        fmt.parse_yaml("just words\n")


def damaged(data: bytes, offset: int, fmt_: str, value) -> bytes:
    b = bytearray(data)
    struct.pack_into(fmt_, b, offset, value)
    return bytes(b)


@pytest.mark.parametrize("make, message", [
    (lambda d: d[:10], "runs past the end"),
    (lambda d: damaged(d, 0, "<Q", 7), "version 7"),
    (lambda d: damaged(d, 8, "<Q", 10 ** 12), "implausible number"),
    (lambda d: damaged(d, 8, "<Q", 0), "implausible number"),
    (lambda d: damaged(d, 16 + 24, "<Q", 10 ** 15), "data of 'enc_Wq' runs past the end"),
    (lambda d: damaged(d, 16, "<Q", 10 ** 9), "an item name runs past"),
    (lambda d: damaged(d, 16 + 16, "<Q", 50), "dimensions"),
    (lambda d: d[:len(d) - 300], "runs past the end"),
    (lambda d: d.replace(b"enc_bq\0", b"enc_Wq\0"), "appears twice"),
    (lambda d: d.replace(b"half\0", b"half!"), "NUL-terminated"),
])
def test_damaged_files_raise_model_file_error(make, message):
    with pytest.raises(ModelFileError, match=message) as e:
        fmt.parse(make(small_file()), "bad.bin")
    assert e.value.file == "bad.bin"


def test_shape_bigger_than_its_block():
    data = fmt.write(None, [("x", fmt.FLOAT32, np.zeros((1, 4)))])
    shape_at = data.find(struct.pack("<2i", 1, 4))
    with pytest.raises(ModelFileError, match="needs .* bytes"):
        fmt.parse(damaged(data, shape_at + 4, "<i", 4000))
    with pytest.raises(ModelFileError, match="negative dimension"):
        fmt.parse(damaged(data, shape_at + 4, "<i", -1))


def test_unsupported_type_and_bad_multiplier():
    data = fmt.write(None, [("x", fmt.FLOAT32, np.zeros((1, 4)))])
    odd = damaged(data, 16 + 8, "<Q", 0x10404)  # a packed type we do not read
    with pytest.raises(ModelFileError, match="not supported"):
        fmt.values(fmt.parse(odd)["x"])
    q = fmt.write(None, [("y_W", fmt.INTGEMM8, np.ones((2, 2), np.int8), 0.0)])
    with pytest.raises(ModelFileError, match="multiplier"):
        fmt.values(fmt.parse(q)["y_W"])


def quantised(name: str, w_out_in: np.ndarray) -> tuple:
    """An intgemm8 `*_W*` item as browser models store it: the (out, in) matrix's bytes under Marian's
    (in, out) shape."""
    mult = 127.0 / float(np.abs(w_out_in).max())
    q = np.round(w_out_in * mult).astype(np.int8)
    return (name, fmt.INTGEMM8, q.reshape(w_out_in.shape[1], w_out_in.shape[0]), mult)


def test_missing_config_and_missing_file(tmp_path):
    with pytest.raises(ModelFileError, match="special:model.yml"):
        fmt.config(fmt.parse(fmt.write(None, [("x", fmt.FLOAT32, np.zeros(2))])))
    with pytest.raises(ModelFileError, match="cannot be read"):
        fmt.read(str(tmp_path / "absent.bin"))


# --- shortlist ---------------------------------------------------------------------------------

def test_shortlist_allowed_targets():
    s = sl.parse(sl.write(2, 3, [[5], [], [7, 8], [9]]), "lex.bin")
    assert (s.first_num, s.best_num) == (2, 3)
    assert s.allowed([2, 0], vocab_size=10).tolist() == [0, 1, 5, 7, 8]
    assert s.allowed([3, 99], vocab_size=9).tolist() == [0, 1]  # 9 is beyond the vocabulary, 99 unknown


@pytest.mark.parametrize("make, message", [
    (lambda d: d[:20], "too short"),
    (lambda d: b"\0" * 8 + d[8:], "magic"),
    (lambda d: d[:-4], "promises"),
    (lambda d: d[:48] + struct.pack("<Q", 3) + d[56:], "offsets"),
])
def test_damaged_shortlists(make, message):
    with pytest.raises(ModelFileError, match=message):
        sl.parse(make(sl.write(2, 3, [[5], [6, 7]])), "lex.bin")
