"""What the MkDocs plugin (plugin.py) does to a build, for `mkdocs build` and `mkdocs serve` alike.

- before the build: assemble Pyodide + numpy + the attnviz wheel (runtime.py, cached) and the
  model index, with the browser bundle of each model the site asks for (the model exporter, cached);
- after the build: the answers of the widgets' first requests to site/answers/ (built_answers.py);
  copy the runtime to site/pyodide/, the models to site/models/, the browser
  modules (attnviz/web, site_js/ of the source) to site/js/ and KaTeX (when the site uses it) to
  site/vendor/katex/, all under relative URLs so the site works from any sub-path;
- on pages with widgets: start the worker from <head> (site_js/start-worker.js), before the page
  has finished parsing, so Pyodide boots in parallel with the page; a page whose widgets name a
  model says which in a meta tag, so the model's weights download alongside the runtime
  (site_js/boot.js); the character set goes first in <head>, ahead of these tags and the policy;
- on every page: name Material's search dialog and its page-loading progress bar, which its
  templates leave unnamed;
- on every page: fill the Content-Security-Policy (the theme's, e.g. overrides/main.html, or the
  plugin's own at the top of <head>) with the hashes of the page's inline scripts and styles;
  after the build, give every page the same policy, allowing what all pages carry: instant
  navigation keeps the first page's policy while it swaps in others (and reruns their scripts);
- after the build: write the build's snapshot key (a hash of the runtime, the attnviz wheel and
  snapshot.js) into js/snapshot.js, so a new build never restores an old memory snapshot;
- after the build: write the service worker (site_js/sw.js) to the site root with the build's
  version and precache list, for offline revisits (not under `mkdocs serve`, where a cache would
  hide the edits live reload is for).
"""
from __future__ import annotations

import base64
import fnmatch
import hashlib
import json
import posixpath
import re
import shutil
from html import escape, unescape
from pathlib import Path

from mkdocs.utils import get_relative_url

from ..notebook.assets import web_dir


def copy_tree(src: Path, dest: Path, *, skip: tuple[str, ...] = (), merge: bool = False) -> None:
    """Copy a folder into the site; merge: beside what is there (a theme's own js/, e.g. MkDocs')."""
    if not merge:
        shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns(".stamp", "__pycache__", *skip), dirs_exist_ok=merge)


# Left out of the service worker's precache (cached on first use instead): optional files.
# Patterns match paths relative to site/; model bundles have caches of their own
# (site_js/model-files.js), and the model index is written into js/models.js. (sitemap.xml is
# precached: instant navigation asks for it on every page, offline too; so are the build's
# answers, answers/*.bin: a page first opened offline draws from them, and its first visit
# fetched them before the service worker was there to keep them.)
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


def snapshot_build_hash(runtime_dir: Path) -> str:
    """What a memory snapshot depends on: every runtime file (Pyodide, the standard library, the
    lock file, numpy's and attnviz's wheels) and the code that takes and restores it (with the
    wheel reader and the sha256 it uses)."""
    digest = hashlib.sha256()
    for path in [*sorted(p for p in runtime_dir.iterdir() if p.is_file() and p.name != ".stamp"),
                 *(web_dir() / name for name in ("snapshot.js", "zip.js", "download-resume.js"))]:
        digest.update(path.name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:32]


def answers_build_hash(runtime_dir: Path, index: Path) -> str:
    """What an answer kept between visits depends on (site_js/kept-answers.js): the runtime with
    numpy and attnviz, the worker's attention-flow kernel, and the model index, which names every
    model file by its hash."""
    digest = hashlib.sha256(snapshot_build_hash(runtime_dir).encode() + b"\0" + index.read_bytes()
                            + b"\0" + (web_dir() / "flow-kernel.js").read_bytes())
    return digest.hexdigest()[:32]


def write_service_worker(site: Path) -> str:
    """Write site/sw.js (at the root, so its scope is the whole site); returns the build version."""
    build = service_worker_build(site)
    source = (web_dir() / "sw.js").read_text()
    (site / "sw.js").write_text(source.replace('"__ATTNVIZ_BUILD__"', json.dumps(build, separators=(",", ":"))))
    return build["version"]


# Left out of site/js/: the service worker (written to the root) and what only notebooks use.
NOT_SERVED_JS = ("sw.js", "notebook")


def copy_runtime(site: Path, served: Path, models: Path, index: Path, boot_bytes: int, katex: Path | None,
                 answers_hash: str, answered: list[str]) -> None:
    """Everything the widgets need into the built site (after MkDocs wrote the pages); answers_hash:
    answers_build_hash's; answered: the hashes of the requests the build answered (built_answers.py)."""
    copy_tree(served, site / "pyodide", skip=("package.json",))
    copy_tree(web_dir(), site / "js", skip=NOT_SERVED_JS, merge=True)
    copy_tree(models, site / "models", skip=("*.tmp", "*.raw"))  # .raw: compressed files a test expanded
    # The model index, written into the module that reads it: no request for it on any page.
    index_js = site / "js" / "models.js"
    index_js.write_text(index_js.read_text().replace("/*__MODEL_INDEX__*/ null", index.read_text(), 1))
    # The progress bar's scale: what the worker downloads on a cold start.
    status = site / "js" / "status.js"
    status.write_text(status.read_text().replace("__RUNTIME_BYTES__", str(boot_bytes), 1))
    snapshot = site / "js" / "snapshot.js"
    snapshot.write_text(snapshot.read_text().replace("__SNAPSHOT_BUILD__", snapshot_build_hash(served), 1))
    theirs = sorted(site.glob(THEIR_SEARCH_WORKER))
    if len(theirs) == 1:  # Material's search, which pages with widgets start through search-later.js
        later = site / "js" / "search-later.js"
        path = "../" + theirs[0].relative_to(site).as_posix()
        later.write_text(later.read_text().replace('"__THEIR_SEARCH_WORKER__"', json.dumps(path), 1))
    answers = site / "js" / "kept-answers.js"
    answers.write_text(answers.read_text().replace("__ANSWERS_BUILD__", answers_hash, 1)
                       .replace("/*__BUILT_ANSWERS__*/ []", json.dumps(answered), 1))
    if katex is not None:
        copy_tree(katex, site / "vendor" / "katex", skip=("contrib", "*.mjs", "katex.js", "katex.css", "README.md"))


INLINE = {
    "__CSP_SCRIPT_HASHES__": re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*\btype=\"application/json\")[^>]*>(.*?)</script>", re.S),
    "__CSP_STYLE_HASHES__": re.compile(r"<style[^>]*>(.*?)</style>", re.S),
}
CSP_META = '<meta http-equiv="Content-Security-Policy"'
# The policy of a page whose theme has none (overrides/main.html carries the same for this site):
# scripts, workers, fetches, styles, fonts and images from the site itself only.
POLICY = ("default-src 'self'; script-src 'self' __CSP_SCRIPT_HASHES__; style-src 'self' __CSP_STYLE_HASHES__; "
          "worker-src 'self'; connect-src 'self'; img-src 'self' data:; font-src 'self'; object-src 'none'; "
          "base-uri 'self'; form-action 'self'")


def with_policy(html: str) -> str:
    """Give a page the policy when its theme has none: first in <head> (a policy set by a meta tag
    only governs what comes after it), after the character set."""
    if CSP_META in html:
        return html
    head = re.search(r"<head[^>]*>\s*(<meta charset=[^>]*>)?", html, re.I)
    if head is None:
        return html
    return html[:head.end()] + f'{CSP_META} content="{POLICY}">' + html[head.end():]


STYLE_ATTRIBUTE = re.compile(r"<[a-zA-Z][^>]*?\sstyle=\"([^\"]*)\"")


def sha256_source(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def with_csp_hashes(html: str) -> str:
    """Allow exactly the inline scripts and styles this page carries, by their sha256 (and the
    style attributes a theme writes, e.g. MkDocs' own, by theirs with 'unsafe-hashes')."""
    for placeholder, pattern in INLINE.items():
        sources = sorted({sha256_source(body) for body in pattern.findall(html)})
        if placeholder == "__CSP_STYLE_HASHES__":
            attributes = sorted({sha256_source(unescape(value)) for value in STYLE_ATTRIBUTE.findall(html)})
            sources += ["'unsafe-hashes'", *attributes] if attributes else []
        html = html.replace(" " + placeholder, "".join(" " + h for h in sources))
    return html


POLICY_META = re.compile(r'(<meta http-equiv="Content-Security-Policy" content=")([^"]*)(")')
HASHED_DIRECTIVES = ("script-src", "style-src")


def unify_csp(site: Path) -> None:
    """Give every page the one policy that allows what every page carries inline.

    Instant navigation swaps pages into the document the reader opened first: that page's policy
    is the one in force (Material adds the next page's meta tag too, which only adds restrictions),
    and it reruns inline scripts of the swapped-in content, so each page's policy must allow every
    page's hashes. They are Material's few small scripts, in a variant per folder depth."""
    texts = {path: path.read_text() for path in sorted(site.rglob("*.html"))}
    sources: dict[str, list[str]] = {name: [] for name in HASHED_DIRECTIVES}
    for text in texts.values():
        found = POLICY_META.search(text)
        for directive in found.group(2).split(";") if found else []:
            name, *values = directive.split()
            if name in sources:
                sources[name] += [v for v in values if v not in sources[name]]

    def unified(match: re.Match) -> str:
        directives = []
        for directive in match.group(2).split(";"):
            name, *values = directive.split()
            if name in sources:  # keywords first, in the order met, then every hash
                values = ([v for v in sources[name] if not v.startswith("'sha256-")]
                          + sorted(v for v in sources[name] if v.startswith("'sha256-")))
            directives.append(" ".join([name, *values]))
        return match.group(1) + "; ".join(directives) + match.group(3)

    for path, text in texts.items():
        new = POLICY_META.sub(unified, text, count=1)
        if new != text:
            path.write_text(new)


WIDGET = re.compile(r"""<div data-attnviz="([^"]*)"(?: data-options='([^']*)')?\s*>""")


def widgets_of(html: str) -> list[dict]:
    """The page's widgets, [{kind, options}], in the page's order (options that are not a JSON
    object are the page's error to show, in the browser)."""
    found = []
    for kind, options in WIDGET.findall(html):
        try:
            parsed = json.loads(unescape(options)) if options else {}
        except ValueError:
            continue
        if isinstance(parsed, dict):
            found.append({"kind": kind, "options": parsed})
    return found


def widget_models(html: str) -> list[str]:
    """The models the page's widgets name in their options, each once, in the page's order."""
    names = (w["options"].get("model") for w in widgets_of(html))
    return list(dict.fromkeys(name for name in names if isinstance(name, str)))


def widget_kinds(html: str) -> list[str]:
    """The kinds of widget on the page that have a module, each once, in the page's order (an
    unknown one is the page's error to show, not a file to fetch)."""
    kinds = dict.fromkeys(w["kind"] for w in widgets_of(html))
    return [kind for kind in kinds if re.fullmatch(r"[a-z][a-z-]*", kind)
            and (web_dir() / "widgets" / f"{kind}.js").is_file()]


THEIR_SEARCH_WORKER = "assets/javascripts/workers/search.*.js"  # Material's, from the site's root
MATERIAL_CONFIG = re.compile(r'<script id="__config" type="application/json">(.*?)</script>', re.S)


def with_search_after_widgets(html: str, page_url: str) -> str:
    """On a page with widgets, Material's search worker builds its index only once they have drawn
    (site_js/search-later.js, which loads the theme's worker: copy_runtime writes in which)."""
    config = MATERIAL_CONFIG.search(html)
    if "data-attnviz=" not in html or config is None:
        return html
    theirs = json.loads(unescape(config.group(1))).get("search")
    if not isinstance(theirs, str) or not theirs.endswith(".js"):
        return html
    from_root = posixpath.normpath(posixpath.join(page_url, theirs))  # page_url is the page's folder
    if not fnmatch.fnmatch(from_root, THEIR_SEARCH_WORKER):
        return html
    ours = get_relative_url("js/search-later.js", page_url)
    body = config.group(1).replace(json.dumps(theirs), json.dumps(ours), 1)
    return html[:config.start(1)] + body + html[config.end(1):]


def with_boot_script(html: str, page_url: str) -> str:
    """Start the worker from the top of <head> on pages that have widgets: right after the CSP,
    before the stylesheets, so the parser reaches it before Material's inline scripts (which
    wait for the stylesheets) and the worker's downloads start at once. The models the widgets
    name go in a meta tag before it, for boot.js to start their downloads too."""
    if "data-attnviz=" not in html:
        return html
    js = {name: get_relative_url(f"js/{name}.js", page_url) for name in ("start-worker", "script-url", "boot", "client")}
    models = widget_models(html)
    # The page's widget modules load while it parses, not one after another once it has (a widget
    # drawn from the build's answers waits for nothing else).
    widgets = [get_relative_url(f"js/widgets/{kind}.js", page_url) for kind in ("common", *widget_kinds(html))]
    # start-worker.js and its one import start the worker; boot.js, with the client's larger module
    # graph, takes it over and starts the models' downloads.
    tags = ((f'<meta name="attnviz-models" content="{escape(" ".join(models))}">' if models else "")
            + f'<script type="module" async src="{js["start-worker"]}"></script>'
            f'<link rel="modulepreload" href="{js["script-url"]}">'
            f'<script type="module" async src="{js["boot"]}"></script>'
            f'<link rel="modulepreload" href="{js["client"]}">'
            + "".join(f'<link rel="modulepreload" href="{url}">' for url in widgets))
    policy_end = html.index(">", html.index(CSP_META)) + 1
    return html[:policy_end] + tags + html[policy_end:]


SEARCH_DIALOG = '<div class="md-search" data-md-component="search" role="dialog">'
PROGRESS_BAR = '<div class="md-progress" data-md-component="progress" role="progressbar">'


def name_search_dialog(output: str) -> str:
    """Screen readers announce a dialog or a progress bar by its name; Material's search dialog and
    the bar of navigation.instant.progress (a slow page swap) have none."""
    output = output.replace(SEARCH_DIALOG, SEARCH_DIALOG.replace('role="dialog"', 'role="dialog" aria-label="Search"'), 1)
    return output.replace(PROGRESS_BAR, PROGRESS_BAR.replace('role="progressbar"', 'role="progressbar" aria-label="Loading the page"'), 1)


CHARSET = re.compile(r"<meta charset=[^>]*>\s*", re.I)


def charset_first(html: str) -> str:
    """Browsers look for the character set in the first 1024 bytes, and the policy (with a hash of
    every inline script) and the tags that start the worker come early in <head>: the charset goes
    before them all (a policy only governs what follows it, and a charset loads nothing)."""
    head = re.search(r"<head[^>]*>\s*", html, re.I)
    charset = CHARSET.search(html)
    if head is None or charset is None or charset.start() <= head.end():
        return html
    return html[:head.end()] + charset.group(0) + html[head.end():charset.start()] + html[charset.end():]


def post_page(output: str, page_url: str) -> str:
    page = with_search_after_widgets(with_boot_script(with_policy(name_search_dialog(output)), page_url), page_url)
    return charset_first(with_csp_hashes(page))
