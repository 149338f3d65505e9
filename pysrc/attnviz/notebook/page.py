"""The view as HTML: a fragment for a notebook output (its own element ids, the script and styles
inline, nothing fetched), or a whole page that opens from disk under a strict Content-Security-Policy
(the hashes of its one inline script and one inline style; no network, no other script)."""
from __future__ import annotations

import base64
import hashlib
import html
import json
import uuid

from . import bundle
from .assets import read

STYLES = ("attnviz.css", "palette.css", "notebook/notebook.css")
TABS = ("heatmap", "model", "head")
NO_SCRIPT = ("The interactive attention view needs JavaScript: run the cell again, or trust the notebook "
             "(File → Trust Notebook), or open the file in a browser.")


def _json_in_html(value: dict) -> str:
    """JSON for a <script type="application/json"> element: no "<" in it, so nothing can end the
    element or change how the HTML parser reads it (the same JSON to JSON.parse)."""
    return json.dumps(value, ensure_ascii=True, separators=(",", ":")).replace("<", "\\u003c").replace(">", "\\u003e")


def _loader(view_id: str) -> str:
    """The inline script: finds its own host and data beside it (by the output's own id, from the
    script element itself, so it works before the output is in the page), then mounts when the host
    is laid out."""
    return (f"(function () {{\nvar id = {json.dumps(view_id)}, me = document.currentScript;\n"
            "var scope = me && me.parentNode ? me.parentNode : document;\n"
            "var host = scope.querySelector('[data-attnviz-view=\"' + id + '\"]') || document.querySelector('[data-attnviz-view=\"' + id + '\"]');\n"
            "var data = JSON.parse((scope.querySelector('script[data-attnviz-data=\"' + id + '\"]') || "
            "document.querySelector('script[data-attnviz-data=\"' + id + '\"]')).textContent);\n"
            f"var run = {bundle.script()};\n"
            "(function start() { if (host.isConnected) run(data, host); else requestAnimationFrame(start); })();\n})();")


def parts(payload: dict) -> tuple[str, str, str]:
    """(style, body, script) of one view; the body holds the data element and the host element."""
    view_id = "attnviz-" + uuid.uuid4().hex[:12]
    style = "\n".join(read(name) for name in STYLES)
    body = (f'<div class="av-palette" data-attnviz-view="{view_id}" id="{view_id}"><p class="av-caption">'
            f"{html.escape(NO_SCRIPT)}</p></div>\n"
            f'<script type="application/json" data-attnviz-data="{view_id}">{_json_in_html(payload)}</script>')
    return style, body, _loader(view_id)


def fragment(payload: dict) -> str:
    """A notebook output: style, host, data and script together (scripts of an output run in
    JupyterLab, Notebook 7 and VS Code for a notebook run here; no require.js, no widget comms)."""
    style, body, script = parts(payload)
    return f"<div>\n<style>{style}</style>\n{body}\n<script>{script}</script>\n</div>"


def csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def document(payload: dict, title: str) -> str:
    """A whole page: opens from file:// with no server and no network; the policy allows exactly its
    one inline script and one inline style, and nothing from anywhere (downloads are made in the page)."""
    style, body, script = parts(payload)
    policy = (f"default-src 'none'; script-src {csp_hash(script)}; style-src {csp_hash(style)}; "
              "img-src data: blob:; base-uri 'none'; form-action 'none'")
    return ("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f'<meta http-equiv="Content-Security-Policy" content="{policy}">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{html.escape(title)}</title>\n<style>{style}</style>\n</head>\n"
            f'<body class="av-palette">\n{body}\n<script>{script}</script>\n</body>\n</html>\n')
