"""Fuzzing the SentencePiece model reader (a protobuf ModelProto) and its precompiled normaliser:
damaged copies of a small model made here, random bytes and random normaliser tries end in a
model that tokenizes, or a ModelFileError naming the file, at load or at the first text that
reaches the damage; never another exception, a hang or a large allocation."""
from __future__ import annotations

import struct

from hypothesis import example, given
from hypothesis import strategies as st

from attnviz import api
from attnviz.errors import ModelFileError
from attnviz.formats import shortlist as sl
from attnviz.models.marian import folder_files
from attnviz.tokenizers.sentencepiece import CharsMap, SentencePiece
from tests.support.fuzzing import SECONDS, fuzz_settings, mutated, outcome, random_bytes, time_limit
from tests.support.tiny_models import TINY_PIECES, field, model, tiny_model

NAME = "fuzz.spm"
PIECES = [("<unk>", 0.0, 2), ("</s>", 0.0, 3), ("▁ab", -1.0, 1), ("▁a", -2.0, 1), ("b", -2.5, 1),
          ("c", -3.0, 1), ("▁", -4.0, 1), ("abc", -0.5, 5), ("<sep>", 0.0, 4), ("é", -3.5, 1)]
BYTES = [(f"<0x{b:02X}>", 0.0, 6) for b in range(256)]
TEXTS = ["ab c", "  abxy <sep> é\u3000", "abé\U0001F600", "", "\u200b"]


def tokenize_all(data: bytes) -> None:
    sp = SentencePiece(data, NAME)
    for text in TEXTS:
        ids = sp.encode_ids(text, eos=sp.eos_id >= 0)
        assert all(0 <= i < len(sp) for i in ids)
        sp.decode(ids)


SMALL = model(PIECES)
WITH_BYTES = model(PIECES + BYTES, byte_fallback=True)


@fuzz_settings(300)
@given(mutated(SMALL, hot=len(SMALL)) | mutated(WITH_BYTES, hot=256))
@example(SMALL)
@example(WITH_BYTES)
def test_damaged_models_tokenize_or_name_the_file(data):
    outcome(tokenize_all, data, NAME)


@fuzz_settings(150)
@given(random_bytes((b"", b"\x0a", SMALL[:12])))
def test_random_bytes_are_refused_by_name(data):
    outcome(tokenize_all, data, NAME)


@fuzz_settings(200)
@given(st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=24), st.binary(max_size=24),
       st.text(max_size=12))
def test_a_random_normaliser_matches_or_names_the_file(units, strings, text):
    """Random double-array units and replacement strings: a rule is found, or the file is named."""
    blob = struct.pack(f"<I{len(units)}I", 4 * len(units), *units) + strings
    charsmap = field(2, blob)
    outcome(tokenize_all, SMALL + field(3, charsmap), NAME)

    def walk(_):
        cm = CharsMap(blob, NAME)
        raw = text.encode("utf-8")
        for pos in range(len(raw)):
            hit = cm.longest(raw, pos)
            assert hit is None or (1 <= hit[0] <= len(raw) - pos and isinstance(hit[1], bytes))
    outcome(walk, blob, NAME)


def test_an_empty_user_defined_piece_does_not_stop_normalising():
    """An empty user-defined piece matched everywhere and consumed nothing: the normaliser never
    ended (found by the fuzzer above). It is ignored now, as it can never be typed."""
    sp = SentencePiece(model(PIECES + [("", 0.0, 4)]), NAME)
    assert [p.piece for p in sp.encode("ab c")] == ["▁ab", "▁", "c"]


def test_damaged_byte_pieces_are_named():
    for pieces, message in [(PIECES + [("<0xZZ>", 0.0, 6)], "not <0xHH>"),
                            (PIECES + BYTES[:100], "needs the 256 byte pieces")]:
        error = outcome(tokenize_all, model(pieces, byte_fallback=True), NAME)
        assert error is not None and message in error.message


def test_a_normaliser_rule_past_its_strings_is_named_when_used():
    # A darts-clone trie of one rule, by hand: the root (unit 0) has offset 1, so "a" (97) leads to
    # unit 1 ^ 97 = 96, labelled 97 with a leaf; its offset 98 leads to unit 96 ^ 98 = 2, the value.
    units = [0] * 98
    units[0] = 1 << 10
    units[96] = 97 | (1 << 8) | (98 << 10)
    units[2] = (1 << 31) | 5  # the value: offset 5 into a string table of 1 byte
    blob = struct.pack(f"<I{len(units)}I", 4 * len(units), *units) + b"x"
    cm = CharsMap(blob, NAME)
    try:
        cm.longest(b"a", 0)
    except ModelFileError as e:
        assert e.file == NAME and "past its strings" in e.message
    else:
        raise AssertionError("a rule pointing past the strings was used")


def test_damage_found_while_tokenizing_is_a_model_error_of_the_request(tmp_path):
    """A damaged normaliser rule shows only when a text uses it: the request gets a `model` error
    naming the vocabulary, as a bad load does (models.tokenize, which api.files_needed shares)."""
    units = [0] * 98
    units[0], units[96], units[2] = 1 << 10, 97 | (1 << 8) | (98 << 10), (1 << 31) | 5  # "a" -> offset 5 of 1 byte
    blob = struct.pack(f"<I{len(units)}I", 4 * len(units), *units) + b"x"
    paths = folder_files(str(tmp_path), "enpt")
    files = {"model": tiny_model(), "vocab": model(TINY_PIECES) + field(3, field(2, blob)),
             "shortlist": sl.write(2, 4, [[3]] * 12)}
    for key, path in paths.items():
        with open(path, "wb") as f:
            f.write(files[key])
    answer = api.run({"model": "marian-en-pt", "text": "a cat"}, weights_dir=str(tmp_path))
    assert answer["error"]["field"] == "model", answer
    assert "vocab.enpt.spm: damaged normaliser" in answer["error"]["message"], answer
    assert api.run({"model": "marian-en-pt", "text": "the"}, weights_dir=str(tmp_path))["ok"]  # no "a": no damage met


def test_one_very_long_piece_does_not_make_every_text_slow():
    """Viterbi tries only the lengths pieces have: a 5,000-character piece in a damaged vocabulary
    costs one more lookup per position, not 5,000 (a 10,000-character text took over a minute)."""
    sp = SentencePiece(model(PIECES + [("x" * 5000, -1.0, 1)]), NAME)
    text = "ab c " * 2000  # 10,000 characters
    with time_limit(SECONDS):  # about 0.2 s; the previous code had 50 million lookups to make
        pieces = sp.encode(text)
    assert len(pieces) == 6000 and pieces[-1].end == len(text.rstrip())
