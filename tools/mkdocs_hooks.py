"""MkDocs hook: put the browser runtime into every build, for `mkdocs build` and `mkdocs serve` alike.

- before the build: assemble Pyodide + numpy + the attnviz wheel (tools/runtime.py, cached) and
  MiniLM's weights in the browser format (tools/export_minilm.py, cached);
- after the build: copy the runtime to site/pyodide/, the model to site/models/, site_js/ to site/js/ and KaTeX to
  site/vendor/katex/, all under relative URLs so the site works from any sub-path;
- on pages with widgets: start the worker from <head> (site_js/boot.js), before the page has
  finished parsing, so Pyodide boots in parallel with the page;
- on every page: name Material's search dialog, which its template leaves unnamed;
- while serving: watch site_js/ and pysrc/ so edits there rebuild and reload the page.
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import export_minilm  # noqa: E402  (tools/ is not a package)
import runtime  # noqa: E402
from mkdocs.utils import get_relative_url  # noqa: E402

KATEX_DIST = ROOT / "node_modules" / "katex" / "dist"


def copy_tree(src: Path, dest: Path, *, skip: tuple[str, ...] = ()) -> None:
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns(".stamp", "__pycache__", *skip))


def on_pre_build(config, **kwargs) -> None:
    try:
        runtime.build_served()
    except runtime.BuildError as err:
        raise SystemExit(f"attnviz runtime: {err}") from err
    export_minilm.build()


def on_post_build(config, **kwargs) -> None:
    site = Path(config["site_dir"])
    copy_tree(runtime.SERVED_DIR, site / "pyodide", skip=("package.json",))
    copy_tree(ROOT / "site_js", site / "js")
    copy_tree(export_minilm.OUT.parent, site / "models")
    # Tell the worker the manifest's content-addressed name, so a revisit needs no request for it.
    loader = site / "js" / "model-files.js"
    loader.write_text(loader.read_text().replace('"manifest.json"', f'"{export_minilm.versioned_manifest()}"', 1))
    copy_tree(KATEX_DIST, site / "vendor" / "katex", skip=("contrib", "*.mjs", "katex.js", "katex.css", "README.md"))


SEARCH_DIALOG = '<div class="md-search" data-md-component="search" role="dialog">'


def name_search_dialog(output: str) -> str:
    """Screen readers announce a dialog by its name; Material's search dialog has none."""
    return output.replace(SEARCH_DIALOG, SEARCH_DIALOG.replace('role="dialog"', 'role="dialog" aria-label="Search"'), 1)


def on_post_page(output: str, page, config, **kwargs) -> str:
    output = name_search_dialog(output)
    if "data-attnviz=" not in output:
        return output
    boot = get_relative_url("js/boot.js", page.url)
    return output.replace("</head>", f'<script type="module" async src="{boot}"></script>\n</head>', 1)


def on_serve(server, config, builder, **kwargs):
    server.watch(str(ROOT / "site_js"))
    server.watch(str(ROOT / "pysrc"))
    return server
