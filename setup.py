"""Which packages the distribution carries (the metadata is in pyproject.toml).

attnviz comes from pysrc/; the browser modules ship inside it as attnviz.web, taken from site_js/
where the site is developed (the notebook view, the HTML writer and the MkDocs plugin read them
from the installed package), the runtime's pinned source as attnviz.pins, from requirements/, and
the model weights' licence texts as attnviz.licenses, from licenses/.
"""
from pathlib import Path

from setuptools import find_packages, setup

WEB_DIR = Path("site_js")
WEB = ["attnviz.web"] + sorted("attnviz.web." + p.relative_to(WEB_DIR).as_posix().replace("/", ".")
                               for p in WEB_DIR.rglob("*") if p.is_dir() and p.name != "__pycache__")

setup(
    packages=find_packages("pysrc") + WEB + ["attnviz.pins", "attnviz.licenses"],
    package_dir={"": "pysrc", "attnviz.web": str(WEB_DIR), "attnviz.pins": "requirements", "attnviz.licenses": "licenses"},
    package_data={**{name: ["*.js", "*.css"] for name in WEB}, "attnviz.mkdocs": ["*.cjs", "*.mjs"],
                  "attnviz.pins": ["numpy-wheel-source.txt"],
                  "attnviz.licenses": ["*.txt"]},
)
