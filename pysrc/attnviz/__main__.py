"""Command line: python -m attnviz TEXT [options] -> JSON, CSV, PNG or SVG, through the contract."""
from __future__ import annotations

import argparse
import sys

from . import api, export

FORMATS = ("json", "csv", "png", "svg")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m attnviz", description="Attention weights of a text, "
                                "from the synthetic model or the real MiniLM-L6.")
    p.add_argument("text", help="the text (the queries' side in cross-attention)")
    p.add_argument("--source", help="a second text: cross-attention, keys and values from it")
    p.add_argument("--model", choices=("synthetic", "minilm"), default="synthetic")
    p.add_argument("--heads", type=int, default=8, help="synthetic model: 1-16 heads (default 8)")
    p.add_argument("--seed", type=int, default=0, help="synthetic model: the seed (default 0)")
    p.add_argument("--causal", action="store_true", help="mask later tokens (self-attention)")
    p.add_argument("--temperature", type=float, default=1.0, help="divide scores by T (default 1)")
    p.add_argument("--layer", type=int, default=0, help="the head to draw or list (csv/png/svg)")
    p.add_argument("--head", type=int, default=0)
    p.add_argument("--intermediates", action="store_true", help="json: every step of --layer/--head")
    p.add_argument("--hide-special", action="store_true", help="minilm: drop [CLS]/[SEP]")
    p.add_argument("--merge-subwords", action="store_true", help="minilm: merge word pieces")
    p.add_argument("--weights", help="minilm: a directory with the weights (default: the installed package)")
    p.add_argument("--format", choices=FORMATS, default="json")
    p.add_argument("-o", "--output", help="write here instead of standard output")
    return p.parse_args(argv)


def request_from(args: argparse.Namespace) -> dict:
    request = {"text": args.text, "model": args.model, "causal": args.causal,
               "temperature": args.temperature, "layer": args.layer, "head": args.head,
               "intermediates": args.intermediates}
    if args.model == "synthetic":
        request.update(heads=args.heads, seed=args.seed)
    else:
        request.update(hide_special=args.hide_special, merge_subwords=args.merge_subwords)
    if args.source is not None:
        request.update(mode="cross", source=args.source)
    return request


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    result = api.run(request_from(args), minilm_dir=args.weights)
    if not result["ok"]:
        print(f"attnviz: {result['error']['message']}", file=sys.stderr)
        return 2
    render = {"json": lambda: export.to_json(result),
              "csv": lambda: export.to_csv(result, args.layer, args.head),
              "png": lambda: export.to_png(result, args.layer, args.head),
              "svg": lambda: export.to_svg(result, args.layer, args.head)}
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
