"""Where the installed package keeps its browser files: attnviz/web/ in a wheel (site_js/ of the
source tree, mapped by setup.py), site_js/ itself in an editable install."""
from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path


@cache
def web_dir() -> Path:
    """The folder of the browser modules (heatmap.js, widgets/, notebook/, attnviz.css, ...)."""
    try:
        found = resources.files("attnviz.web")
        for candidate in ([found] if isinstance(found, Path) else list(getattr(found, "_paths", []))):
            if (Path(candidate) / "heatmap.js").is_file():
                return Path(candidate)
    except ModuleNotFoundError:
        pass
    source = Path(__file__).resolve().parents[3] / "site_js"  # a source checkout: pysrc/attnviz/notebook/ -> site_js/
    if (source / "heatmap.js").is_file():
        return source
    raise FileNotFoundError("attnviz's browser files (attnviz/web) are not installed; reinstall the package.")


def read(name: str) -> str:
    """A browser file's text, e.g. read("attnviz.css")."""
    return (web_dir() / name).read_text(encoding="utf-8")
