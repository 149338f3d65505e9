r"""Byte-level BPE (GPT-2's scheme, as SmolLM2 and most Llama-family GGUF files use it), built from a
GGUF file's `tokenizer.ggml.*` metadata.

    text -> split at special tokens (<|im_start|> … matched whole, as Hugging Face does)
         -> pre-tokens by GPT-2's regex (words with their leading space, numbers, punctuation, spaces)
         -> UTF-8 bytes, each byte shown as one printable character (space -> "Ġ", newline -> "Ċ")
         -> merge adjacent symbols, lowest merge rank first, until no listed pair is left
         -> vocabulary ids

The GGUF says pre-tokenizer "smollm"; llama.cpp's version of it first cuts out every \p{N}
character on its own, then applies GPT-2's pattern. The Hugging Face tokenizer converted from the
same file (our reference) uses plain GPT-2 ByteLevel splitting: " 2024" is one pre-token (the
merges list no digit pairs, so it still comes out as " ", "2", "0", "2", "4"). Where the two
differ, we follow Hugging Face.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from ..errors import ModelFileError
from .unicode_classes import LETTER, NUMBER, WHITE_SPACE

CONTROL, USER_DEFINED = 3, 4  # tokenizer.ggml.token_type values of tokens matched whole in the text

L, N, S = f"[{LETTER}]", f"[{NUMBER}]", f"[{WHITE_SPACE}]"
# GPT-2's pattern: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
PRE_TOKEN = re.compile(
    rf"'s|'t|'re|'ve|'m|'ll|'d| ?{L}+| ?{N}+| ?[^{WHITE_SPACE}{LETTER}{NUMBER}]+|{S}+(?![^{WHITE_SPACE}])|{S}+")


@lru_cache(maxsize=1)
def byte_chars() -> list[str]:
    """GPT-2's byte -> printable character table: printable Latin-1 bytes stand for themselves,
    the other 68 bytes get the characters from U+0100 on, in byte order."""
    keep = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    table, extra = {}, 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return [table[b] for b in range(256)]


@dataclass(frozen=True)
class Piece:
    id: int
    text: str      # what the token stands for: its bytes as text (U+FFFD for a partial character)
    start: int     # character span in the original text
    end: int
    special: bool


class BPE:
    def __init__(self, tokens: list[str], merges: list[str], token_types: list[int] | None = None,
                 file: str = "tokenizer") -> None:
        if not tokens or (token_types is not None and len(token_types) != len(tokens)):
            raise ModelFileError(file, "tokenizer.ggml.tokens is empty or does not match tokenizer.ggml.token_type")
        self.tokens = tokens
        self.vocab = {t: i for i, t in enumerate(tokens)}
        self.ranks: dict[tuple[str, str], int] = {}
        for rank, merge in enumerate(merges):
            a, sep, b = merge.partition(" ")
            if not sep:
                raise ModelFileError(file, f"merge {rank} {merge!r} is not two symbols separated by a space")
            self.ranks.setdefault((a, b), rank)
        self.special = {t: i for i, t in enumerate(tokens)
                        if token_types is not None and token_types[i] in (CONTROL, USER_DEFINED) and t}
        self.special_ids = set(self.special.values())
        # longest first, so that one special token that begins another does not cut it short
        names = sorted(self.special, key=len, reverse=True)
        self.special_re = re.compile("|".join(map(re.escape, names))) if names else None
        chars = byte_chars()
        self.byte_char = chars
        self.char_byte = {c: b for b, c in enumerate(chars)}
        self.unknown = self.vocab.get("<unk>", 0)
        self.word_ids = lru_cache(maxsize=16384)(self._word_ids)

    @classmethod
    def from_gguf(cls, g) -> BPE:
        meta = g.metadata
        if meta.get("tokenizer.ggml.model") != "gpt2":
            raise ModelFileError(g.file, f"tokenizer {meta.get('tokenizer.ggml.model')!r} is not byte-level BPE ('gpt2')")
        for key in ("tokenizer.ggml.tokens", "tokenizer.ggml.merges"):
            if not isinstance(meta.get(key), list) or not all(isinstance(s, str) for s in meta[key]):
                raise ModelFileError(g.file, f"has no list of strings {key}")
        types = meta.get("tokenizer.ggml.token_type")
        if types is not None and (not isinstance(types, list) or not all(type(t) is int for t in types)):
            raise ModelFileError(g.file, "tokenizer.ggml.token_type is not a list of numbers")
        return cls(meta["tokenizer.ggml.tokens"], meta["tokenizer.ggml.merges"], types, g.file)

    def _word_ids(self, word: str) -> tuple[tuple[int, int], ...]:
        """(id, number of bytes) of each token of one pre-token (memoised: words repeat)."""
        symbols = [self.byte_char[b] for b in word.encode("utf-8")]
        ranks = self.ranks
        while len(symbols) > 1:
            best, best_rank = None, None
            for pair in zip(symbols, symbols[1:]):
                rank = ranks.get(pair)
                if rank is not None and (best_rank is None or rank < best_rank):
                    best, best_rank = pair, rank
            if best is None:
                break
            merged, i = [], 0
            while i < len(symbols):  # merge every occurrence of the best pair, left to right
                if i + 1 < len(symbols) and symbols[i] == best[0] and symbols[i + 1] == best[1]:
                    merged.append(best[0] + best[1])
                    i += 2
                else:
                    merged.append(symbols[i])
                    i += 1
            symbols = merged
        return tuple((self.vocab.get(s, self.unknown), len(s)) for s in symbols)

    def encode(self, text: str) -> list[Piece]:
        pieces: list[Piece] = []
        pos = 0
        for m in (self.special_re.finditer(text) if self.special_re else ()):
            self._encode_plain(text, pos, m.start(), pieces)
            pieces.append(Piece(self.special[m.group()], m.group(), m.start(), m.end(), True))
            pos = m.end()
        self._encode_plain(text, pos, len(text), pieces)
        return pieces

    def _encode_plain(self, text: str, start: int, end: int, pieces: list[Piece]) -> None:
        for m in PRE_TOKEN.finditer(text, start, end):
            word = m.group()
            # byte offset -> character offset within the word, to give each token its span
            char_at = [i for i, ch in enumerate(word) for _ in range(len(ch.encode("utf-8")))]
            char_at.append(len(word))
            raw = word.encode("utf-8")
            b = 0
            for token_id, n in self.word_ids(word):
                first, last = char_at[b], char_at[b + n - 1] + 1
                text_ = raw[b:b + n].decode("utf-8", errors="replace")
                pieces.append(Piece(token_id, text_, m.start() + first, m.start() + last, False))
                b += n

    def token_bytes(self, token_id: int) -> bytes:
        token = self.tokens[token_id]
        if token_id in self.special_ids:
            return token.encode("utf-8")
        return bytes(self.char_byte[c] for c in token if c in self.char_byte)

    def decode(self, ids) -> str:
        return b"".join(self.token_bytes(int(i)) for i in ids).decode("utf-8", errors="replace")
