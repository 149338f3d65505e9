"""MkDocs hook: put the browser runtime into every build, for `mkdocs build` and `mkdocs serve` alike.

- before the build: assemble Pyodide + numpy + the attnviz wheel (tools/runtime.py, cached) and
  every model's browser bundle and the model index (tools/export_models.py, cached);
- after the build: copy the runtime to site/pyodide/, the models to site/models/, site_js/ to site/js/ and KaTeX to
  site/vendor/katex/, all under relative URLs so the site works from any sub-path;
- on pages with widgets: start the worker from <head> (site_js/boot.js), before the page has
  finished parsing, so Pyodide boots in parallel with the page; a page whose widgets name a model
  says which in a meta tag, so the model's weights download alongside the runtime;
- on every page: name Material's search dialog and its page-loading progress bar, which its
  templates leave unnamed;
- on every page: fill the Content-Security-Policy of overrides/main.html with the hashes of the
  page's inline scripts and styles (Material inlines a few small ones); after the build, give
  every page the same policy, allowing the inline scripts of all pages: instant navigation keeps
  the first page's policy while it swaps in others (and reruns their inline scripts);
- after the build: write the service worker (site_js/sw.js) to the site root with the build's
  version and precache list, for offline revisits (not under `mkdocs serve`, where a cache would
  hide the edits live reload is for);
- while serving: watch site_js/ and pysrc/ so edits there rebuild and reload the page.
"""
from __future__ import annotations

import base64
import fnmatch
import hashlib
import json
import re
import shutil
import sys
from html import escape, unescape
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import export_models  # noqa: E402  (tools/ is not a package)
import runtime  # noqa: E402
from mkdocs.utils import get_relative_url  # noqa: E402

KATEX_DIST = ROOT / "node_modules" / "katex" / "dist"


def copy_tree(src: Path, dest: Path, *, skip: tuple[str, ...] = ()) -> None:
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns(".stamp", "__pycache__", *skip))


# Left out of the service worker's precache (cached on first use instead): optional files.
# Patterns match paths relative to site/; model bundles have caches of their own
# (site_js/model-files.js), and the model index is written into js/models.js. (sitemap.xml is
# precached: instant navigation asks for it on every page, offline too.)
LAZY = ("assets/javascripts/lunr/*", "vendor/katex/fonts/*.woff", "vendor/katex/fonts/*.ttf",
        "pyodide/pyodide.js", "*.map", "*.gz")
NOT_CACHED = ("sw.js", "models/*")


def service_worker_build(site: Path) -> dict:
    """The service worker's build record: version (hash of the precache list), precache, lazy."""
    precache, lazy = [], {}
    for path in sorted(p for p in site.rglob("*") if p.is_file()):
        rel = path.relative_to(site).as_posix()
        if any(fnmatch.fnmatch(rel, pattern) for pattern in NOT_CACHED):
            continue
        digest = hashlib.sha256(path.read_bytes()).digest()
        if any(fnmatch.fnmatch(rel, pattern) for pattern in LAZY):
            lazy[rel] = digest.hex()
            continue
        # Pages are requested by their directory URL: learn/x/index.html is learn/x/.
        url = "./" if rel == "index.html" else rel.removesuffix("index.html")
        precache.append({"url": url, "integrity": "sha256-" + base64.b64encode(digest).decode()})
    version = hashlib.sha256(json.dumps([precache, lazy], sort_keys=True).encode()).hexdigest()[:16]
    return {"version": version, "precache": precache, "lazy": lazy}


def write_service_worker(site: Path) -> str:
    """Write site/sw.js (at the root, so its scope is the whole site); returns the build version."""
    build = service_worker_build(site)
    source = (ROOT / "site_js" / "sw.js").read_text()
    (site / "sw.js").write_text(source.replace('"__ATTNVIZ_BUILD__"', json.dumps(build, separators=(",", ":"))))
    return build["version"]


serving = False


def on_startup(command: str, dirty: bool) -> None:
    global serving
    serving = command == "serve"


def on_pre_build(config, **kwargs) -> None:
    try:
        runtime.build_served()
    except runtime.BuildError as err:
        raise SystemExit(f"attnviz runtime: {err}") from err
    export_models.build()


def on_post_build(config, **kwargs) -> None:
    site = Path(config["site_dir"])
    copy_tree(runtime.SERVED_DIR, site / "pyodide", skip=("package.json",))
    copy_tree(ROOT / "site_js", site / "js", skip=("sw.js",))
    copy_tree(export_models.OUT, site / "models", skip=("*.tmp", "*.raw"))  # .raw: compressed files a test expanded
    # The model index, written into the module that reads it: no request for it on any page.
    index = site / "js" / "models.js"
    index.write_text(index.read_text().replace("/*__MODEL_INDEX__*/ null",
                                                (export_models.OUT / export_models.INDEX).read_text(), 1))
    # The progress bar's scale: what the worker downloads on a cold start.
    status = site / "js" / "status.js"
    status.write_text(status.read_text().replace("__RUNTIME_BYTES__", str(runtime.boot_bytes()), 1))
    copy_tree(KATEX_DIST, site / "vendor" / "katex", skip=("contrib", "*.mjs", "katex.js", "katex.css", "README.md"))
    unify_csp(site)
    if not serving:
        write_service_worker(site)  # keep last: it lists every file the build wrote


INLINE = {
    "__CSP_SCRIPT_HASHES__": re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*\btype=\"application/json\")[^>]*>(.*?)</script>", re.S),
    "__CSP_STYLE_HASHES__": re.compile(r"<style[^>]*>(.*?)</style>", re.S),
}


def with_csp_hashes(html: str) -> str:
    """Allow exactly the inline scripts and styles this page carries, by their sha256."""
    for placeholder, pattern in INLINE.items():
        hashes = sorted({"'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
                         for body in pattern.findall(html)})
        html = html.replace(" " + placeholder, "".join(" " + h for h in hashes))
    return html


CSP_META = re.compile(r'(<meta http-equiv="Content-Security-Policy" content=")([^"]*)(")')
HASHED_DIRECTIVES = ("script-src", "style-src")


def unify_csp(site: Path) -> None:
    """Give every page the one policy that allows the inline scripts and styles of all pages.

    Instant navigation swaps pages into the document the reader opened first: that page's policy
    is the one in force (Material adds the next page's meta tag too, which only adds restrictions),
    and it reruns inline scripts of the swapped-in content, so each page's policy must allow every
    page's hashes. They are Material's few small scripts, in a variant per folder depth."""
    pages = sorted(site.rglob("*.html"))
    hashes: dict[str, set[str]] = {name: set() for name in HASHED_DIRECTIVES}
    texts = {}
    for path in pages:
        texts[path] = path.read_text()
        found = CSP_META.search(texts[path])
        if not found:
            continue
        for directive in found.group(2).split(";"):
            name, *sources = directive.split()
            if name in hashes:
                hashes[name].update(s for s in sources if s.startswith("'sha256-"))

    def unified(match: re.Match) -> str:
        directives = []
        for directive in match.group(2).split(";"):
            name, *sources = directive.split()
            if name in hashes:
                sources = [s for s in sources if not s.startswith("'sha256-")] + sorted(hashes[name])
            directives.append(" ".join([name, *sources]))
        return match.group(1) + "; ".join(directives) + match.group(3)

    for path, text in texts.items():
        new = CSP_META.sub(unified, text, count=1)
        if new != text:
            path.write_text(new)


WIDGET_OPTIONS = re.compile(r"""<div data-attnviz="[^"]*" data-options='([^']*)'>""")


def widget_models(html: str) -> list[str]:
    """The models the page's widgets name in their options, in the page's order."""
    names: list[str] = []
    for options in WIDGET_OPTIONS.findall(html):
        model = json.loads(unescape(options)).get("model")
        if isinstance(model, str) and model not in names:
            names.append(model)
    return names


def with_boot_script(html: str, page_url: str) -> str:
    """Start the worker from the top of <head> on pages that have widgets: right after the CSP,
    before the stylesheets, so the parser reaches it before Material's inline scripts (which
    wait for the stylesheets) and the worker's downloads start at once. The models the widgets
    name go in a meta tag before it, for boot.js to start their downloads too."""
    if "data-attnviz=" not in html:
        return html
    boot = get_relative_url("js/boot.js", page_url)
    client = get_relative_url("js/client.js", page_url)
    models = widget_models(html)
    tags = ((f'<meta name="attnviz-models" content="{escape(" ".join(models))}">' if models else "")
            + f'<script type="module" async src="{boot}"></script>'
            f'<link rel="modulepreload" href="{client}">')
    policy_end = html.index(">", html.index('<meta http-equiv="Content-Security-Policy"')) + 1
    return html[:policy_end] + tags + html[policy_end:]


SEARCH_DIALOG = '<div class="md-search" data-md-component="search" role="dialog">'
PROGRESS_BAR = '<div class="md-progress" data-md-component="progress" role="progressbar">'


def name_search_dialog(output: str) -> str:
    """Screen readers announce a dialog or a progress bar by its name; Material's search dialog and
    the bar of navigation.instant.progress (a slow page swap) have none."""
    output = output.replace(SEARCH_DIALOG, SEARCH_DIALOG.replace('role="dialog"', 'role="dialog" aria-label="Search"'), 1)
    return output.replace(PROGRESS_BAR, PROGRESS_BAR.replace('role="progressbar"', 'role="progressbar" aria-label="Loading the page"'), 1)


def on_post_page(output: str, page, config, **kwargs) -> str:
    return with_csp_hashes(with_boot_script(name_search_dialog(output), page.url))


def on_post_template(output: str, template_name: str, config, **kwargs) -> str:
    return with_csp_hashes(output) if template_name.endswith(".html") else output


def on_serve(server, config, builder, **kwargs):
    server.watch(str(ROOT / "site_js"))
    server.watch(str(ROOT / "pysrc"))
    return server
