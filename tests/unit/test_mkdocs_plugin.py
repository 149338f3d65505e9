"""The MkDocs plugin's pieces: the Markdown syntax of widgets, the policy a page gets, the browser
wheel of the installed package, and the wheel `pip install .` makes (it carries the browser files)."""
from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytest.importorskip("mkdocs")  # not inside Pyodide

from attnviz import models  # noqa: E402
from attnviz.mkdocs import hooks, runtime  # noqa: E402
from attnviz.mkdocs.markdown import WidgetSyntaxError, replace_blocks, widget_names  # noqa: E402
from attnviz.mkdocs.plugin import model_names  # noqa: E402

pytestmark = pytest.mark.cpython_only
ROOT = Path(__file__).resolve().parents[2]


def test_fenced_block_becomes_the_placeholder():
    page = "Intro\n\n```attnviz\nwidget: model-view\ntext: It's \"quoted\" & <b>bold</b>\nscore: induction\n```\n\nAfter"
    out = replace_blocks(page, "p.md")
    div = re.search(r"<div data-attnviz=\"model-view\" data-options='([^']*)'></div>", out)
    assert div, out
    from html import unescape
    assert json.loads(unescape(div.group(1))) == {"text": "It's \"quoted\" & <b>bold</b>", "score": "induction"}
    assert "<b>" not in out.replace(div.group(0), "")
    assert out.startswith("Intro") and out.endswith("After")


def test_blocks_inside_other_fences_and_indented_blocks():
    shown = "````markdown\n```attnviz\nwidget: heatmap\n```\n````\n"
    assert replace_blocks(shown, "p.md") == shown
    admonition = '!!! note\n    ```attnviz\n    widget: heatmap\n    heads: 4\n    ```\n'
    out = replace_blocks(admonition, "p.md")
    assert '    <div data-attnviz="heatmap" data-options=\'{&quot;heads&quot;: 4}\'></div>' in out


@pytest.mark.parametrize("body, words", [
    ("widget: nonsense", "unknown widget 'nonsense'"),
    ("text: no widget", "starts with `widget: NAME`"),
    ("widget: [heatmap", "not valid YAML"),
    ("", "starts with `widget: NAME`"),
])
def test_bad_blocks_stop_the_build_with_the_page_and_line(body, words):
    with pytest.raises(WidgetSyntaxError, match=re.escape(words)) as err:
        replace_blocks(f"# T\n\n```attnviz\n{body}\n```\n", "course/week1.md")
    assert "course/week1.md, line 3" in str(err.value)


def test_widget_names_are_mount_js_table():
    assert {"heatmap", "model-view", "head-view", "explorer", "cross"} <= set(widget_names())


def test_default_models_need_no_weights():
    default = model_names([])
    assert default and all(not models.info(name).bundle for name in default)
    assert model_names("all") == list(models.MODULES)
    from mkdocs.exceptions import PluginError
    with pytest.raises(PluginError, match="unknown model"):
        model_names(["no-such-model"])


def sha(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def test_a_page_without_policy_gets_one_with_its_hashes():
    html = ('<!doctype html><html><head><meta charset="utf-8"><title>t</title><script>var a = 1;</script>'
            '<style>p{}</style></head><body><div style="width: 20%;">x</div><script type="application/json">{}</script></body></html>')
    out = hooks.with_csp_hashes(hooks.with_policy(html))
    policy = re.search(r'<meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="([^"]+)">', out).group(1)
    assert f"script-src 'self' {sha('var a = 1;')};" in policy
    assert f"style-src 'self' {sha('p{}')} 'unsafe-hashes' {sha('width: 20%;')};" in policy
    assert hooks.with_policy(out) == out, "a page with a policy keeps it"


def test_a_page_preloads_the_modules_of_its_widgets_once():
    html = ('<html><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="x"></head><body>'
            '<div data-attnviz="heatmap" data-options=\'{}\'></div><div data-attnviz="no-such-widget"></div>'
            '<div data-attnviz="model-view" data-options=\'{"model": "minilm"}\'></div><div data-attnviz="heatmap"></div></body></html>')
    out = hooks.with_boot_script(html, "learn/x/")
    preloads = re.findall(r'<link rel="modulepreload" href="([^"]+)">', out)
    assert preloads == ["../../js/script-url.js", "../../js/client.js", "../../js/widgets/common.js",
                        "../../js/widgets/heatmap.js", "../../js/widgets/model-view.js"]
    assert out.index("modulepreload") < out.index("</head>")
    assert hooks.with_boot_script("<p>no widget</p>", "") == "<p>no widget</p>"


def test_the_charset_goes_first_in_head_however_long_the_tags_before_it():
    policy = '<meta http-equiv="Content-Security-Policy" content="script-src ' + "'sha256-x' " * 60 + '">'
    html = f'<!doctype html><html lang="en">\n  <head>\n    {policy}<script src="a.js"></script>\n  <meta charset="utf-8">\n  <title>t</title></head><body></body></html>'
    out = hooks.charset_first(html)
    assert out.index('<meta charset="utf-8">') < 64
    assert out.count("<meta charset") == 1
    assert out.replace('<meta charset="utf-8">\n  ', "", 1) == html.replace('<meta charset="utf-8">\n  ', "", 1), "nothing else moves"
    assert hooks.charset_first(out) == out
    assert hooks.charset_first("<p>a fragment</p>") == "<p>a fragment</p>"


def test_search_waits_for_the_widgets_only_on_pages_that_have_them():
    def page(search: str, body: str) -> str:
        config = json.dumps({"base": "../..", "search": search, "features": []})
        return f'<html><head><script id="__config" type="application/json">{config}</script></head><body>{body}</body></html>'

    def search_of(html: str) -> str:
        return json.loads(re.search(r'<script id="__config" type="application/json">(.*?)</script>', html).group(1))["search"]

    nested = page("../../assets/javascripts/workers/search.x.min.js", '<div data-attnviz="heatmap"></div>')
    assert search_of(hooks.with_search_after_widgets(nested, "learn/08-real-models/")) == "../../js/search-later.js"
    home = page("assets/javascripts/workers/search.x.min.js", '<div data-attnviz="heatmap"></div>')
    assert search_of(hooks.with_search_after_widgets(home, "")) == "js/search-later.js"
    elsewhere = page("../../vendor/search.js", '<div data-attnviz="heatmap"></div>')  # not Material's: left alone
    assert hooks.with_search_after_widgets(elsewhere, "learn/08-real-models/") == elsewhere
    plain = page("../assets/javascripts/workers/search.x.min.js", "<p>no widget</p>")
    assert hooks.with_search_after_widgets(plain, "references/") == plain
    assert hooks.with_search_after_widgets('<div data-attnviz="heatmap"></div>', "") == '<div data-attnviz="heatmap"></div>'


def test_browser_wheel_is_the_package_python_files(tmp_path, monkeypatch):
    monkeypatch.setattr(runtime, "pyodide_bin", lambda: None)  # the pure wheel, uncompiled
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, second = runtime.build_attnviz_wheel(tmp_path / "a"), runtime.build_attnviz_wheel(tmp_path / "b")
    assert first.read_bytes() == second.read_bytes(), "the same files make the same wheel"
    with zipfile.ZipFile(first) as zf:
        names = zf.namelist()
        assert "attnviz/__init__.py" in names and "attnviz/models/minilm.py" in names
        assert not [n for n in names if n.startswith(("attnviz/web/", "attnviz/mkdocs/", "attnviz/notebook/"))]
        record = zf.read("attnviz-0.1.0.dist-info/RECORD").decode().splitlines()
        for line in record[:-1]:
            path, digest, size = line.rsplit(",", 2)
            data = zf.read(path)
            assert digest == "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            assert int(size) == len(data)
    # It imports on its own (zipimport), not from the source tree.
    done = subprocess.run([sys.executable, "-c", "import attnviz; print(attnviz.__file__); "
                           "print(attnviz.attention('a b', heads=2)['attention']['self']['weights'].shape)"],
                          env={**os.environ, "PYTHONPATH": str(first)}, cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert str(first) in done.stdout and "(1, 2, 2, 2)" in done.stdout


def test_the_built_wheel_carries_everything(tmp_path):
    """`pip install .`'s wheel: the browser modules, the runtime pin and the licences inside the
    package, the plugin's entry point and the console script; installed elsewhere, it writes a view."""
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "-w", str(tmp_path / "dist"), str(ROOT)], check=True, cwd=tmp_path, capture_output=True)
    (wheel,) = (tmp_path / "dist").glob("attnviz-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        entry_points = next(zf.read(n).decode() for n in names if n.endswith("entry_points.txt"))
    for needed in ("attnviz/web/heatmap.js", "attnviz/web/colormap.js", "attnviz/web/mount.js", "attnviz/web/sw.js",
                   "attnviz/web/worker.js", "attnviz/web/widgets/model-view.js", "attnviz/web/widgets/head-view.js",
                   "attnviz/web/explorer/export.js", "attnviz/web/notebook/view.js", "attnviz/web/attnviz.css",
                   "attnviz/web/palette.css", "attnviz/web/notebook/notebook.css", "attnviz/pins/numpy-wheel-source.txt",
                   "attnviz/licenses/Apache-2.0.txt", "attnviz/mkdocs/plugin.py", "attnviz/notebook/bundle.py",
                   "attnviz/mkdocs/katex_render.cjs", "attnviz/mkdocs/first_requests.mjs", "attnviz/web/kept-answers.js"):
        assert needed in names, f"{needed} is not in the wheel"
    assert "attnviz = attnviz.mkdocs.plugin:AttnvizPlugin" in entry_points
    assert "attnviz = attnviz.__main__:main" in entry_points
    target = tmp_path / "installed"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(wheel)],
                   check=True, capture_output=True)
    done = subprocess.run([sys.executable, "-c", "import attnviz, sys; from attnviz.notebook.assets import web_dir; "
                           "print(attnviz.__file__, web_dir()); attnviz.save_html(attnviz.attention('a b', heads=2), 'v.html')"],
                          env={**os.environ, "PYTHONPATH": str(target)}, cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count(str(target)) == 2, done.stdout
    assert "data-attnviz-view" in (tmp_path / "v.html").read_text()
