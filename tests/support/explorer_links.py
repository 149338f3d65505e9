"""The Explorer links of the docs (`explorer.md#key=value&...`), and what the Explorer makes of them.

Finding links is done here; judging them is not: a link's state, and which of its values the page
refuses or corrects, come from site_js/explorer/state.js itself (fromHash, fitToModel, requestFor),
run under Node by tests/support/explorer_state.mjs against the build's model index. So the rules
cannot drift from the page's.
"""
from __future__ import annotations

import functools
import json
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
STATE_SCRIPT = Path(__file__).with_name("explorer_state.mjs")
BUILT_INDEX = ROOT / "build" / "models" / "index.json"  # written by attnviz.models.export (and the site build)

# A Markdown link to the Explorer with a hash; link text may wrap onto the next line.
LINK = re.compile(r"\[(?P<text>[^\]]+)\]\((?P<target>[^)\s]*explorer\.md#(?P<hash>[^)\s]+))\)")
# A paragraph ends at a blank line; a list item starts a block of its own.
BLOCK_START = re.compile(r"^\s*(?:\d+\.|[-*])\s", re.M)


@functools.cache
def model_index_path() -> Path:
    """build/models/index.json, or (before any build) an index exported into a temporary folder."""
    if BUILT_INDEX.exists():
        return BUILT_INDEX
    out = Path(tempfile.mkdtemp(prefix="attnviz-models-"))
    subprocess.run([sys.executable, "-m", "attnviz.models.export", "--out", str(out)],
                   cwd=ROOT, check=True, capture_output=True, text=True)
    return out / "index.json"


@functools.cache
def model_index() -> dict:
    return json.loads(model_index_path().read_text(encoding="utf-8"))


def model_entry(name: str) -> dict | None:
    """The model index's entry for a model name (None for a name it does not know)."""
    return next((m for m in model_index()["models"] if m["name"] == name), None)


_evaluated: dict[str, dict] = {}


def evaluate(hashes: Iterable[str]) -> dict[str, dict]:
    """What the Explorer's own code makes of each hash (see explorer_state.mjs for the fields):
    one Node run for every hash not seen before, the rest from the cache."""
    wanted = list(dict.fromkeys(hashes))
    missing = [h for h in wanted if h not in _evaluated]
    if missing:
        node = shutil.which("node")
        assert node, "Node (20 or later) is needed to run site_js/explorer/state.js"
        run = subprocess.run([node, str(STATE_SCRIPT), str(model_index_path())], input=json.dumps(missing),
                             capture_output=True, text=True, cwd=ROOT)
        assert run.returncode == 0, f"explorer_state.mjs failed:\n{run.stderr}"
        for h, result in zip(missing, json.loads(run.stdout), strict=True):
            _evaluated[h] = result
    return {h: _evaluated[h] for h in wanted}


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
        return f"{self.file.relative_to(DOCS)}:{self.line}" if self.file.is_relative_to(DOCS) else str(self.file)

    def evaluation(self) -> dict:
        """All the Explorer's code says of this link (every docs link is evaluated in the same Node run)."""
        if self.hash not in _evaluated:
            evaluate([self.hash, *(link.hash for link in _docs_links(DOCS))])
        return _evaluated[self.hash]

    def state(self) -> dict:
        """The state the Explorer shows for this link: fromHash's, then fitted to the model by fitToModel."""
        return self.evaluation()["state"]

    def request(self) -> dict:
        """The attnviz request the Explorer sends for this link (requestFor)."""
        return self.evaluation()["request"]

    def limits(self) -> dict:
        """{layers, heads}: the layers and heads the link's model (and stack) has."""
        return self.evaluation()["limits"]


def problems(link: ExplorerLink) -> list[str]:
    """Why the Explorer would not show exactly what this link asks for; empty if it would."""
    e = link.evaluation()
    model = e["state"]["model"]
    found = [f"{key!r}: fromHash refuses the value (unknown field, mistyped, out of range, blank or too long)"
             for key in e["rejected"]]
    found += [f"{key!r}: fitToModel changes it to {e['state'][key]!r} (model {model})" for key in e["changed"]]
    found += [f"{key!r} does not apply to {model} (its request ignores it)" for key in e["unused"]]
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


@functools.cache
def _docs_links(docs: Path) -> tuple[ExplorerLink, ...]:
    return tuple(explorer_links(docs))
