"""Unicode ranges the tokenizers share, defined once."""
from __future__ import annotations

# CJK ideographs, as BERT's tokenizer defines them (each becomes a word of its own there).
CJK_IDEOGRAPHS = ((0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F), (0x2B740, 0x2B81F),
                  (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F))
KANA = (0x3040, 0x30FF)  # hiragana and katakana


def is_cjk_ideograph(ch: str) -> bool:
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in CJK_IDEOGRAPHS)


def is_kana(ch: str) -> bool:
    return KANA[0] <= ord(ch) <= KANA[1]
