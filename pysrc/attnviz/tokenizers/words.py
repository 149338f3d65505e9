"""Free text to tokens: words, numbers and punctuation, each with its span in the original text.

Rules (close to BERT's basic tokenizer, without lower-casing, so the page shows what was typed):
- a word is a run of letters, digits, underscores and combining marks (so "naïve" written with a
  combining diaeresis stays one word);
- every other visible character is a token of its own, except that an emoji keeps its modifiers,
  variation selectors, keycaps and zero-width-joined parts together, and two regional-indicator
  letters make one flag;
- each CJK ideograph and kana is a token of its own, as these scripts do not separate words;
- whitespace and invisible format characters (zero-width space, direction marks) separate tokens;
- control characters other than tab, newline and carriage return are refused: they are invisible
  and almost always a paste accident.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from ..errors import RequestError
from .scripts import is_cjk_ideograph, is_kana

MAX_TOKENS = 512
MAX_CHARS = 10_000

ZWJ, ZWNJ = "\u200d", "\u200c"
KEYCAP = "\u20e3"


@dataclass(frozen=True)
class Token:
    text: str
    start: int  # index into the original text (Python str indices: code points)
    end: int

    def as_dict(self) -> dict:
        return {"text": self.text, "start": self.start, "end": self.end}


def _is_cjk(ch: str) -> bool:
    return is_cjk_ideograph(ch) or is_kana(ch)  # these scripts do not separate words with spaces


def _is_word_char(ch: str) -> bool:
    return (ch.isalnum() or ch == "_" or unicodedata.category(ch) in ("Mn", "Mc")) and not _is_cjk(ch)


def _is_modifier(ch: str) -> bool:
    """Characters that belong to the symbol before them (emoji modifiers, selectors, marks)."""
    cp = ord(ch)
    return (0x1F3FB <= cp <= 0x1F3FF or 0xFE00 <= cp <= 0xFE0F or 0xE0020 <= cp <= 0xE007F
            or ch == KEYCAP or unicodedata.category(ch) in ("Mn", "Me"))


def _is_regional(ch: str) -> bool:
    return 0x1F1E6 <= ord(ch) <= 0x1F1FF


def _is_separator(ch: str) -> bool:
    return ch.isspace() or unicodedata.category(ch) == "Cf"


def check_text(text: object, field: str = "text") -> str:
    """Return text if it can be tokenized, else raise RequestError saying why."""
    if not isinstance(text, str):
        raise RequestError(f"'{field}' must be a string.", field)
    if len(text) > MAX_CHARS:
        raise RequestError(f"The text is {len(text):,} characters long; the limit is {MAX_CHARS:,}. "
                           "Shorten it.", field)
    for i, ch in enumerate(text):
        if unicodedata.category(ch) == "Cc" and ch not in "\t\n\r":
            raise RequestError(f"The text contains an invisible control character (U+{ord(ch):04X}) at "
                               f"position {i + 1}. Remove it and try again.", field)
        if unicodedata.category(ch) == "Cs":
            raise RequestError("The text contains a broken character (a lone surrogate).", field)
    return text


def _symbol_end(text: str, i: int) -> int:
    """End of the symbol token starting at i: the character plus what attaches to it."""
    n = len(text)
    j = i + 1
    if _is_regional(text[i]) and j < n and _is_regional(text[j]):
        return j + 1  # a flag is two regional indicators
    while j < n:
        if _is_modifier(text[j]):
            j += 1
        elif text[j] == ZWJ and j + 1 < n and not text[j + 1].isspace():
            j += 2  # zero-width joiner glues the next pictograph on (family emoji, ...)
        else:
            break
    return j


def _scan(text: str):
    """Yield the tokens of text, in order, with no limits."""
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if _is_separator(ch):
            i += 1
            continue
        if _is_word_char(ch):
            j = i + 1
            while j < n and (_is_word_char(text[j]) or _is_modifier(text[j])
                             or (text[j] in (ZWJ, ZWNJ) and j + 1 < n and _is_word_char(text[j + 1]))):
                j += 1
        elif _is_cjk(ch):
            j = i + 1
            while j < n and _is_modifier(text[j]):
                j += 1
        else:
            j = _symbol_end(text, i)
        yield Token(text[i:j], i, j)
        i = j


def tokenize(text: str, field: str = "text", max_tokens: int | None = MAX_TOKENS) -> list[Token]:
    """Split text into tokens with their spans; raise RequestError for empty or oversized text
    (max_tokens None: no limit on the count; the caller applies its own)."""
    check_text(text, field)
    tokens = list(_scan(text))
    if max_tokens is not None and len(tokens) > max_tokens:
        raise RequestError(f"The text has {len(tokens):,} tokens; the limit is {max_tokens}. "
                           "Shorten it.", field)
    if not tokens:
        raise RequestError("Type some text to see its attention." if not text.strip()
                           else "The text has no visible characters.", field)
    return tokens
