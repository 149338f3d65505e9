"""One classic script made from the site's browser modules, for pages that cannot load module
files: a notebook output (JupyterLab, Notebook 7 and VS Code run inline scripts, not modules from
disk) and a saved HTML file opened from file://, where module scripts are refused.

The site's modules use a small, regular part of the module syntax (`import {a, b as c} from "./x.js"`,
`import * as x from`, `export function|class|const`); each becomes a function whose return value is
its exports, evaluated once, dependencies first. Anything else (dynamic import, `export let`,
`export default`) stops the bundle with a message naming the file, so a change to a module that
this cannot carry shows up in the tests instead of in a reader's notebook. No bundler is needed at
install or run time: the wheel carries the modules as the site serves them.
"""
from __future__ import annotations

import json
import posixpath
import re
from pathlib import Path

from .assets import web_dir

IMPORT = re.compile(r'^import\s*(?:\{([^}]*)\}|\*\s*as\s+(\w+))\s*from\s*"([^"]+)";?[ \t]*$', re.M)
BARE_IMPORT = re.compile(r'^import\s*"([^"]+)";?[ \t]*$', re.M)
EXPORT = re.compile(r"^export\s+((?:async\s+)?function\*?\s+(\w+)|class\s+(\w+)|const\s+(\w+))", re.M)
COMMENTS = re.compile(r"/\*.*?\*/|^\s*//.*$", re.S | re.M)
UNSUPPORTED = (re.compile(r"^export\s+(?:let|var|default|\{|\*)", re.M), re.compile(r"(?<![\w.])import\s*\("))

# Modules taken from elsewhere in the bundle: without a worker, the widgets' client answers from
# the data the page carries.
ALIASES = {"client.js": "notebook/static-client.js"}
# Build-time placeholders of the site, filled from the bundle's arguments instead.
PLACEHOLDERS = {"/*__MODEL_INDEX__*/ null": "__payload.index"}


class BundleError(RuntimeError):
    """A module uses syntax the bundle cannot carry."""


def _resolve(name: str, spec: str) -> str:
    """The module id (a path under site_js/) that module `name` means by `spec`."""
    target = posixpath.normpath(posixpath.join(posixpath.dirname(name), spec))
    return ALIASES.get(target, target)


def _imports(body: str, name: str) -> list[str]:
    """The module ids of each static import."""
    specs = [m.group(3) for m in IMPORT.finditer(body)] + [m.group(1) for m in BARE_IMPORT.finditer(body)]
    return [_resolve(name, spec) for spec in specs]


def _module(body: str, name: str) -> str:
    """One module as a function expression returning its exports."""
    code = COMMENTS.sub("", body)  # JSDoc types say import("...") too
    for pattern in UNSUPPORTED:
        if pattern.search(code):
            raise BundleError(f"site_js/{name}: {pattern.search(code).group(0)!r} cannot be bundled for the notebook view.")

    def binding(m: re.Match) -> str:
        spec = _resolve(name, m.group(3))
        if m.group(2):
            return f"const {m.group(2)} = __m[{json.dumps(spec)}];"
        names = [part.strip() for part in m.group(1).split(",") if part.strip()]
        fields = ", ".join(re.sub(r"^(\w+)\s+as\s+(\w+)$", r"\1: \2", n) for n in names)
        return f"const {{ {fields} }} = __m[{json.dumps(spec)}];"

    exported = [m.group(2) or m.group(3) or m.group(4) for m in EXPORT.finditer(body)]
    body = BARE_IMPORT.sub("", IMPORT.sub(binding, body))
    body = EXPORT.sub(lambda m: m.group(1), body).replace("import.meta.url", "__base")
    for placeholder, value in PLACEHOLDERS.items():
        body = body.replace(placeholder, value)
    return f'(function () {{\n"use strict";\n{body}\nreturn {{ {", ".join(exported)} }};\n}})()'


def _order(entry: str, root: Path) -> list[tuple[str, str]]:
    """(id, source) of entry and everything it imports, dependencies first."""
    done: dict[str, str] = {}
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in done:
            return
        if name in visiting:
            raise BundleError(f"site_js/{name}: circular imports cannot be bundled.")
        visiting.add(name)
        path = root / name
        if not path.is_file():
            raise BundleError(f"site_js/{name} is missing from the installed package.")
        body = path.read_text(encoding="utf-8")
        for dep in _imports(body, name):
            visit(dep)
        visiting.discard(name)
        done[name] = body

    visit(entry)
    return list(done.items())


def script(entry: str = "notebook/view.js", call: str = "mountView") -> str:
    """A function expression `function (__payload, __host)` that evaluates entry's module graph and
    calls entry's `call(__host, __payload)`."""
    root = web_dir()
    parts = ["function (__payload, __host) {", '"use strict";', "const __base = document.baseURI;", "const __m = {};"]
    for name, body in _order(entry, root):
        parts.append(f"__m[{json.dumps(name)}] = {_module(body, name)};")
    parts.append(f"__m[{json.dumps(entry)}].{call}(__host, __payload);")
    parts.append("}")
    return "\n".join(parts)
