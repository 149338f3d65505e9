"""SentencePiece Unigram tokenizer read straight from a `.spm` model file (a protobuf ModelProto),
with the same normalisation, whitespace rules and Viterbi segmentation as the `sentencepiece`
library, and each piece's span in the ORIGINAL text.

    text --normalise (precompiled charsmap, e.g. nmt_nfkc)--> "▁Hello▁world"
         --Viterbi over piece scores-->                        ["▁Hello", "▁world"]

Marian appends </s> to the source: `encode(text, eos=True)`.
"""
from __future__ import annotations

import re
import struct
from array import array
from dataclasses import dataclass

from ..errors import ModelFileError, read_model_file

SPACE = "\u2581"  # ▁ stands for a space inside pieces
UNK_PENALTY = 10.0  # unknown characters score this much below the worst piece
UNK_SURFACE = " \u2047 "  # what an unknown piece decodes to
MAX_PIECES = 1 << 20  # real vocabularies hold up to a few hundred thousand; a damaged count stops here
NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6
BYTE_PIECE = re.compile(r"<0x[0-9A-F]{2}>")  # how SentencePiece names byte b: <0x%02X>


@dataclass(frozen=True)
class Piece:
    id: int
    text: str      # as a reader sees it: "▁" shown as a space
    piece: str     # the vocabulary entry, e.g. "▁cat"
    start: int     # character span in the original text (end exclusive)
    end: int
    special: bool  # control pieces such as </s> (not in the text)

    def as_dict(self) -> dict:
        return {"id": self.id, "text": self.text, "piece": self.piece, "start": self.start, "end": self.end,
                "special": self.special}


# --- protobuf wire format (just what ModelProto needs) -------------------------------------

def _varint(data: bytes, pos: int, end: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= end or shift > 63:
            raise ValueError("truncated varint")
        b = data[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, pos
        shift += 7


def fields(data: bytes, start: int = 0, end: int | None = None):
    """(field number, wire type, value) of one message; value is an int, or (start, end) for bytes."""
    pos, end = start, len(data) if end is None else end
    while pos < end:
        key, pos = _varint(data, pos, end)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos, end)
        elif wire == 1:
            if pos + 8 > end:
                raise ValueError("truncated fixed64")
            value, pos = struct.unpack_from("<Q", data, pos)[0], pos + 8
        elif wire == 2:
            n, pos = _varint(data, pos, end)
            if pos + n > end:
                raise ValueError("length-delimited field runs past its message")
            value, pos = (pos, pos + n), pos + n
        elif wire == 5:
            if pos + 4 > end:
                raise ValueError("truncated fixed32")
            value, pos = struct.unpack_from("<I", data, pos)[0], pos + 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
        yield number, wire, value


def _f32(bits: int) -> float:
    return struct.unpack("<f", struct.pack("<I", bits))[0]


# --- the precompiled normaliser: a darts-clone double-array trie of rules ----------------------

class CharsMap:
    """Rewrite rules (e.g. NFKC) compiled by SentencePiece: blob = uint32 trie size, the trie (uint32
    units of a darts-clone double array; a leaf's value is an offset into the strings), then
    NUL-terminated replacement strings."""

    def __init__(self, blob: bytes, file: str) -> None:
        self.file = file
        self._replacements: dict[int, bytes] = {}
        if len(blob) < 4:
            raise ModelFileError(file, "damaged normaliser (precompiled_charsmap too short)")
        (size,) = struct.unpack_from("<I", blob, 0)
        if size % 4 or 4 + size > len(blob):
            raise ModelFileError(file, "damaged normaliser (trie size beyond the charsmap)")
        self.units = array("I", blob[4:4 + size])
        if struct.pack("=I", 1) != struct.pack("<I", 1):
            self.units.byteswap()
        self.strings = blob[4 + size:]

    def longest(self, text: bytes, pos: int) -> tuple[int, bytes] | None:
        """The longest rule matching text at pos: (bytes matched, replacement), or None."""
        units, n = self.units, len(self.units)
        node = (units[0] >> 10) << ((units[0] & (1 << 9)) >> 6) if n else 0
        best = None
        for i in range(pos, len(text)):
            c = text[i]
            node ^= c
            if node >= n:
                break
            unit = units[node]
            if unit & ((1 << 31) | 0xFF) != c:  # label check: this node is not the child for c
                break
            node ^= (unit >> 10) << ((unit & (1 << 9)) >> 6)
            if (unit >> 8) & 1 and node < n:  # has a leaf: a rule ends here
                best = (i + 1 - pos, self._replacement(units[node] & 0x7FFFFFFF))
        return best

    def _replacement(self, value: int) -> bytes:
        """The NUL-terminated replacement at offset value, checked when first used (the trie's leaves
        cannot be listed without walking it): a damaged one is a ModelFileError, not a crash later."""
        if value not in self._replacements:
            if value >= len(self.strings):
                raise ModelFileError(self.file, "damaged normaliser (a rule points past its strings)")
            end = self.strings.find(b"\0", value)
            out = self.strings[value:end if end >= 0 else len(self.strings)]
            try:
                out.decode("utf-8")
            except UnicodeDecodeError:
                raise ModelFileError(self.file, "damaged normaliser (a replacement is not UTF-8)") from None
            self._replacements[value] = out
        return self._replacements[value]


def _utf8_len(text: bytes, pos: int) -> int:
    """Length of the valid UTF-8 character at pos, or 0 if malformed."""
    b = text[pos]
    n = 1 if b < 0x80 else 2 if 0xC2 <= b < 0xE0 else 3 if 0xE0 <= b < 0xF0 else 4 if 0xF0 <= b < 0xF5 else 0
    if not n or pos + n > len(text):
        return 0
    try:
        text[pos:pos + n].decode("utf-8")
    except UnicodeDecodeError:
        return 0
    return n


# --- the model -----------------------------------------------------------------------------

class SentencePiece:
    def __init__(self, data: bytes, file: str = "vocab.spm") -> None:
        self.file = file
        try:
            self._parse(data)
        except (ValueError, UnicodeDecodeError, struct.error) as e:
            raise ModelFileError(file, f"not a readable SentencePiece model ({e})") from None

    @classmethod
    def from_file(cls, path: str) -> "SentencePiece":
        return cls(*read_model_file(path))

    def _parse(self, data: bytes) -> None:
        self.pieces: list[str] = []
        self.scores: list[float] = []
        self.types: list[int] = []
        self.model_type, self.byte_fallback = 1, False
        self.add_dummy_prefix = self.remove_extra_whitespaces = self.escape_whitespaces = True
        charsmap = b""
        self.unk_id = 0
        for number, wire, value in fields(data):
            if number == 1 and wire == 2:  # SentencePiece {piece, score, type}
                piece, score, type_ = "", 0.0, NORMAL
                for n, w, v in fields(data, *value):
                    if n == 1 and w == 2:
                        piece = data[v[0]:v[1]].decode("utf-8")
                    elif n == 2 and w == 5:
                        score = _f32(v)
                    elif n == 3 and w == 0:
                        type_ = v
                self.pieces.append(piece)
                self.scores.append(score)
                self.types.append(type_)
                if len(self.pieces) > MAX_PIECES:
                    raise ValueError(f"more than {MAX_PIECES:,} pieces")
            elif number == 2 and wire == 2:  # TrainerSpec
                for n, w, v in fields(data, *value):
                    if n == 3 and w == 0:
                        self.model_type = v
                    elif n == 35 and w == 0:
                        self.byte_fallback = bool(v)
            elif number == 3 and wire == 2:  # NormalizerSpec
                for n, w, v in fields(data, *value):
                    if n == 2 and w == 2:
                        charsmap = data[v[0]:v[1]]
                    elif n == 3 and w == 0:
                        self.add_dummy_prefix = bool(v)
                    elif n == 4 and w == 0:
                        self.remove_extra_whitespaces = bool(v)
                    elif n == 5 and w == 0:
                        self.escape_whitespaces = bool(v)
        if not self.pieces:
            raise ValueError("no pieces")
        if self.model_type != 1:
            raise ModelFileError(self.file, f"only Unigram SentencePiece models are supported (model_type {self.model_type})")
        self.charsmap = CharsMap(charsmap, self.file) if charsmap else None
        unknown = [i for i, t in enumerate(self.types) if t == UNKNOWN]
        if len(unknown) != 1:
            raise ValueError("the model must have exactly one <unk> piece")
        self.unk_id = unknown[0]
        self.ids = {p: i for i, p in enumerate(self.pieces)}
        # Viterbi candidates: normal and user-defined pieces (unused ones are known but never chosen)
        self.vocab = {p: i for i, p in enumerate(self.pieces) if self.types[i] in (NORMAL, USER_DEFINED)}
        normal = [s for s, t in zip(self.scores, self.types) if t == NORMAL] or [0.0]
        self.min_score, self.max_score = min(normal), max(normal)
        # the lengths pieces have: Viterbi tries only these (one very long piece in a damaged or
        # hostile file must not make every position try every length up to it)
        self.lengths = sorted({len(p) for p in self.vocab if p})
        # (an empty one would match everywhere and consume nothing: normalising would never end)
        self.user_defined = sorted((p for i, p in enumerate(self.pieces) if self.types[i] == USER_DEFINED and p),
                                   key=len, reverse=True)
        self.bytes = {}
        for i, p in enumerate(self.pieces):
            if self.types[i] == BYTE:
                if not BYTE_PIECE.fullmatch(p):
                    raise ValueError(f"byte piece {i} is {p[:20]!r}, not <0xHH>")
                self.bytes[int(p[3:5], 16)] = i
        if self.byte_fallback and len(self.bytes) != 256:
            raise ValueError(f"byte fallback needs the 256 byte pieces, the model has {len(self.bytes)}")
        self.eos_id = self.ids.get("</s>", -1)

    def __len__(self) -> int:
        return len(self.pieces)

    # normalisation --------------------------------------------------------------------------

    def _prefix(self, raw: bytes, pos: int) -> tuple[bytes, int]:
        """Normalise the start of raw[pos:]: (replacement, bytes consumed)."""
        for p in self.user_defined:  # user-defined symbols pass through untouched
            b = p.encode("utf-8")
            if raw.startswith(b, pos):
                return b, len(b)
        if self.charsmap is not None:
            hit = self.charsmap.longest(raw, pos)
            if hit is not None:
                return hit[1], hit[0]
        n = _utf8_len(raw, pos)
        return (raw[pos:pos + n], n) if n else ("\ufffd".encode("utf-8"), 1)

    def normalize(self, text: str) -> tuple[str, list[tuple[int, int]]]:
        """The normalised text (spaces as ▁) and, for each of its characters, the character span
        (start, end) of the text it came from. Characters the normaliser deletes belong to no span."""
        raw = text.encode("utf-8")
        out = bytearray()
        origin: list[tuple[int, int]] = []  # per output byte: the source bytes it came from
        pos = 0
        if self.remove_extra_whitespaces:  # drop leading spaces
            while pos < len(raw):
                rep, n = self._prefix(raw, pos)
                if rep != b" ":
                    break
                pos += n
        if pos >= len(raw):
            return "", []
        space = SPACE.encode("utf-8") if self.escape_whitespaces else b" "
        if self.add_dummy_prefix:
            out += space
            origin += [(pos, pos)] * len(space)  # the added space covers nothing
        prev_space = self.remove_extra_whitespaces
        while pos < len(raw):
            rep, n = self._prefix(raw, pos)
            if prev_space:
                rep = rep.lstrip(b" ")  # collapse runs of spaces
            if rep:
                for b in rep:
                    if b == 0x20 and self.escape_whitespaces:
                        out += space
                        origin += [(pos, pos + n)] * len(space)
                    else:
                        out.append(b)
                        origin.append((pos, pos + n))
                prev_space = rep.endswith(b" ")
            pos += n
            if not self.remove_extra_whitespaces:
                prev_space = False
        if self.remove_extra_whitespaces:  # drop trailing spaces
            while out.endswith(space):
                del out[len(out) - len(space):]
                del origin[len(origin) - len(space):]
        # bytes -> characters, on both sides
        char_at = [0] * (len(raw) + 1)  # byte offset (at a character start) -> character offset
        c = 0
        for i in range(len(raw)):
            char_at[i] = c
            c += (raw[i] & 0xC0) != 0x80
        char_at[len(raw)] = c
        normalized = out.decode("utf-8")
        firsts = [i for i in range(len(out)) if (out[i] & 0xC0) != 0x80]
        return normalized, [(char_at[origin[i][0]], char_at[origin[i][1]]) for i in firsts]

    # segmentation ---------------------------------------------------------------------------

    def _viterbi(self, s: str) -> list[tuple[int, int, int]]:
        """Best segmentation of s: (start, end, id) per piece, consecutive unknowns merged."""
        n = len(s)
        best = [None] * (n + 1)  # (score, start, id) of the best path ending here
        best[0] = (0.0, -1, -1)
        unk_score = self.min_score - UNK_PENALTY
        to_f32 = array("f", [0.0])
        for i in range(n):
            if best[i] is None:
                continue
            here = best[i][0]
            single = False
            for length in self.lengths:
                if length > n - i:
                    break
                pid = self.vocab.get(s[i:i + length])
                if pid is None:
                    continue
                score = (length * self.max_score - 0.1) if self.types[pid] == USER_DEFINED else self.scores[pid]
                to_f32[0] = score + here  # float32 sums, as the C++ library adds them
                total = to_f32[0]
                if best[i + length] is None or total > best[i + length][0]:
                    best[i + length] = (total, i, pid)
                single = single or length == 1
            if not single:
                to_f32[0] = unk_score + here
                total = to_f32[0]
                if best[i + 1] is None or total > best[i + 1][0]:
                    best[i + 1] = (total, i, self.unk_id)
        path = []
        end = n
        while end > 0:
            _, start, pid = best[end]
            path.append((start, end, pid))
            end = start
        path.reverse()
        merged: list[tuple[int, int, int]] = []
        for start, end, pid in path:
            if merged and pid == self.unk_id and merged[-1][2] == self.unk_id:
                merged[-1] = (merged[-1][0], end, pid)
            else:
                merged.append((start, end, pid))
        return merged

    def encode(self, text: str, eos: bool = False) -> list[Piece]:
        """Pieces of text, each with its character span in text; eos appends Marian's </s>."""
        normalized, origin = self.normalize(text)
        out: list[Piece] = []
        for start, end, pid in self._viterbi(normalized):
            surface = normalized[start:end]
            a, b = origin[start][0], origin[end - 1][1]
            if pid == self.unk_id and self.byte_fallback:
                for byte in surface.encode("utf-8"):  # unknown characters become their UTF-8 bytes
                    bid = self.bytes[byte]
                    out.append(Piece(bid, self.pieces[bid], self.pieces[bid], a, b, False))
                continue
            out.append(Piece(pid, surface.replace(SPACE, " "), self.pieces[pid], a, b, False))
        if eos:
            if self.eos_id < 0:
                raise ModelFileError(self.file, "the vocabulary has no </s> piece")
            out.append(Piece(self.eos_id, "</s>", "</s>", len(text), len(text), True))
        return out

    def encode_ids(self, text: str, eos: bool = False) -> list[int]:
        return [p.id for p in self.encode(text, eos)]

    def decode(self, ids) -> str:
        """Text of ids: control pieces (</s>) vanish, <unk> shows as " ⁇ ", ▁ becomes a space and the
        leading space the tokenizer added is dropped."""
        out: list[str] = []
        pending = bytearray()
        strip_first = self.add_dummy_prefix or self.remove_extra_whitespaces

        def flush() -> None:
            if pending:
                out.append(pending.decode("utf-8", errors="replace"))
                pending.clear()

        for i in ids:
            i = int(i)
            if not 0 <= i < len(self.pieces):
                raise ValueError(f"id {i} is outside the vocabulary (0..{len(self.pieces) - 1})")
            t = self.types[i]
            if t == BYTE:
                pending.append(int(self.pieces[i][3:5], 16))
                continue
            flush()
            if t == CONTROL:
                continue
            if t == UNKNOWN:
                out.append(UNK_SURFACE)
                continue
            piece = self.pieces[i]
            if strip_first and not "".join(out) and piece.startswith(SPACE):
                piece = piece[1:]
            out.append(piece.replace(SPACE, " "))
        flush()
        return "".join(out)
