"""Formulas rendered at build time (attnviz.mkdocs.maths): KaTeX's markup without inline styles
(the pages' CSP refuses them), each style kept as a class of the build's stylesheet."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

pytest.importorskip("mkdocs")  # not inside Pyodide (the served wheel leaves the build tools out)

from attnviz.mkdocs.maths import Katex, StyleClasses, render_formulas  # noqa: E402

KATEX = Path(__file__).resolve().parents[2] / "node_modules" / "katex" / "dist"
pytestmark = [pytest.mark.cpython_only,
              pytest.mark.skipif(not (KATEX / "katex.js").exists() or shutil.which("node") is None,
                                 reason="needs node and npm's KaTeX (make setup)")]


@pytest.fixture(scope="module")
def katex():
    renderer = Katex(KATEX)
    yield renderer
    renderer.close()


def test_inline_and_displayed_formulas_render_in_their_wrappers(katex):
    styles = StyleClasses()
    page = ('<p>Scale by <span class="arithmatex">\\(\\sqrt{d_k} &lt; n\\)</span>.</p>'
            '<div class="arithmatex">\\[\\frac{QK^\\top}{\\sqrt{d_k}}\\]</div>')
    out = render_formulas(page, katex, styles)
    assert out.startswith('<p>Scale by <span class="arithmatex"><span class="katex">')
    assert '<div class="arithmatex"><span class="katex-display">' in out
    assert "\\(" not in out and "\\[" not in out  # no TeX left for the browser
    assert "<mo>&lt;</mo>" in out  # the escaped "<" reached KaTeX as "<"
    assert not re.search(r'\sstyle="', out)
    used = set(re.findall(r"kx-[0-9a-f]{10}", out))
    assert used and used == set(styles.rules)  # every class used has its rule, and no rule is unused


def test_a_style_becomes_one_class_with_declarations_ranked_as_inline_ones():
    styles = StyleClasses()
    out = styles.without_inline_styles('<span class="vlist" style="height:0.8em;top:-3em;"></span><span style="height:0.8em;top:-3em;"/>')
    name = next(iter(styles.rules))
    assert out == f'<span class="vlist {name}"></span><span class="{name}"/>'
    assert styles.stylesheet() == f".{name}{{height:0.8em!important;top:-3em!important}}\n"


def test_a_formula_katex_cannot_parse_is_drawn_with_its_error(katex):
    out = render_formulas('<span class="arithmatex">\\(\\frac{1}{\\)</span>', katex, StyleClasses())
    assert 'class="katex-error kx-' in out and 'title="ParseError' in out  # red (its style, a class), the error as a title
