"""The MkDocs plugin: live attention widgets in any MkDocs site (Material or the default theme).

    plugins:
      - search
      - attnviz                 # or, with options:
      - attnviz:
          models: all           # model names, or all (default: the models that need no weights)
          cache_dir: build      # where the runtime and the model bundles are assembled and cached
          pyodide: node_modules/pyodide   # Pyodide's npm package, if the project has it (else from PyPI)
          katex: null           # a KaTeX dist folder: the pages' formulas rendered with it at build time
                                #   (node needed), its CSS and fonts served under vendor/katex/
          service_worker: true  # offline revisits

Each build puts the Pyodide runtime (Pyodide, numpy and the attnviz wheel), the widgets' modules,
the model index (and the bundles of the models asked for) and a service worker into the site; pages
get a Content-Security-Policy with the hashes of their inline scripts and styles; ```attnviz blocks
become widgets (markdown.py). Paths are relative to the folder of mkdocs.yml.
"""
from __future__ import annotations

import logging
from pathlib import Path

from mkdocs.config import config_options as c
from mkdocs.config.base import Config
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin

from .. import models
from ..models import export as model_export
from ..notebook.assets import web_dir
from . import built_answers, hooks, maths
from .markdown import WidgetSyntaxError, replace_blocks
from .runtime import PACKAGE, BuildError, Runtime

log = logging.getLogger("mkdocs.plugins.attnviz")
STYLES = ("js/attnviz.css",)
PALETTE = "js/palette.css"  # the colours Material gives the widgets, for other themes
ENTRY = "js/mount.js"


class AttnvizConfig(Config):
    models = c.Type((list, str), default=[])
    cache_dir = c.Type(str, default="build")
    pyodide = c.Type(str, default="node_modules/pyodide")
    katex = c.Optional(c.Type(str))
    service_worker = c.Type(bool, default=True)


def model_names(wanted: list[str] | str) -> list[str]:
    """The models to build: "all", a list of names, or (empty) those that need no weight files."""
    if wanted == "all":
        return list(models.MODULES)
    if isinstance(wanted, str):
        wanted = [wanted]
    unknown = [name for name in wanted if name not in models.MODULES]
    if unknown:
        raise PluginError(f"attnviz: unknown model(s) {', '.join(unknown)}; choose from {', '.join(models.MODULES)} or all.")
    return wanted or [info.name for info in models.all_info() if not info.bundle]


class AttnvizPlugin(BasePlugin[AttnvizConfig]):
    serving = False

    def on_startup(self, *, command: str, dirty: bool) -> None:
        self.serving = command == "serve"

    def on_config(self, config):
        base = Path(config.config_file_path).resolve().parent
        self.cache = (base / self.config.cache_dir).resolve()
        self.runtime = Runtime(self.cache, base / self.config.pyodide)
        self.katex = (base / self.config.katex) if self.config.katex else None
        if self.katex is not None and not self.katex.is_dir():
            raise PluginError(f"attnviz: katex: {self.katex} is not a folder (run `npm ci`?).")
        self.names = model_names(self.config.models)
        if self.katex is not None:
            self.formulas = maths.Katex(self.katex)
            self.formula_styles = maths.StyleClasses()
            if maths.STYLESHEET not in config.extra_css:
                config.extra_css.append(maths.STYLESHEET)
        if config.theme.name == "mkdocs" and config.theme.get("highlightjs"):
            # MkDocs' own theme loads highlight.js from a CDN: the page's policy would refuse it.
            log.info("attnviz: the theme's highlight.js comes from a CDN, which the pages' CSP refuses; turned off "
                     "(set `highlightjs: false` in the theme to silence this)")
            config.theme["highlightjs"] = False
        if config.theme.name == "material" and config.theme.get("font") is not False:
            # Material loads its fonts from Google Fonts unless told not to: the policy would refuse them.
            log.info("attnviz: Material's fonts come from Google Fonts, which the pages' CSP refuses; turned off "
                     "(the system fonts are used; set `font: false` in the theme to silence this)")
            config.theme["font"] = False
        styles = [*STYLES, *([] if config.theme.name == "material" else [PALETTE])]
        for path in styles:
            if path not in config.extra_css:
                config.extra_css.append(path)
        if ENTRY not in [str(script) for script in config.extra_javascript]:
            script = c.ExtraScriptValue(ENTRY)
            script.type = "module"
            config.extra_javascript.append(script)
        return config

    def on_pre_build(self, *, config) -> None:
        self.widgets: list[dict] = []  # every page's, for the answers computed ahead
        try:
            self.served = self.runtime.build_served()
            self.models_dir = model_export.build(self.cache / "models", self.names)
        except BuildError as err:
            raise PluginError(f"attnviz runtime: {err}") from err

    def on_page_markdown(self, markdown: str, *, page, config, files) -> str:
        try:
            return replace_blocks(markdown, page.file.src_uri)
        except WidgetSyntaxError as err:
            raise PluginError(str(err)) from err

    def on_page_content(self, html: str, *, page, config, files) -> str:
        if self.katex is None:
            return html
        try:
            return maths.render_formulas(html, self.formulas, self.formula_styles)
        except maths.MathsError as err:
            raise PluginError(f"attnviz: {page.file.src_uri}: {err}") from err

    def on_post_page(self, output: str, *, page, config) -> str:
        self.widgets += hooks.widgets_of(output)
        return hooks.post_page(output, page.url)

    def on_post_template(self, output_content: str, *, template_name: str, config) -> str:
        if not template_name.endswith(".html"):
            return output_content
        return hooks.charset_first(hooks.with_csp_hashes(hooks.with_policy(output_content)))

    def on_post_build(self, *, config) -> None:
        site = Path(config.site_dir)
        index = self.models_dir / model_export.INDEX
        answers_hash = hooks.answers_build_hash(self.served, index)
        answered = built_answers.build(site, self.widgets, self.models_dir, index, self.cache / "answers" / answers_hash)
        hooks.copy_runtime(site, self.served, self.models_dir, index, self.runtime.boot_bytes(), self.katex,
                           answers_hash, answered)
        if self.katex is not None:
            self.formulas.close()
            maths.write_stylesheet(site, self.formula_styles)
        hooks.unify_csp(site)
        if not self.serving:
            hooks.write_service_worker(site)  # keep last: it lists every file the build wrote

    def on_serve(self, server, *, config, builder):
        server.watch(str(web_dir()))
        server.watch(str(PACKAGE))
        return server
