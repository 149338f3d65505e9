"""Marian's binary lexical shortlist (`lex.*.s2t.bin`): for each source word, the target words it is
likely to translate to. Decoding only scores those (plus the most frequent words), which is faster
and is what the reference engine does.

Layout, little-endian: six uint64 {magic, checksum, first_num, best_num, n_offsets, n_targets},
then n_offsets uint64 offsets (one per source id, plus the end), then n_targets uint32 target ids.
Source id i's list is targets[offsets[i]:offsets[i + 1]].
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from ..errors import ModelFileError, read_model_file

MAGIC = 0xF11A48D5013417F5
HEADER = struct.Struct("<6Q")


@dataclass(frozen=True)
class Shortlist:
    first_num: int        # the first_num most frequent target ids (0 .. first_num-1) are always allowed
    best_num: int         # at most this many targets per source word
    offsets: np.ndarray   # (n_source + 1,) uint64
    targets: np.ndarray   # (n_targets,) uint32

    def allowed(self, source_ids, vocab_size: int) -> np.ndarray:
        """Sorted target ids that may follow these source ids (the source's </s> included)."""
        keep = np.zeros(vocab_size, dtype=bool)
        keep[:min(self.first_num, vocab_size)] = True
        for i in source_ids:
            if 0 <= i < len(self.offsets) - 1:
                t = self.targets[int(self.offsets[i]):int(self.offsets[i + 1])]
                keep[t[t < vocab_size]] = True
        return np.flatnonzero(keep)


def read(path: str) -> Shortlist:
    return parse(*read_model_file(path))


def parse(data: bytes, file: str = "lex.s2t.bin") -> Shortlist:
    if len(data) < HEADER.size:
        raise ModelFileError(file, "too short for a binary lexical shortlist")
    magic, _checksum, first_num, best_num, n_offsets, n_targets = HEADER.unpack_from(data, 0)
    if magic != MAGIC:
        raise ModelFileError(file, "not a binary lexical shortlist (wrong magic number)")
    expected = HEADER.size + 8 * n_offsets + 4 * n_targets
    if n_offsets < 1 or expected != len(data):
        raise ModelFileError(file, f"damaged shortlist: the header promises {expected} bytes, the file has {len(data)}")
    offsets = np.frombuffer(data, dtype="<u8", count=n_offsets, offset=HEADER.size)
    targets = np.frombuffer(data, dtype="<u4", count=n_targets, offset=HEADER.size + 8 * n_offsets)
    if offsets[0] != 0 or offsets[-1] != n_targets or np.any(np.diff(offsets.astype(np.int64)) < 0):
        raise ModelFileError(file, "damaged shortlist: offsets are not increasing within the target list")
    return Shortlist(int(first_num), int(best_num), offsets, targets)


def write(first_num: int, best_num: int, lists: list[list[int]]) -> bytes:
    """A shortlist file from one target list per source id (tests)."""
    offsets = np.concatenate([[0], np.cumsum([len(t) for t in lists])]).astype("<u8")
    targets = np.array([t for ts in lists for t in ts], dtype="<u4")
    return HEADER.pack(MAGIC, 0, first_num, best_num, len(offsets), len(targets)) + offsets.tobytes() + targets.tobytes()
