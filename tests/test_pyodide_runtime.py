"""The unit suite inside Pyodide under Node, and CPython and Pyodide agreeing on golden requests."""
from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.pyodide.golden import GOLDEN_REQUESTS, run_all, tolerance

ROOT = Path(__file__).resolve().parent.parent
RUNTIME = ROOT / "build" / "runtime"
TEST_WHEELS = ROOT / "build" / "pyodide-test-wheels"
MODELS = ROOT / "build" / "models"  # the bundles tools/export_models.py writes (the site's models/)
# Pure-Python wheels pytest and hypothesis need inside Pyodide, taken from this venv's versions.
TEST_PACKAGES = ["pytest", "pluggy", "iniconfig", "packaging", "hypothesis", "attrs", "sortedcontainers", "pygments"]


def pinned(name: str) -> str:
    from importlib.metadata import version
    return f"{name}=={version(name)}"


@pytest.fixture(scope="module")
def pyodide_run(tmp_path_factory):
    if not (RUNTIME / "pyodide-lock.json").exists():
        pytest.fail("build/runtime is missing: run `make site` first.")
    if not (MODELS / "minilm" / "manifest.json").exists():
        pytest.fail("build/models/minilm is missing: run `make site` (or tools/export_models.py) first.")
    if not shutil.which("node"):
        pytest.fail("Node.js is needed to run the Pyodide tests.")
    if not list(TEST_WHEELS.glob("pytest-*.whl")):
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                        "--platform", "any", "--python-version", "3.12", "--implementation", "py",
                        "-d", str(TEST_WHEELS), *map(pinned, TEST_PACKAGES)], check=True)
    out = tmp_path_factory.mktemp("pyodide") / "golden.json"
    proc = subprocess.run(["node", str(ROOT / "tests/pyodide/run.mjs"), str(RUNTIME), str(TEST_WHEELS), str(MODELS), str(out)],
                          capture_output=True, text=True, timeout=900, cwd=ROOT)
    return proc, out


def readable(stderr: str) -> str:
    """Node's stderr without the minified Pyodide source lines it quotes around an error."""
    return "\n".join(line for line in stderr.splitlines() if len(line) < 400)[-3000:]


def test_unit_suite_passes_inside_pyodide(pyodide_run):
    proc, _ = pyodide_run
    tail = "\n".join(proc.stdout.splitlines()[-30:])
    assert proc.returncode == 0, f"pytest inside Pyodide failed:\n{tail}\n{readable(proc.stderr)}"
    assert " passed" in proc.stdout, tail


def close(a, b, path="", tol=(1e-6, 0.0)) -> None:
    """Assert two JSON documents are equal, numbers to within tol: (absolute, relative)."""
    if isinstance(a, float) or isinstance(b, float):
        assert math.isclose(a, b, abs_tol=tol[0], rel_tol=tol[1]), f"{path}: {a} != {b}"
    elif isinstance(a, list):
        assert len(a) == len(b), f"{path}: length {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            close(x, y, f"{path}[{i}]", tol)
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), f"{path}: keys differ {set(a) ^ set(b)}"
        for k in a:
            close(a[k], b[k], f"{path}.{k}", tol)
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


def test_cpython_and_pyodide_agree(pyodide_run):
    proc, out = pyodide_run
    assert out.exists(), readable(proc.stderr)
    cpython = json.loads(run_all(str(MODELS)))  # the same bundles Pyodide reads
    pyodide = json.loads(out.read_text())
    assert len(cpython) == len(pyodide) == len(GOLDEN_REQUESTS)
    for i, (request, a, b) in enumerate(zip(GOLDEN_REQUESTS, cpython, pyodide)):
        assert a["ok"], a
        close(a, b, f"[{i}] {request.get('model', 'synthetic')}", tolerance(request))
