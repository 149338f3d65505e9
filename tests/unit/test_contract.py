"""attnviz.api: the contract the worker calls. Good requests get complete results, bad ones a
message naming the field; nothing raises."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import attnviz
from attnviz import api, models
from attnviz.errors import error_result
from attnviz.request import FIELDS, normalise

SENTENCE = "The cat sat on the mat because it was tired."


def ok(request: dict) -> dict:
    result = api.run(request)
    assert result["ok"], result
    return result


def weights(result: dict, stack: str = "self") -> np.ndarray:
    return result["attention"][stack]["weights"]


def test_default_result_is_complete():
    r = ok({"text": SENTENCE})
    assert r["schema"] == 3 and r["ok"] is True and r["version"] == attnviz.__version__
    assert r["model"] == models.info("synthetic").as_dict()
    assert {k: r["model"][k] for k in ("name", "layers", "heads", "d_model", "d_head")} == {
        "name": "synthetic", "layers": 1, "heads": 8, "d_model": 64, "d_head": 32}
    assert set(r["tokens"]) == {"text"} and [t["text"] for t in r["tokens"]["text"]][:3] == ["The", "cat", "sat"]
    assert set(r["attention"]) == {"self"} and r["attention"]["self"]["query"] == r["attention"]["self"]["key"] == "text"
    assert weights(r).dtype == np.float32 and weights(r).shape == (1, 8, 11, 11)
    np.testing.assert_allclose(weights(r).sum(-1), 1, atol=1e-5)
    roles = r["built_roles"]["self"]
    assert len(roles) == 8 and all(h["role"] and h["role_id"] and h["description"] for h in roles)
    assert (r["metrics"]["stack"], r["metrics"]["layer"], r["metrics"]["head"]) == ("self", 0, 0)
    assert r["metrics"]["row_entropy_bits"].shape == (11,) and r["metrics"]["summary"] and r["metrics"]["description"]
    assert set(r["metrics"]["top_pairs"]) == {"with_self", "without_self"}
    assert set(r["overview"]) == {"self"}
    assert r["overview"]["self"]["entropy_bits"].shape == r["overview"]["self"]["max_weight"].shape == (1, 8)
    assert r["request"]["temperature"] == 1.0 and r["request"]["mode"] == "self" and r["request"]["stack"] == "self"
    assert "trace" not in r and "trace_tokens" not in r
    assert set(r["timings"]) == {"tokenize_ms", "model_ms", "metrics_ms"} and all(v >= 0 for v in r["timings"].values())


def test_deterministic_for_text_and_seed_and_the_seed_matters():
    a, b = ok({"text": SENTENCE, "seed": 3}), ok({"text": SENTENCE, "seed": 3})
    np.testing.assert_array_equal(weights(a), weights(b))
    assert not np.allclose(weights(a), weights(ok({"text": SENTENCE, "seed": 4})))


def index_of(result: dict, role_id: str) -> int:
    return next(i for i, h in enumerate(result["built_roles"]["self"]) if h["role_id"] == role_id)


def head_of(result: dict, role_id: str) -> np.ndarray:
    return weights(result)[0, index_of(result, role_id)].astype(np.float64)


@pytest.mark.parametrize("text", [SENTENCE, "Attention is all you need, said the paper in 2017 .",
                                  " ".join(f"word{i % 13}" for i in range(120))])
def test_head_roles_do_what_they_say(text):
    r = ok({"text": text, "heads": 16})
    n = len(r["tokens"]["text"])
    rows = np.arange(n)
    argmax = {role: head_of(r, role).argmax(axis=1) for role in ("previous", "self", "next", "previous2", "first")}
    assert (argmax["self"] == rows).mean() > 0.95
    assert (argmax["previous"][1:] == rows[1:] - 1).mean() > 0.9
    assert (argmax["next"][:-1] == rows[:-1] + 1).mean() > 0.9
    assert (argmax["previous2"][2:] == rows[2:] - 2).mean() > 0.9
    assert (argmax["first"] == 0).mean() > 0.6
    # the metrics are the head in view's: ask for the broad head
    broad = ok({"text": text, "heads": 16, "head": index_of(r, "broad")})["metrics"]["summary"]
    assert broad["entropy_fraction"] > 0.9


def test_similar_words_head_links_repeated_words():
    r = ok({"text": "Attention is all you need and the cats need attention too"})
    w = head_of(r, "meaning")
    words = [t["text"].lower() for t in r["tokens"]["text"]]
    first, second = words.index("attention"), len(words) - 1 - words[::-1].index("attention")
    assert w[first, second] > 2 / len(words) and w[second, first] > 2 / len(words)


def test_punctuation_head_finds_punctuation():
    r = ok({"text": "one two , three four . five"})
    w = head_of(r, "punct")
    assert set(w.argmax(axis=1)) <= {2, 5}


def test_causal_mask_zeroes_the_future_and_padding_zeroes_pad_keys():
    r = ok({"text": SENTENCE, "causal": True, "pad_to": 14})
    w = weights(r)[0]  # (heads, q, k)
    assert w.shape[-1] == 14 and r["tokens"]["text"][-1] == {"text": "[PAD]", "start": 44, "end": 44, "special": True}
    assert np.all(np.triu(w, k=1) == 0) and np.all(w[:, :, 11:] == 0)
    np.testing.assert_allclose(w.sum(-1), 1, atol=1e-5)
    assert any("[PAD]" in note for note in r["notes"])


def test_temperature_sharpens_and_flattens():
    ent = {t: ok({"text": SENTENCE, "temperature": t})["overview"]["self"]["overall"]["mean_entropy_bits"]
           for t in (0.1, 1, 10)}
    assert ent[0.1] < ent[1] < ent[10]


def test_cross_attention_is_queries_by_source_keys():
    r = ok({"text": "le chat dort", "mode": "cross", "source": "the cat is sleeping now", "causal": True})
    assert set(r["attention"]) == {"cross"} and r["request"]["stack"] == "cross"
    assert (r["attention"]["cross"]["query"], r["attention"]["cross"]["key"]) == ("text", "source")
    assert weights(r, "cross").shape == (1, 8, 3, 5)
    assert [t["text"] for t in r["tokens"]["text"]] == ["le", "chat", "dort"]
    assert [t["text"] for t in r["tokens"]["source"]] == ["the", "cat", "is", "sleeping", "now"]
    assert r["metrics"]["stack"] == "cross" and "diagonal_share" not in r["metrics"]["summary"]
    assert len(r["built_roles"]["cross"]) == 8
    assert any("Causal" in n for n in r["notes"])  # causal ignored, and said so


def test_intermediates_agree_with_the_weights():
    r = ok({"text": SENTENCE, "intermediates": True, "head": 3, "temperature": 0.5, "causal": True})
    s = r["trace"]
    assert s["q"].shape == (11, 32) and s["w_q"].shape == (64, 32) and s["concat"].shape == (11, 256)
    assert s["d_k"] == 32 and s["sqrt_d_k"] == np.sqrt(32) and s["temperature"] == 0.5
    np.testing.assert_allclose(s["q"], s["x_query"] @ s["w_q"])
    np.testing.assert_allclose(s["scores"], s["q"] @ s["k"].T)
    np.testing.assert_allclose(s["scaled"], s["scores"] / np.sqrt(32))
    np.testing.assert_allclose(s["tempered"], s["scores"] / np.sqrt(32) / 0.5)
    assert np.all(s["masked"][s["mask"] == 0] == -np.inf) and np.all(np.triu(s["pattern"], k=1) == 0)
    np.testing.assert_allclose(s["pattern"], weights(r)[0, 3], atol=1e-6)
    np.testing.assert_allclose(s["z"], s["pattern"] @ s["v"])
    np.testing.assert_allclose(s["output"], s["concat"] @ s["w_o"])
    assert r["trace_tokens"] == {"query": r["tokens"]["text"], "key": r["tokens"]["text"]}


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
    ({"text": "a", "schema": 4}, "schema", "speaks schema 3, not 4"),
    ({"text": "a", "colour": "red"}, "colour", "Unknown field 'colour'"),
    ({"text": "a b", "heads": 2, "head": 2}, "head", "has 2 heads per layer: 'head' must be below 2"),
    ({"text": "a", "layer": 1}, "layer", "has 1 layer: 'layer' must be 0"),
    ({"text": "a", "stack": "cross"}, "stack", "no 'cross' attention here"),
    ({"text": "a", "mode": "cross", "source": "b", "stack": "self"}, "stack", "no 'self' attention here"),
    ({"text": "a", "stack": 1}, "stack", "not a whole number"),
    ({"text": "a", "model": "minilm", "mode": "cross", "source": "b"}, "mode", "no cross-attention"),
    ({"text": "a b c", "pad_to": 2}, "pad_to", "shorter than the text"),
    ({"text": "a\x07"}, "text", "control character"),
])
def test_each_bad_request_gets_its_message(request_, field, words):
    r = api.run(request_)
    assert r == {"schema": 3, "ok": False, "error": {"field": field, "message": r["error"]["message"]}}
    assert words in r["error"]["message"], r


def test_not_a_dict():
    r = api.run([1, 2])  # type: ignore[arg-type]
    assert r == error_result("The request must be an object with a 'text' field.")


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
    assert r["schema"] == 3
    if r["ok"]:
        for stack in r["attention"].values():
            w = stack["weights"]
            assert np.all(np.isfinite(w)) and np.all(w >= 0)
    else:
        message = r["error"]["message"]
        assert isinstance(message, str) and 10 < len(message) < 400 and "Traceback" not in message  # the unknown-field one lists every field


def test_public_api_raises_readable_errors():
    r = attnviz.attention("Hello there world", source="Bonjour le monde", heads=2)
    assert weights(r, "cross").shape == (1, 2, 3, 3)
    with pytest.raises(attnviz.RequestError, match="Type some text"):
        attnviz.attention("   ")


def test_options_that_do_not_apply_are_reset_with_a_note():
    req, notes = normalise({"text": "The cat sat.", "model": "minilm", "causal": True, "heads": 3})
    assert req["causal"] is False and req["heads"] == 8 and req["stack"] == "self"
    assert "The causal mask does not apply to MiniLM-L6; it is left out." in notes
    assert "The number of heads does not apply to MiniLM-L6; it is left out." in notes and len(notes) == 2


def test_schema_1_requests_read_the_same():
    a, b = ok({"text": SENTENCE, "schema": 1}), ok({"text": SENTENCE})
    assert a["schema"] == b["schema"] == 3 and a["request"] == b["request"]
    np.testing.assert_array_equal(weights(a), weights(b))


def test_looking_at_another_head_reuses_the_forward_pass():
    """Only the head in view changes: the last forward pass serves it (its arrays, read-only, are
    shared); any change to what is computed, or a trace, runs the model again."""
    a = ok({"text": SENTENCE, "heads": 4, "head": 0})
    b = ok({"text": SENTENCE, "heads": 4, "head": 3, "top_k": 5})
    assert b["attention"]["self"]["weights"] is a["attention"]["self"]["weights"]
    assert b["metrics"]["head"] == 3 and len(b["metrics"]["top_pairs"]["with_self"]) == 5
    assert not a["attention"]["self"]["weights"].flags.writeable
    c = ok({"text": SENTENCE, "heads": 4, "head": 3, "causal": True})
    assert c["attention"]["self"]["weights"] is not a["attention"]["self"]["weights"]
    traced = ok({"text": SENTENCE, "heads": 4, "head": 2, "causal": True, "intermediates": True})
    np.testing.assert_allclose(traced["trace"]["pattern"], c["attention"]["self"]["weights"][0, 2], atol=1e-6)
