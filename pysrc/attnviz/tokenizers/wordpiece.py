"""BERT's uncased tokenizer: basic tokenisation (clean, split CJK characters, lower-case, strip
accents, split punctuation), then greedy longest-match WordPiece with "##" continuations. Every
token keeps its span in the original text, so the page can show what was typed."""
from __future__ import annotations

import os
import unicodedata
from dataclasses import dataclass

from ..errors import ModelFileError, RequestError
from .scripts import is_cjk_ideograph

MAX_TOKENS = 512  # MiniLM's position table: [CLS] + 510 pieces + [SEP]
MAX_WORD_CHARS = 100  # longer words become [UNK], as in BERT
CLS, SEP, UNK = "[CLS]", "[SEP]", "[UNK]"


@dataclass(frozen=True)
class Piece:
    text: str   # the vocabulary entry ("play", "##ing", "[UNK]", "[CLS]")
    id: int
    start: int  # span in the original text (special tokens: an empty span)
    end: int
    special: bool = False

    def as_dict(self) -> dict:
        return {"text": self.text, "id": self.id, "start": self.start, "end": self.end, "special": self.special}


def _is_whitespace(ch: str) -> bool:
    return ch in " \t\n\r" or unicodedata.category(ch) == "Zs"


def _is_control(ch: str) -> bool:
    return ch not in "\t\n\r" and unicodedata.category(ch) in ("Cc", "Cf")


def _is_punctuation(ch: str) -> bool:
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True  # BERT counts all non-letter ASCII symbols ($, ^, `) as punctuation
    return unicodedata.category(ch).startswith("P")


def basic_words(text: str) -> list[tuple[str, int, int]]:
    """(normalised word, start, end) in the original text, after BERT's basic tokenisation."""
    words: list[tuple[str, int, int]] = []
    current: list[str] = []
    start = end = 0

    def flush() -> None:
        if current:
            words.append(("".join(current), start, end))
            current.clear()

    for i, ch in enumerate(text):
        if ord(ch) in (0, 0xFFFD) or _is_control(ch):
            continue  # removed, as BERT's clean-up does
        if _is_whitespace(ch):
            flush()
            continue
        if is_cjk_ideograph(ch):
            flush()
            words.append((ch, i, i + 1))
            continue
        norm = "".join(c for c in unicodedata.normalize("NFD", ch.lower()) if unicodedata.category(c) != "Mn")
        for c in norm:
            if _is_punctuation(c):
                flush()
                words.append((c, i, i + 1))
            else:
                if not current:
                    start = i
                current.append(c)
                end = i + 1
    flush()
    return words


class WordPiece:
    """Greedy longest-match-first WordPiece over a BERT vocabulary (one entry per line)."""

    def __init__(self, vocab: list[str], file: str = "vocab.txt") -> None:
        self.vocab = {token: i for i, token in enumerate(vocab)}
        self.tokens = vocab
        missing = [t for t in (CLS, SEP, UNK) if t not in self.vocab]
        if missing:
            raise ModelFileError(file, f"is not a WordPiece vocabulary: no {', '.join(missing)}")

    @classmethod
    def from_file(cls, path: str) -> "WordPiece":
        file = os.path.basename(path)
        try:
            with open(path, encoding="utf-8") as f:
                return cls([line.rstrip("\n") for line in f], file)
        except (OSError, UnicodeDecodeError) as e:
            raise ModelFileError(file, f"cannot be read ({getattr(e, 'strerror', None) or e})") from None

    def word_pieces(self, word: str) -> list[str] | None:
        """Pieces of one word, or None when it cannot be covered (it becomes [UNK])."""
        if len(word) > MAX_WORD_CHARS:
            return None
        pieces, s = [], 0
        while s < len(word):
            e = len(word)
            while e > s:
                piece = word[s:e] if s == 0 else "##" + word[s:e]
                if piece in self.vocab:
                    pieces.append(piece)
                    break
                e -= 1
            if e == s:
                return None
            s = e
        return pieces

    def encode(self, text: str, max_tokens: int | None = MAX_TOKENS) -> list[Piece]:
        """[CLS] pieces... [SEP], with spans; RequestError for empty text or more than max_tokens
        (None: no limit on the count; the caller applies its own)."""
        pieces = [Piece(CLS, self.vocab[CLS], 0, 0, True)]
        for word, start, end in basic_words(text):
            parts = self.word_pieces(word)
            if parts is None:
                pieces.append(Piece(UNK, self.vocab[UNK], start, end))
                continue
            # spans of pieces: split the word's span by the pieces' lengths when they line up
            # one-to-one with the original characters, else give every piece the whole word
            aligned = end - start == len(word)
            pos = start
            for p in parts:
                n = len(p) - 2 if p.startswith("##") else len(p)
                pieces.append(Piece(p, self.vocab[p], pos if aligned else start, pos + n if aligned else end))
                pos += n
        if len(pieces) == 1:
            empty = not text.strip()
            raise RequestError("Type some text to see its attention." if empty
                               else "The text has no characters MiniLM can read.", "text")
        pieces.append(Piece(SEP, self.vocab[SEP], len(text), len(text), True))
        if max_tokens is not None and len(pieces) > max_tokens:
            raise RequestError(f"The text makes {len(pieces):,} word pieces for MiniLM; the limit is "
                               f"{max_tokens} (with [CLS] and [SEP]). Shorten it.", "text")
        return pieces
