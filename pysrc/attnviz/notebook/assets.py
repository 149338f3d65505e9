"""Where the installed package keeps its browser files: attnviz/web/ in a wheel (site_js/ of the
source tree, mapped by setup.py), site_js/ itself in an editable install."""
from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path


def _data_dir(package: str, source: str, marker: str) -> Path:
    """A data folder setup.py maps into the package, found installed or in the source checkout."""
    try:
        found = resources.files(package)
        for candidate in ([found] if isinstance(found, Path) else list(getattr(found, "_paths", []))):
            if (Path(candidate) / marker).is_file():
                return Path(candidate)
    except ModuleNotFoundError:
        pass
    checkout = Path(__file__).resolve().parents[3] / source  # pysrc/attnviz/notebook/ -> the repository
    if (checkout / marker).is_file():
        return checkout
    raise FileNotFoundError(f"attnviz's {package} files are not installed; reinstall the package.")


@cache
def web_dir() -> Path:
    """The folder of the browser modules (heatmap.js, widgets/, notebook/, attnviz.css, ...)."""
    return _data_dir("attnviz.web", "site_js", "heatmap.js")


@cache
def licences_dir() -> Path:
    """The licence texts of the real models' weights, copied into their bundles."""
    return _data_dir("attnviz.licenses", "licenses", "Apache-2.0.txt")


def read(name: str) -> str:
    """A browser file's text, e.g. read("attnviz.css")."""
    return (web_dir() / name).read_text(encoding="utf-8")
