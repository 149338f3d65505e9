"""The Explorer links of the docs (`explorer.md#key=value&...`) and the rules their hash must obey.

The rules mirror site_js/explorer/state.js (PARSERS and fromHash) and the silent corrections of
normalise() in site_js/widgets/explorer.js, so a link can be judged without a browser. Keep them
in step with those two files.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable
from urllib.parse import parse_qsl

DOCS = Path(__file__).resolve().parents[2] / "docs"
MAX_URL_TEXT = 10000  # state.js MAX_URL_TEXT
MINILM_HEADS = 12  # explorer.js normalise(): MiniLM has 12 heads per layer

# A Markdown link to the Explorer with a hash; link text may wrap onto the next line.
LINK = re.compile(r"\[(?P<text>[^\]]+)\]\((?P<target>[^)\s]*explorer\.md#(?P<hash>[^)\s]+))\)")
# A paragraph ends at a blank line; a list item starts a block of its own.
BLOCK_START = re.compile(r"^\s*(?:\d+\.|[-*])\s", re.M)

Parser = Callable[[str], object]


def _int(lo: int, hi: int) -> Parser:
    # JS /^-?\d+$/ on ASCII digits; fullmatch because Python's $ also matches before a newline.
    return lambda s: int(s) if re.fullmatch(r"-?\d+", s, re.ASCII) and lo <= int(s) <= hi else None


def _num(lo: float, hi: float) -> Parser:
    return lambda s: (float(s) if re.fullmatch(r"-?\d*\.?\d+(e-?\d+)?", s, re.ASCII | re.I)
                      and lo <= float(s) <= hi else None)


def _bool(s: str) -> bool | None:
    return True if s in ("1", "true") else False if s in ("0", "false") else None


def _one_of(*values: str) -> Parser:
    return lambda s: s if s in values else None


def _text(s: str) -> str | None:
    # JS measures length in UTF-16 code units.
    return s if len(s.encode("utf-16-le")) // 2 <= MAX_URL_TEXT else None


# state.js PARSERS, field by field.
PARSERS: dict[str, Parser] = {
    "text": _text, "source": _text, "mode": _one_of("self", "cross"), "model": _one_of("synthetic", "minilm"),
    "heads": _int(1, 16), "head": _int(0, 15), "layer": _int(0, 5), "causal": _bool,
    "temperature": _num(0.05, 10), "rowscale": _bool, "view": _one_of("single", "grid"), "step": _bool,
    "stage": _int(0, 8), "token": _int(-1, 511), "self": _bool, "hide": _bool, "merge": _bool,
}
# state.js DEFAULTS.
DEFAULTS: dict[str, object] = {
    "text": "The cat sat on the mat because it was tired.", "source": "Le chat était fatigué.",
    "mode": "self", "model": "synthetic", "heads": 8, "head": 0, "layer": 0, "causal": False,
    "temperature": 1.0, "rowscale": False, "view": "single", "step": False, "stage": 0, "token": -1,
    "self": False, "hide": False, "merge": False,
}


@dataclass(frozen=True)
class ExplorerLink:
    """One link: where it is, what it says, the raw hash and the surrounding paragraph."""
    file: Path
    line: int
    text: str
    hash: str
    block: str

    @property
    def where(self) -> str:
        return f"{self.file.relative_to(DOCS)}:{self.line}"

    def params(self) -> list[tuple[str, str]]:
        """The hash's pairs as URLSearchParams reads them ('+' is a space, %xx decoded)."""
        return parse_qsl(self.hash, keep_blank_values=True)

    def state(self) -> dict[str, object]:
        """The Explorer's state for this link, as fromHash builds it (problems ignored)."""
        state = dict(DEFAULTS)
        for key, raw in self.params():
            value = PARSERS[key](raw) if key in PARSERS else None
            if value is not None:
                state[key] = value
        return state


def problems(link: ExplorerLink) -> list[str]:
    """Why the Explorer would not show exactly what this link asks for; empty if it would."""
    found = []
    for key, raw in link.params():
        if key not in PARSERS:
            found.append(f"unknown field {key!r}")
        elif PARSERS[key](raw) is None:
            found.append(f"{key}={raw!r} is out of range or mistyped")
    s = link.state()
    minilm = s["model"] == "minilm"
    keys = {k for k, _ in link.params()}
    # fromHash: a synthetic head beyond the head count falls back to 0.
    if not minilm and s["head"] >= s["heads"]:
        found.append(f"head={s['head']} but only {s['heads']} heads (head is 0-based)")
    # normalise() in explorer.js quietly changes these, so the link would not show what it says.
    if minilm and s["head"] >= MINILM_HEADS:
        found.append(f"MiniLM has {MINILM_HEADS} heads, head={s['head']} is clamped")
    if minilm and s["mode"] == "cross":
        found.append("MiniLM has no cross-attention")
    if not minilm and "layer" in keys:
        found.append("the synthetic model has one layer; layer is ignored")
    if minilm and "heads" in keys:
        found.append("heads only applies to the synthetic model")
    if "source" in keys and s["mode"] != "cross":
        found.append("source only applies to cross-attention")
    return found


def _block_around(content: str, start: int, end: int) -> str:
    """The paragraph or list item that holds content[start:end]."""
    para_start = content.rfind("\n\n", 0, start) + 1
    para_end = content.find("\n\n", end)
    para_end = len(content) if para_end < 0 else para_end
    item_starts = [m.start() for m in BLOCK_START.finditer(content, para_start, start + 1)]
    block_start = max([para_start, *item_starts])
    next_item = BLOCK_START.search(content, end, para_end)
    return content[block_start:next_item.start() if next_item else para_end]


def explorer_links(docs: Path = DOCS) -> list[ExplorerLink]:
    """Every Markdown link to the Explorer with a hash, in every page under docs/."""
    links = []
    for md in sorted(docs.rglob("*.md")):
        content = md.read_text(encoding="utf-8")
        for m in LINK.finditer(content):
            links.append(ExplorerLink(md, content.count("\n", 0, m.start()) + 1, " ".join(m["text"].split()),
                                      m["hash"], _block_around(content, m.start(), m.end())))
    return links
