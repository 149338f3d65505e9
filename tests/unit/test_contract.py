"""attnviz.api: the contract the worker calls. Good requests get complete results, bad ones a
message naming the field; nothing raises."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import attnviz
from attnviz import api
from attnviz.request import FIELDS

SENTENCE = "The cat sat on the mat because it was tired."


def ok(request: dict) -> dict:
    result = api.run(request)
    assert result["ok"], result
    return result


def test_default_result_is_complete():
    r = ok({"text": SENTENCE})
    assert r["schema"] == 1 and r["model"] == {"name": "synthetic", "layers": 1, "heads": 8, "d_model": 64, "d_head": 32}
    assert [t["text"] for t in r["query_tokens"]][:3] == ["The", "cat", "sat"]
    assert r["weights"].dtype == np.float32 and r["weights"].shape == (1, 8, 11, 11)
    np.testing.assert_allclose(r["weights"].sum(-1), 1, atol=1e-5)
    assert len(r["heads"]) == 8 and all(h["role"] and h["description"] for h in r["heads"])
    assert r["metrics"]["row_entropy_bits"].shape == (1, 8, 11)
    assert r["request"]["temperature"] == 1.0 and r["request"]["mode"] == "self"


def test_deterministic_for_text_and_seed_and_the_seed_matters():
    a, b = ok({"text": SENTENCE, "seed": 3}), ok({"text": SENTENCE, "seed": 3})
    np.testing.assert_array_equal(a["weights"], b["weights"])
    assert not np.allclose(a["weights"], ok({"text": SENTENCE, "seed": 4})["weights"])


def head_of(result: dict, role_id: str) -> np.ndarray:
    index = next(h["head"] for h in result["heads"] if h["role_id"] == role_id)
    return result["weights"][0, index].astype(np.float64)


@pytest.mark.parametrize("text", [SENTENCE, "Attention is all you need, said the paper in 2017 .",
                                  " ".join(f"word{i % 13}" for i in range(120))])
def test_head_roles_do_what_they_say(text):
    r = ok({"text": text, "heads": 16})
    n = len(r["query_tokens"])
    rows = np.arange(n)
    argmax = {role: head_of(r, role).argmax(axis=1) for role in ("previous", "self", "next", "previous2", "first")}
    assert (argmax["self"] == rows).mean() > 0.95
    assert (argmax["previous"][1:] == rows[1:] - 1).mean() > 0.9
    assert (argmax["next"][:-1] == rows[:-1] + 1).mean() > 0.9
    assert (argmax["previous2"][2:] == rows[2:] - 2).mean() > 0.9
    assert (argmax["first"] == 0).mean() > 0.6
    broad = next(h for h in r["heads"] if h["role_id"] == "broad")["summary"]
    assert broad["entropy_fraction"] > 0.9


def test_similar_words_head_links_repeated_words():
    r = ok({"text": "Attention is all you need and the cats need attention too"})
    w = head_of(r, "meaning")
    words = [t["text"].lower() for t in r["query_tokens"]]
    first, second = words.index("attention"), len(words) - 1 - words[::-1].index("attention")
    assert w[first, second] > 2 / len(words) and w[second, first] > 2 / len(words)


def test_punctuation_head_finds_punctuation():
    r = ok({"text": "one two , three four . five"})
    w = head_of(r, "punct")
    assert set(w.argmax(axis=1)) <= {2, 5}


def test_causal_mask_zeroes_the_future_and_padding_zeroes_pad_keys():
    r = ok({"text": SENTENCE, "causal": True, "pad_to": 14})
    w = r["weights"][0]  # (heads, q, k)
    assert w.shape[-1] == 14 and r["key_tokens"][-1] == {"text": "[PAD]", "start": 44, "end": 44, "special": True}
    assert np.all(np.triu(w, k=1) == 0) and np.all(w[:, :, 11:] == 0)
    np.testing.assert_allclose(w.sum(-1), 1, atol=1e-5)
    assert any("[PAD]" in note for note in r["notes"])


def test_temperature_sharpens_and_flattens():
    ent = {t: ok({"text": SENTENCE, "temperature": t})["metrics"]["overall"]["mean_entropy_bits"] for t in (0.1, 1, 10)}
    assert ent[0.1] < ent[1] < ent[10]


def test_cross_attention_is_queries_by_source_keys():
    r = ok({"text": "le chat dort", "mode": "cross", "source": "the cat is sleeping now", "causal": True})
    assert r["weights"].shape == (1, 8, 3, 5)
    assert [t["text"] for t in r["key_tokens"]] == ["the", "cat", "is", "sleeping", "now"]
    assert "diagonal_share" not in r["heads"][0]["summary"]
    assert any("Causal" in n for n in r["notes"])  # causal ignored, and said so


def test_intermediates_agree_with_the_weights():
    r = ok({"text": SENTENCE, "intermediates": True, "head": 3, "temperature": 0.5, "causal": True})
    s = r["intermediates"]
    assert s["q"].shape == (11, 32) and s["w_q"].shape == (64, 32) and s["concat"].shape == (11, 256)
    np.testing.assert_allclose(s["q"], s["x_query"] @ s["w_q"])
    np.testing.assert_allclose(s["scores"], s["q"] @ s["k"].T)
    np.testing.assert_allclose(s["tempered"], s["scores"] / np.sqrt(32) / 0.5)
    np.testing.assert_allclose(s["weights"], r["weights"][0, 3], atol=1e-6)
    np.testing.assert_allclose(s["attention_output"], s["concat"] @ s["w_o"])


@pytest.mark.parametrize("request_, field, words", [
    ({}, "text", "required"),
    ({"text": ""}, "text", "Type some text"),
    ({"text": 5}, "text", "not a whole number"),
    ({"text": "a", "heads": 0}, "heads", "from 1 to 16"),
    ({"text": "a", "heads": 17}, "heads", "from 1 to 16"),
    ({"text": "a", "heads": 2.5}, "heads", "not a number"),
    ({"text": "a", "heads": True}, "heads", "not true/false"),
    ({"text": "a", "causal": "yes"}, "causal", "true or false"),
    ({"text": "a", "temperature": 0}, "temperature", "0.05 to 10"),
    ({"text": "a", "temperature": None}, "temperature", "not null"),
    ({"text": "a", "mode": "both"}, "mode", '"self" or "cross"'),
    ({"text": "a", "mode": "cross"}, "source", "needs a source"),
    ({"text": "a", "mode": "cross", "source": "  "}, "source", "needs a source"),
    ({"text": "a", "model": "gpt"}, "model", "Unknown model"),
    ({"text": "a", "schema": 2}, "schema", "schema 1"),
    ({"text": "a", "colour": "red"}, "colour", "Unknown field 'colour'"),
    ({"text": "a b", "heads": 2, "head": 2}, "head", "below the number of heads"),
    ({"text": "a", "layer": 1}, "layer", "one layer"),
    ({"text": "a b c", "pad_to": 2}, "pad_to", "shorter than the text"),
    ({"text": "a\x07"}, "text", "control character"),
    ({"text": "a " * 600}, "text", "limit is 512"),
])
def test_each_bad_request_gets_its_message(request_, field, words):
    r = api.run(request_)
    assert r["ok"] is False and r["error"]["field"] == field and words in r["error"]["message"], r


def test_not_a_dict():
    assert api.run([1, 2])["ok"] is False  # type: ignore[arg-type]


json_values = st.recursive(st.none() | st.booleans() | st.integers(-2**40, 2**40) | st.floats(allow_nan=True)
                           | st.text(max_size=30), lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3),
                           max_leaves=6)
field_values = {name: st.one_of(json_values, st.just(spec[1])) for name, spec in FIELDS.items()}
field_values["text"] = st.one_of(st.text(max_size=60), json_values)
field_values["mode"] = st.sampled_from(["self", "cross", "x"])
requests = st.fixed_dictionaries({}, optional={**field_values, "junk": json_values})


@settings(max_examples=300, deadline=None)
@given(requests)
def test_fuzzed_requests_get_a_result_or_a_clear_error(request_):
    r = api.run(request_)
    assert r["schema"] == 1
    if r["ok"]:
        w = r["weights"]
        assert np.all(np.isfinite(w)) and np.all(w >= 0)
    else:
        message = r["error"]["message"]
        assert isinstance(message, str) and 10 < len(message) < 300 and "Traceback" not in message


def test_public_api_raises_readable_errors():
    r = attnviz.attention("Hello there world", source="Bonjour le monde", heads=2)
    assert r["weights"].shape == (1, 2, 3, 3)
    with pytest.raises(attnviz.RequestError, match="Type some text"):
        attnviz.attention("   ")
