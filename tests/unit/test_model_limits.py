"""Input limits per model: the registry states them (models.limits), the model index carries them to
the pages, the model page's table says the same, and each one is enforced: a request at the limit
runs, one past it gets a message naming the field and the limit."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from attnviz import api, models
from attnviz.formats import shortlist as sl
from attnviz.models.marian import folder_files
from attnviz.request import FIELDS
from attnviz.tokenizers.words import MAX_CHARS
from tests.support.tiny_models import TINY_PIECES, model, tiny_model

ROOT = Path(__file__).resolve().parents[2]


def test_each_model_states_its_limits():
    for info in models.all_info():
        limits = models.limits(info)
        assert limits["characters"] == MAX_CHARS and limits["tokens"] == info.max_tokens > 0
        for option in models.LIMITED_OPTIONS:
            assert limits.get(option) == (FIELDS[option][2][1] if option in info.options else None), (info.name, option)
    assert models.limits(models.info("smollm2"))["generate"] == 20
    assert models.limits(models.info("synthetic"))["heads"] == 16


# one past each limit of the synthetic model, and the words of the message
PAST = {"characters": ({"text": "x" * (MAX_CHARS + 1)}, "text", f"the limit is {MAX_CHARS:,}"),
        "tokens": ({"text": "a " * 513}, "text", "513 tokens; the limit is 512"),
        "heads": ({"text": "a b", "heads": 17}, "heads", "from 1 to 16"),
        "pad_to": ({"text": "a b", "pad_to": 513}, "pad_to", "from 0 to 512")}
AT = {"characters": {"text": "x" * MAX_CHARS}, "tokens": {"text": "a " * 512},
      "heads": {"text": "a b", "heads": 16}, "pad_to": {"text": "a b", "pad_to": 512}}


@pytest.mark.parametrize("limit", sorted(models.limits(models.info("synthetic"))))
def test_each_stated_limit_of_the_synthetic_model_is_the_one_enforced(limit):
    assert api.run({**AT[limit], "heads": AT[limit].get("heads", 1)})["ok"]
    request, field, words = PAST[limit]
    result = api.run(request)
    assert not result["ok"] and result["error"]["field"] == field and words in result["error"]["message"], result


@pytest.fixture(scope="module")
def translator(tmp_path_factory) -> str:
    """A folder holding the tiny Marian model as the package ships one direction."""
    folder = tmp_path_factory.mktemp("marian")
    files = {"model": tiny_model(), "vocab": model(TINY_PIECES), "shortlist": sl.write(2, 4, [[3]] * 12)}
    for key, path in folder_files(str(folder), "enpt").items():
        Path(path).write_bytes(files[key])
    return str(folder)


def test_the_translators_limit_holds_for_your_own_translation_too(translator):
    limit = models.limits(models.info("marian-en-pt"))["tokens"]
    ok = api.run({"model": "marian-en-pt", "text": "the cat", "target": "the " * (limit - 1)}, weights_dir=translator)
    assert ok["ok"], ok.get("error")
    for target, words in [("the " * limit, f"{limit + 1} pieces; Marian en→pt takes at most {limit}"),
                          ("x" * (MAX_CHARS + 1), f"the limit is {MAX_CHARS:,}"),
                          ("the\x00cat", "control character (U+0000)")]:
        result = api.run({"model": "marian-en-pt", "text": "the cat", "target": target}, weights_dir=translator)
        assert result["error"]["field"] == "target" and words in result["error"]["message"], result


@pytest.mark.cpython_only  # the exporter is not in the browser's wheel
def test_the_model_index_carries_the_limits(tmp_path):
    from attnviz.models import export
    for info in models.all_info():
        assert export.index_entry(info, None, tmp_path)["limits"] == models.limits(info)


def page_table() -> dict[str, dict[str, str]]:
    """The model page's input-limits table: label -> {column: cell}."""
    text = (ROOT / "docs" / "model.md").read_text(encoding="utf-8")
    section = text.split("### Input limits", 1)[1]
    lines = [line for line in section.split("\n\n")[2].splitlines() if line.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    return {cells[0]: dict(zip(header, cells)) for cells in
            ([c.strip() for c in line.strip("|").split("|")] for line in lines[2:])}


@pytest.mark.cpython_only  # docs/ is not in Pyodide's file system
def test_the_model_page_states_the_registrys_limits():
    table = page_table()
    assert set(table) == {info.label for info in models.all_info()}
    for info in models.all_info():
        row, limits = table[info.label], models.limits(info)
        assert int(row["characters per text"].replace(",", "")) == limits["characters"], info.name
        assert int(row["tokens"].replace(",", "")) == limits["tokens"], info.name
        others = dict(re.findall(r"(\w+): up to (\d+)", row["other"]))
        assert {k: int(v) for k, v in others.items()} == {k: v for k, v in limits.items()
                                                           if k not in ("characters", "tokens")}, info.name
