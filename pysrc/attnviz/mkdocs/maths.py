"""Formulas rendered when the site is built, not in the reader's browser: KaTeX (run by node)
turns each formula pymdownx.arithmatex marks up into HTML and MathML.

Rendering in the browser cost every page a long task of 60-180 ms on the main thread, just as its
widgets' first answer came back; a page swapped in by instant navigation waited for it. KaTeX's
HTML positions its glyphs with inline `style` attributes, which the pages' Content-Security-Policy
refuses (`style-src 'self'` and hashes), so each distinct style becomes a class of one stylesheet,
`vendor/katex/formulas.css`, its declarations `!important` to rank as inline styles did.
"""
from __future__ import annotations

import hashlib
import html
import json
import re
import shutil
import subprocess
from pathlib import Path

STYLESHEET = "vendor/katex/formulas.css"
RENDERER = Path(__file__).with_name("katex_render.cjs")

# What arithmatex (generic mode) writes: \( … \) inline in a span, \[ … \] displayed in a div.
FORMULA = re.compile(r'<(span|div) class="arithmatex">(.*?)</\1>', re.DOTALL)
START_TAG = re.compile(r"<[a-zA-Z][^<>]*>")
STYLE_ATTR = re.compile(r'\sstyle="([^"]*)"')
CLASS_ATTR = re.compile(r'\sclass="([^"]*)"')


class MathsError(RuntimeError):
    pass


class Katex:
    """One node process that renders formulas for the whole build (started on the first)."""

    def __init__(self, dist: Path) -> None:
        self.script = (dist / "katex.js").resolve()
        self.process: subprocess.Popen | None = None

    def render(self, tex: str, display: bool) -> str:
        if self.process is None:
            node = shutil.which("node")
            if node is None:
                raise MathsError("rendering the formulas needs node (KaTeX runs in it), which is not on PATH")
            self.process = subprocess.Popen([node, str(RENDERER), str(self.script)], stdin=subprocess.PIPE,
                                            stdout=subprocess.PIPE, text=True, encoding="utf-8")
        self.process.stdin.write(json.dumps({"tex": tex, "display": display}) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise MathsError(f"KaTeX stopped while rendering {tex!r}")
        return json.loads(line)["html"]

    def close(self) -> None:
        if self.process is not None:
            self.process.stdin.close()
            self.process.wait(timeout=10)
            self.process = None


class StyleClasses:
    """The inline styles of the rendered formulas, each as a class of one stylesheet."""

    def __init__(self) -> None:
        self.rules: dict[str, str] = {}  # class name -> declarations

    def name_of(self, style: str) -> str:
        name = "kx-" + hashlib.sha1(style.encode()).hexdigest()[:10]
        if name not in self.rules:
            declarations = [d.strip() for d in style.split(";") if d.strip()]
            self.rules[name] = ";".join(f"{d}!important" for d in declarations)
        return name

    def without_inline_styles(self, markup: str) -> str:
        """The markup with every `style="…"` replaced by its class."""
        def tag(match: re.Match) -> str:
            text = match.group(0)
            style = STYLE_ATTR.search(text)
            if style is None:
                return text
            name = self.name_of(html.unescape(style.group(1)))
            text = text[:style.start()] + text[style.end():]
            if CLASS_ATTR.search(text):
                return CLASS_ATTR.sub(lambda m: f' class="{m.group(1)} {name}"', text, count=1)
            return text[:-1].rstrip("/").rstrip() + f' class="{name}"' + ("/>" if text.endswith("/>") else ">")
        return START_TAG.sub(tag, markup)

    def stylesheet(self) -> str:
        return "".join(f".{name}{{{rules}}}\n" for name, rules in sorted(self.rules.items()))


def render_formulas(page_html: str, katex: Katex, styles: StyleClasses) -> str:
    """A page's HTML with each arithmatex formula rendered in place (its wrapper kept: katex-init.js
    finds the displayed ones by it)."""
    def formula(match: re.Match) -> str:
        tag, source = match.group(1), html.unescape(match.group(2)).strip()
        display = source.startswith("\\[")
        body = source[2:-2] if source[:2] in ("\\(", "\\[") and source[-2:] in ("\\)", "\\]") else source
        rendered = styles.without_inline_styles(katex.render(body, display))
        return f'<{tag} class="arithmatex">{rendered}</{tag}>'
    return FORMULA.sub(formula, page_html)


def write_stylesheet(site: Path, styles: StyleClasses) -> None:
    path = site / STYLESHEET
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(styles.stylesheet(), encoding="utf-8")
