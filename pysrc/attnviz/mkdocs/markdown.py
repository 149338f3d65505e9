"""The Markdown form of a widget: a fenced block whose language is `attnviz`, holding the widget's
name and options as YAML, becomes the placeholder the page's script mounts:

    ```attnviz
    widget: heatmap
    text: The cat sat on the mat because it was tired.
    control: temperature
    ```

becomes `<div data-attnviz="heatmap" data-options='{"text": ..., "control": "temperature"}'></div>`.
Blocks inside other fenced blocks (a page showing the syntax) are left as they are.
"""
from __future__ import annotations

import html
import json
import re

import yaml

from ..notebook.assets import read

FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n`]*)$")
WIDGET_NAMES = re.compile(r'^\s*"?([\w-]+)"?\s*:\s*\(\)\s*=>\s*import\(', re.M)


class WidgetSyntaxError(ValueError):
    """A widget block that cannot be read: the message names the page and line."""


def widget_names() -> list[str]:
    """The widgets mount.js knows (its WIDGETS table)."""
    return WIDGET_NAMES.findall(read("mount.js"))


def placeholder(body: str, where: str, known: list[str]) -> str:
    """The <div> of one block's YAML."""
    try:
        options = yaml.safe_load(body) if body.strip() else None
    except yaml.YAMLError as exc:
        raise WidgetSyntaxError(f"{where}: the attnviz block is not valid YAML: {exc}") from exc
    if not isinstance(options, dict) or not isinstance(options.get("widget"), str):
        raise WidgetSyntaxError(f"{where}: an attnviz block starts with `widget: NAME` (one of {', '.join(known)}).")
    name = options.pop("widget")
    if name not in known:
        raise WidgetSyntaxError(f"{where}: unknown widget {name!r}; choose one of {', '.join(known)}.")
    data = f" data-options='{html.escape(json.dumps(options, ensure_ascii=False), quote=True)}'" if options else ""
    return f'<div data-attnviz="{html.escape(name)}"{data}></div>'


def replace_blocks(markdown: str, page: str) -> str:
    """Every top-level ```attnviz block of a page, as its placeholder."""
    lines = markdown.split("\n")
    out: list[str] = []
    known = widget_names()
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if not opening:
            out.append(lines[i])
            i += 1
            continue
        fence, indent = opening.group("fence"), opening.group("indent")
        end = i + 1  # the closing fence: the same character, at least as long
        while end < len(lines) and not re.match(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$", lines[end]):
            end += 1
        if opening.group("info").strip() == "attnviz":
            body = "\n".join(line[len(indent):] if line.startswith(indent) else line for line in lines[i + 1:end])
            out += ["", indent + placeholder(body, f"{page}, line {i + 1}", known), ""]
        else:
            out += lines[i:end + 1]
        i = end + 1
    return "\n".join(out)
