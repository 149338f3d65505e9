"""The notebook view's Python side: attention arrays as models return them, shaped into a view;
the compact encoding; the HTML (ids, escaping, the policy's hashes); the bundle of the site's modules."""
from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import subprocess

import numpy as np
import pytest

notebook = pytest.importorskip("attnviz.notebook")  # not in the browser's wheel

import attnviz  # noqa: E402
from attnviz import RequestError  # noqa: E402
from attnviz.notebook import bundle, page, payload  # noqa: E402

pytestmark = pytest.mark.cpython_only


def softmax_rows(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(-1, keepdims=True))
    return (e / e.sum(-1, keepdims=True)).astype(np.float32)


def bert_like(layers=3, heads=4, n=5, batch=1, seed=0) -> tuple[np.ndarray, ...]:
    """transformers' outputs.attentions: one (batch, heads, n, n) array per layer."""
    rng = np.random.default_rng(seed)
    return tuple(softmax_rows(rng.normal(size=(batch, heads, n, n))) for _ in range(layers))


def test_transformers_tuple_becomes_layers_heads_q_k():
    attentions = bert_like(layers=3, heads=4, n=5)
    view = payload.from_arrays(attentions, ["[CLS]", "a", "b", "c", "[SEP]"])
    weights = view["attention"]["self"]["weights"]
    assert weights.shape == (3, 4, 5, 5)
    for layer in range(3):  # element by element against the tuple
        for head in range(4):
            for i in range(5):
                for j in range(5):
                    assert weights[layer, head, i, j] == attentions[layer][0, head, i, j]
    assert [t["special"] for t in view["tokens"]["text"]] == [True, False, False, False, True]


def test_array_shapes_and_batch():
    attentions = bert_like(layers=2, heads=3, n=4, batch=2)
    stacked = np.stack(attentions)  # (layers, batch, heads, q, k)
    second = payload.attention_stack(stacked, batch=1)
    assert np.array_equal(second, stacked[:, 1])
    assert payload.attention_stack(stacked[:, 0, 0]).shape == (1, 2, 4, 4)  # (heads, q, k): one layer
    assert payload.attention_stack(stacked[0, 0, 0]).shape == (1, 1, 4, 4)  # one matrix
    assert np.array_equal(payload.attention_stack([a.tolist() for a in attentions]), stacked[:, 0])  # nested lists


def test_cross_attention_from_two_token_lists():
    weights = softmax_rows(np.random.default_rng(1).normal(size=(2, 3, 4, 6)))  # (layers, heads, target, source)
    view = payload.from_arrays(weights, ["O", "gato", "sentou", "."], ["The", "cat", "sat", "down", "on", "."])
    stack = view["attention"]["cross"]
    assert (stack["query"], stack["key"]) == ("text", "source")
    assert len(view["tokens"]["source"]) == 6 and view["request"]["stack"] == "cross"


@pytest.mark.parametrize("args, field, words", [
    ((bert_like(n=5), ["a", "b"]), "text", "2 text tokens for attention over 5"),
    ((np.full((1, 1, 3, 3), -0.1), ["a", "b", "c"]), "attention", "not negative"),
    ((np.full((1, 1, 3, 3), np.nan), ["a", "b", "c"]), "attention", "finite"),
    ((softmax_rows(np.zeros((1, 1, 2, 3))), ["a", "b"]), "attention", "cross-attention"),
    ((np.stack(bert_like(batch=2)), ["a"] * 5), None, None),
    (("not attention", ["a"]), "attention", "shaped"),
    ((bert_like(n=3), "a b c"), "text", "list of strings"),
])
def test_bad_input_gets_a_clear_message(args, field, words):
    if field is None:  # a batch of two: batch=5 is out of range
        with pytest.raises(RequestError, match="batch=5"):
            payload.from_arrays(*args, batch=5)
        return
    with pytest.raises((RequestError, ValueError)) as err:
        payload.from_arrays(*args)
    assert words in str(err.value)
    if isinstance(err.value, RequestError):
        assert err.value.field == field


def test_layers_of_different_shapes_are_refused():
    with pytest.raises(RequestError, match="shapes differ"):
        payload.attention_stack((np.ones((1, 2, 3, 3)) / 3, np.ones((1, 2, 4, 4)) / 4))


def test_every_head_is_described_by_what_it_does():
    n = 6
    identity = np.eye(n, dtype=np.float32)
    previous = np.eye(n, k=-1, dtype=np.float32)
    previous[0, 0] = 1
    view = notebook.view(np.stack([identity, previous])[None], [f"w{i}" for i in range(n)])
    words = view.result["descriptions"]["self"]
    assert len(words) == 2
    assert "itself" in words[0] and "previous" in words[1]


def test_weights_travel_as_float16_base64():
    attentions = bert_like(layers=2, heads=2, n=7)
    view = notebook.view(attentions, list("abcdefg"))
    encoded = view.payload()["result"]["attention"]["self"]["weights"]
    assert encoded["shape"] == [2, 2, 7, 7]
    decoded = np.frombuffer(base64.b64decode(encoded["$f16"]), dtype="<f2").reshape(encoded["shape"])
    assert np.array_equal(decoded, np.stack(attentions)[:, 0].astype(np.float16))
    assert len(encoded["$f16"]) <= 4 * 2 * 2 * 7 * 7 / 3 * 2 + 4  # 2 bytes a weight, in base64
    scores = view.payload()["result"]["overview"]["self"]["scores"]["previous"]
    assert "$f32" in scores  # small arrays keep float32


def test_outputs_have_their_own_ids_and_never_inject_token_text():
    hostile = ["</script><script>alert(1)</script>", "<img src=x onerror=alert(2)>", "ok"]
    weights = softmax_rows(np.zeros((1, 1, 3, 3)))
    first, second = (notebook.view(weights, hostile)._repr_html_() for _ in range(2))
    ids = [re.search(r'data-attnviz-view="([^"]+)"', h).group(1) for h in (first, second)]
    assert ids[0] != ids[1]
    assert "<script><script>" not in first and "alert(1)</script>" not in first and "<img" not in first
    data = re.search(r'<script type="application/json"[^>]*>(.*?)</script>', first, re.S).group(1)
    assert [t["text"] for t in json.loads(data)["result"]["tokens"]["text"]] == hostile
    assert not re.search(r"<script[^>]*\bsrc=", first)


def test_saved_page_policy_allows_exactly_its_inline_script_and_style(tmp_path):
    path = attnviz.save_html(attnviz.attention("The cat sat.", heads=2), tmp_path / "v.html")
    text = path.read_text()
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', text).group(1)
    scripts = re.findall(r"<script>(.*?)</script>", text, re.S)
    styles = re.findall(r"<style>(.*?)</style>", text, re.S)
    assert len(scripts) == 1 and len(styles) == 1

    def sha(s):
        return base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()
    assert f"script-src 'sha256-{sha(scripts[0])}';" in policy
    assert f"style-src 'sha256-{sha(styles[0])}';" in policy
    assert "default-src 'none'" in policy and "connect-src" not in policy


def test_result_shows_itself_in_a_notebook():
    result = attnviz.attention("The cat sat.", heads=2)
    assert isinstance(result, dict) and isinstance(result, attnviz.Result)
    bundle_ = result._repr_mimebundle_()
    assert set(bundle_) == {"text/html", "text/plain"} and "data-attnviz-view" in bundle_["text/html"]
    assert "1 × 2 × 4 × 4" in bundle_["text/plain"]


def test_view_options_are_checked():
    result = attnviz.attention("The cat sat.", heads=2)
    with pytest.raises(ValueError, match="tab must be one of"):
        notebook.view(result, tab="grid")
    with pytest.raises(ValueError, match="layer and head"):
        notebook.view(result, head=2)
    with pytest.raises(ValueError, match="own tokens"):
        notebook.view(result, ["a"])


def test_bundle_is_one_valid_classic_script():
    script = bundle.script()
    for statement in re.findall(r"^(?:import|export)\b.*$", script, re.M):
        pytest.fail(f"a module statement was left in the bundle: {statement}")
    assert "import.meta" not in script
    for module in ("heatmap.js", "colormap.js", "widgets/model-view.js", "widgets/head-view.js",
                   "explorer/export.js", "notebook/static-client.js", "notebook/view.js"):
        assert f'__m["{module}"] =' in script
    assert '__m["client.js"]' not in script, "the worker's client is replaced by the static one"
    node = shutil.which("node")
    if node:  # the syntax, checked by a JavaScript engine
        done = subprocess.run([node, "--check", "-"], input=f"const run = {script};", capture_output=True, text=True)
        assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("source, words", [
    ('export let counter = 0;\n', "export let"),
    ('const m = await import("./x.js");\n', "import("),
    ('import { a } from "./b.js";\nexport const c = a;\n', "b.js is missing"),
])
def test_bundle_refuses_what_it_cannot_carry(tmp_path, monkeypatch, source, words):
    (tmp_path / "notebook").mkdir()
    (tmp_path / "notebook" / "view.js").write_text(source)
    monkeypatch.setattr(bundle, "web_dir", lambda: tmp_path)
    with pytest.raises(bundle.BundleError, match=re.escape(words)):
        bundle.script()


def test_bundle_binds_renamed_and_namespace_imports(tmp_path, monkeypatch):
    (tmp_path / "notebook").mkdir()
    (tmp_path / "lib.js").write_text("export function twice(x) { return 2 * x; }\nexport const ONE = 1;\n")
    (tmp_path / "notebook" / "view.js").write_text(
        'import { twice as double, ONE } from "../lib.js";\nimport * as lib from "../lib.js";\n'
        "export function mountView(host, payload) { host.out = double(payload.n) + lib.twice(ONE); }\n")
    monkeypatch.setattr(bundle, "web_dir", lambda: tmp_path)
    node = shutil.which("node")
    if not node:
        pytest.skip("node is not installed")
    program = f"const run = {bundle.script()};\nconst host = {{}};\nrun({{n: 20}}, host);\nconsole.log(host.out);"
    done = subprocess.run([node, "-e", program.replace("document.baseURI", '"file:///"')], capture_output=True, text=True)
    assert done.stdout.strip() == "42", done.stderr


def test_command_line_writes_the_html_file(tmp_path, capsys):
    from attnviz.__main__ import main

    assert main(["The cat sat on the mat.", "--heads", "3", "--head", "2", "--format", "html", "-o", str(tmp_path / "v.html")]) == 0
    text = (tmp_path / "v.html").read_text()
    data = json.loads(re.search(r'<script type="application/json"[^>]*>(.*?)</script>', text, re.S).group(1))
    assert data["view"]["head"] == 2 and data["result"]["attention"]["self"]["weights"]["shape"] == [1, 3, 7, 7]
    assert 'http-equiv="Content-Security-Policy"' in text


def test_console_script_documents_every_command():
    script = shutil.which("attnviz") or str(__import__("pathlib").Path(__import__("sys").executable).with_name("attnviz"))
    done = subprocess.run([script, "--help"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    for words in ("--format {json,csv,png,svg,html}", "attnviz runtime", "attnviz.show", "plugins: [attnviz]", "--model"):
        assert words in done.stdout
    runtime_help = subprocess.run([script, "runtime", "--help"], capture_output=True, text=True)
    assert runtime_help.returncode == 0 and "--numpy-wheel" in runtime_help.stdout and "--cache" in runtime_help.stdout
