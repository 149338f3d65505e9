"""Command line: python -m attnviz TEXT [options] -> JSON, CSV, PNG, SVG or an interactive HTML file, through the contract."""
from __future__ import annotations

import argparse
import sys

from . import api, export, models, notebook
from .request import ANALYSES

FORMATS = ("json", "csv", "png", "svg", "html")


EPILOG = """also:
  attnviz runtime [--numpy-wheel FILE]   assemble the browser runtime (Pyodide, numpy, attnviz) for the
                                         MkDocs plugin ahead of a build (python -m attnviz.mkdocs.runtime)
In Python: attnviz.show(...) in a notebook, attnviz.save_html(...) for a file; in MkDocs: plugins: [attnviz]."""


def positions(text: str) -> list[int]:
    """"0,3,5" -> [0, 3, 5] (for --hide)."""
    try:
        return [int(p) for p in text.split(",") if p.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of token positions like 0,3,5") from None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="attnviz", description="Attention weights of a text, from "
                                "any model of the registry: " + "; ".join(f"{i.name}: {i.about}" for i in models.all_info()),
                                epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("text", help="the text (the queries' side in cross-attention)")
    p.add_argument("--source", help="a second text: cross-attention, keys and values from it")
    p.add_argument("--model", choices=tuple(models.MODULES), default="synthetic")
    p.add_argument("--heads", type=int, default=8, help="synthetic model: 1-16 heads (default 8)")
    p.add_argument("--seed", type=int, default=0, help="synthetic model: the seed (default 0)")
    p.add_argument("--target", default="", help="translation models: your own translation, read by the model "
                   "(teacher forcing) instead of its own")
    p.add_argument("--generate", type=int, default=0, help="causal language models: continue greedily by N tokens (0-20)")
    p.add_argument("--chat", action="store_true", help="causal language models: wrap the text in the chat template")
    p.add_argument("--hide-first", action="store_true", help="causal language models: hide the first token (the "
                   "attention sink) and renormalise the rows")
    p.add_argument("--causal", action="store_true", help="mask later tokens (self-attention)")
    p.add_argument("--temperature", type=float, default=1.0, help="divide scores by T (default 1)")
    p.add_argument("--stack", default="", help="the attention stack of --layer/--head (default: the model's first)")
    p.add_argument("--layer", type=int, default=0, help="the head to draw or list (csv/png/svg)")
    p.add_argument("--head", type=int, default=0)
    p.add_argument("--intermediates", action="store_true", help="json: the trace (every step) of --layer/--head")
    p.add_argument("--hide-special", action="store_true", help="minilm: drop [CLS]/[SEP]")
    p.add_argument("--merge-subwords", action="store_true", help="minilm: merge word pieces")
    p.add_argument("--hide", type=positions, default=[], help="token positions to hide, e.g. 0,5 (rows renormalised)")
    p.add_argument("--analysis", choices=[a.replace("_", "-") for a in ANALYSES] + [a for a in ANALYSES if "_" in a], default="",
                   metavar="{" + ",".join(a.replace("_", "-") for a in ANALYSES) + "}",
                   help="json: add an analysis of the stack in view, under its name (see attnviz.api)")
    p.add_argument("--rollout-heads", choices=("mean", "each"), default="mean", help="rollout: the head mean or each head")
    p.add_argument("--ablate-token", type=int, default=-1, help="ablate: mask the token at this position")
    p.add_argument("--ablate-head", action="store_true", help="ablate: zero the output of --layer/--head")
    p.add_argument("--query", type=int, default=0, help="neuron: the query position")
    p.add_argument("--key", type=int, default=0, help="neuron: the key position")
    p.add_argument("--sentence", action="append", default=[], help="qk-map: another sentence (repeatable)")
    p.add_argument("--truncate", action="store_true", help="text past the model's limit: read its first tokens "
                   "(the JSON's notes say where it was cut)")
    p.add_argument("--weights", help="real models: the weights' folder or file (default: the installed package)")
    p.add_argument("--format", choices=FORMATS, default="json", help="json: the whole result (the Explorer's "
                   "JSON export); csv, png, svg: the head --stack/--layer/--head; html: one interactive file "
                   "(heatmap, model view, head view) that opens from disk with no network")
    p.add_argument("-o", "--output", help="write here instead of standard output")
    return p.parse_args(argv)


def request_from(args: argparse.Namespace) -> dict:
    request = {"text": args.text, "model": args.model, "causal": args.causal, "temperature": args.temperature,
               "stack": args.stack, "layer": args.layer, "head": args.head, "intermediates": args.intermediates,
               "heads": args.heads, "seed": args.seed, "hide_special": args.hide_special,
               "merge_subwords": args.merge_subwords, "target": args.target, "generate": args.generate,
               "chat": args.chat, "hide_first": args.hide_first, "hide": args.hide, "truncate": args.truncate}
    if args.analysis:
        request.update(analysis=args.analysis.replace("-", "_"), rollout_heads=args.rollout_heads,
                       ablate_token=args.ablate_token, ablate_head=args.ablate_head, query=args.query, key=args.key,
                       sentences=args.sentence)
    if args.source is not None:
        request.update(mode="cross", source=args.source)
    return request


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["runtime"]:
        from .mkdocs import runtime
        return runtime.main(argv[1:])
    args = parse_args(argv)
    result = api.run(request_from(args), weights_dir=args.weights)
    if not result["ok"]:
        hint = " (--truncate reads them)" if "too_long" in result["error"] else ""
        print(f"attnviz: {result['error']['message']}{hint}", file=sys.stderr)
        return 2
    render = {"json": lambda: export.to_json(result),
              "csv": lambda: export.to_csv(result),
              "png": lambda: export.to_png(result),
              "svg": lambda: export.to_svg(result),
              "html": lambda: notebook.view(result, stack=result["request"]["stack"], layer=result["request"]["layer"],
                                            head=result["request"]["head"]).html()}
    data = render[args.format]()
    if args.output:
        with open(args.output, "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode("utf-8"))
    elif isinstance(data, bytes):
        if sys.stdout.isatty():
            print("attnviz: PNG is binary; give -o FILE.", file=sys.stderr)
            return 2
        sys.stdout.buffer.write(data)
    else:
        sys.stdout.write(data if data.endswith("\n") else data + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
