"""The contract between the page (through the worker) and attnviz: one request dict in, one
result dict out. Nothing here raises for bad input or bad model files: errors come back as results.

Request (schema 3; schemas 1 and 2 read the same; JSON in the browser). Unknown fields and wrong
types are errors; fields that do not apply to the model are reset and a note says so.
    text          str, required: the (query-side) text
    model         a name in attnviz.models.MODULES                 default "synthetic"
    mode          "self" | "cross" (models with the "mode" option) default "self"
    source        str: the key/value-side text in cross mode
    heads, seed   the synthetic model's 1..16 heads and its seed   default 8, 0
    causal        bool: hide later tokens (self-attention)          default false
    temperature   0.05..10: scores are divided by it (a causal LM: its next-token logits)   default 1
    pad_to        0..512: pad the keys with [PAD] and mask them     default 0
    stack         the attention stack the head below belongs to    default: the model's first (cross in cross mode)
    layer, head   the head in view: its metrics, and its trace when asked   default 0, 0
    intermediates bool: record the trace (every step) of that head default false
    hide_special, merge_subwords   bool: a WordPiece encoder's views (drop [CLS]/[SEP]; merge word pieces)
    target        str: translation models: a translation of your own, read by teacher forcing
    generate      0..20: causal language models: continue greedily by this many tokens
    chat, hide_first  bool: causal language models: the chat template; hide the first token (the sink)
    top_k         1..100: how many top pairs of the head in view    default 10
    hide          [int]: positions of tokens to hide (in the token list the keys of the stack in view
                  come from, as shown): their columns, and their rows where the queries come from the
                  same list, become 0 and every row is renormalised to sum to 1; for every model, and
                  for the analyses' maps too                                       default []
    analysis      "" | "roles" | "rollout" | "flow" | "value_norm" | "ablate" | "neuron" | "qk_map"
                  (see attnviz.analysis; "value-norm", "qk-map" are read too)     default ""
    rollout_heads "mean" | "each": rollout from the head mean, or each head's own  default "mean"
    ablate_token  int: ablate: replace the model's token at this position by its mask/unknown token
                  (-1: none)                                                       default -1
    ablate_head   bool: ablate: zero the output of the head in view (stack, layer, head)  default false
    query, key    int: neuron: the pair of the head in view to explain (positions in trace_tokens)  default 0, 0
    sentences     [str], at most 8: qk_map: sentences besides the text (empty: the model's own set)  default []
    truncate      bool: text past the model's limit (ModelInfo.max_tokens): read its first tokens
                  and say so in a note, instead of refusing it    default false
    kind          "softmax" | "variance": the articles' small demos (see demos.py) instead

Result (schema 3; float32 numpy arrays here, arrays in JSON; shapes in (…)):
    schema, ok: true, version (of attnviz), request (with defaults filled in),
    model: the model's ModelInfo as a dict (name, label, kind, layers, heads, kv_heads, stacks, ...),
    tokens: {side: [{text, start, end, special, id?, hidden?}]}: "text" for one text, "text" and
        "source" in the synthetic cross mode; spans index the original text, id is the vocabulary id
        of a real model's token, text what the token stands for in the input, hidden: named by `hide`,
    attention: {stack: {weights: float32 (layers, heads, q, k), query: side, key: side}},
    built_roles: {stack: [{role, role_id, description}] per head}   (the synthetic model's built
        roles; schema 2 called them roles),
    metrics: the head in view (stack, layer, head): {summary, description, row_entropy_bits (q,),
        top_pairs: {with_self, without_self}: [(query, key, weight)]},
    overview: {stack: {entropy_bits (layers, heads), max_weight (layers, heads), overall: {...}, and
        for self-attention scores: {sink, previous, self, induction: (layers, heads)}}} (metrics.head_scores),
    trace: the named intermediates of the head in view, when asked (see attention.HeadSteps.named),
        with trace_tokens {query, key}: the token lists its rows and columns belong to,
    notes: [str] (what was done to the request), timings: {tokenize_ms, model_ms, metrics_ms,
    analysis_ms (with an analysis)};
    a causal language model's next_tokens: [{text, id, p}] (top 10, temperature applied) and
    generated: {text, ids}; a translator's translation: {text, forced, probability: [p per target token]}.
  With an analysis, its result under its name (L layers, H heads, q and k the stack's tokens):
    roles: {role: (L, H)} scores in [0, 1] for previous_token, next_token, self, sink, duplicate,
        induction, broad (self-attention stacks), measured on a repeated sequence of seeded random
        tokens; roles_about: {role: one-line definition}; roles_best: {role: [layer, head]};
        roles_probe: {tokens: [str], start, length}: the probe they were measured on,
    rollout: (L, q, k) the rollout up to and including each layer, R_l = (0.5·mean_h A_l + 0.5·I)·R_(l-1),
        rows renormalised; rollout_heads "each": (L, H, q, k), layer l head h: (0.5·A_lh + 0.5·I)·R_(l-1),
    flow: (L, q, k) attention flow: the maximum flow from each token after layer l to each input token
        through the layered graph of 0.5·mean_h A + 0.5·I, each row divided by its sum (Abnar & Zuidema),
    value_norm: (L, H, q, k) ‖α_ij · v_j W_O^h‖ (Kobayashi et al. 2020),
    ablate: {what: "token", side, token, replaced, replacement | what: "head", stack, layer, head;
        attention: {stack: {weights (L, H, q, k) after, query, key}}, difference: {stack: (L, H, q, k)
        after − before} (none for a stack whose tokens changed), notes: [str], next_tokens (a causal
        LM, after), generated, translation (a translator, after), tokens (after)},
    neuron: {stack, layer, head, query, key, tokens: {query: text, key: text}, q (d_head,),
        k (d_head,), product (d_head,), score = Σ product, scaled = score / sqrt(d_head), weight (the
        pattern at [query, key], before `hide`), masked: bool, temperature, rotary: bool, and for a
        rotary model q_unrotated, k_unrotated (d_head,) and about (why the bars are after rotation)};
        query and key number the head's own tokens (trace_tokens),
    qk_map: {stack, layer, head, sentences: [str] (the text first), tokens: [{sentence, index, text}]
        (n_q query points), queries (n_q, 2), keys (n_k, 2), key_tokens (n_k, only when the keys'
        tokens differ from the queries': a cross stack), pairs: [[query point, key point, weight]] (the
        strongest of each sentence), explained: [share of variance of each of the two axes]}.
  `hide` applies to the maps of rollout, flow, value_norm (zeroed, not renormalised) and ablate as to
  the attention. value_norm and ablate_token need the model's own tokens (no hide_special,
  merge_subwords or hide_first: use hide). Where an analysis does not apply (rollout, flow or roles
  of a cross stack; flow past its size limit) the error names the field ("stack", "analysis").
Error: {schema, ok: false, error: {field, message}}: field "text"/"source" for text a model cannot
take, "model" for missing or damaged weights (the message names the file), null for a bug; text
past the model's limit adds error.too_long: {tokens, limit} (send truncate: true to read the first).
"""
from __future__ import annotations

import json
import time
from typing import Callable

from . import __version__, analysis, demos, metrics, models
from .errors import ModelFileError, RequestError, error_result
from .request import SCHEMA, normalise
from .tokenizers.words import check_text
from .views import hide_positions


def prepare(request: dict, weights_dir: str | None = None) -> tuple[dict, list[str], object, dict]:
    """Validate, load the weights and tokenize: (request, notes, weights, tokens)."""
    if not isinstance(request, dict):
        raise RequestError("The request must be an object with a 'text' field.")
    req, notes = normalise(request)
    check_text(req["text"], "text")
    if req["mode"] == "cross":
        check_text(req["source"], "source")
    weights = models.load(req["model"], weights_dir)
    tokens, cut = models.tokenize(req["model"], weights, req)
    return req, notes + cut, weights, tokens


def files_needed(request: dict) -> dict:
    """For the browser: which model files beyond the bundle's base files this request needs.
    {ok: true, files: [{file, bytes, sha256}]} or an error result."""
    try:
        req, _, weights, tokens = prepare(request)
    except RequestError as exc:
        return error_result(exc.message, exc.field, exc.too_long)
    model = models.module(req["model"])
    files = model.files_needed(weights, tokens)
    for more in analysis.tokens_needed(req, model, weights, tokens):  # an analysis's probe or masked token
        files += [f for f in model.files_needed(weights, more) if f not in files]
    return {"schema": SCHEMA, "ok": True, "files": files}


_last: tuple[tuple, dict] | None = None  # the last forward pass: looking at another head reuses it


def forward(req: dict, weights: object, tokens: dict, trace: tuple | None, on_step) -> dict:
    """The model's forward pass, or the last one's output when only the head in view changed: a
    reader clicking through the heads of a 128-token LLM text must not wait for 30 layers each time.
    Its arrays are made read-only, as later requests share them."""
    global _last
    fields = {k: v for k, v in req.items() if trace is not None or k not in models.VIEW_FIELDS}
    key = (req["model"], id(weights), json.dumps(fields, sort_keys=True))
    if _last is not None and _last[0] == key:
        return _last[1]
    raw = models.module(req["model"]).forward(weights, req, tokens, trace, on_step=on_step)
    for stack in raw["attention"].values():
        stack["weights"].flags.writeable = False
    _last = (key, raw)
    return raw


def forget(name: str | None = None) -> None:
    """Drop the kept forward pass: a memory snapshot of the runtime should not carry a reader's
    last result, and the request that checks a restored snapshot must compute, not reuse. With a
    name, only if it was that model's (the worker unloading it: its arrays hold the activations)."""
    global _last
    if _last is not None and (name is None or _last[0][0] == name):
        _last = None


def run(request: dict, *, weights_dir: str | None = None, on_step: Callable[[dict], None] | None = None) -> dict:
    """Answer one request. weights_dir: where the model's weights are (None: the default place);
    on_step(result so far): called between the steps of a model that writes its output a step at
    a time (each token an LLM generates), with a result shaped like the final one."""
    if isinstance(request, dict) and "kind" in request:
        return demos.run(request)
    try:
        started = time.perf_counter()
        req, notes, weights, tokens = prepare(request, weights_dir)
        tokenized = time.perf_counter()
        trace = (req["stack"], req["layer"], req["head"]) if req["intermediates"] else None
        partial = (lambda raw_so_far: on_step(assemble(req, notes, tokens, raw_so_far))) if on_step else None
        raw = forward(req, weights, tokens, trace, partial)
        computed = time.perf_counter()
        result = assemble(req, notes, tokens, raw)
        assembled = time.perf_counter()
        if req["analysis"]:
            ctx = analysis.Context(req, models.module(req["model"]), weights, tokens, raw, result["tokens"])
            result.update(analysis.run(ctx))
    except RequestError as exc:
        return error_result(exc.message, exc.field, exc.too_long)
    except ModelFileError as exc:  # a file the forward pass reads on demand (a word-embedding chunk)
        err = models.unreadable(req["model"], exc)
        return error_result(err.message, err.field)
    result["timings"] = {"tokenize_ms": (tokenized - started) * 1e3, "model_ms": (computed - tokenized) * 1e3,
                         "metrics_ms": (assembled - computed) * 1e3}
    if req["analysis"]:
        result["timings"]["analysis_ms"] = (time.perf_counter() - assembled) * 1e3
    return result


def overview(stack: dict, tokens: dict) -> dict:
    """Every head of a stack at once; a self-attention stack also gets its heads' scores."""
    out = metrics.overview(stack["weights"])
    if stack["query"] == stack["key"]:
        out["scores"] = metrics.head_scores(stack["weights"], tokens[stack["query"]])
    return out


def hidden(req: dict, attention: dict, tokens: dict) -> tuple[dict, dict]:
    """`hide` applied: every stack's weights with the hidden tokens' rows and columns 0 and rows
    renormalised (views.hide_positions), and the token list they belong to with those tokens
    marked hidden. RequestError for a position the list does not have."""
    if not req["hide"]:
        return attention, tokens
    side = analysis.hide_side(req, attention)
    n = len(tokens[side])
    if req["hide"][-1] >= n:
        raise RequestError(f"'hide' names token {req['hide'][-1]}, but there are {n} tokens (0-{n - 1}).", "hide")
    out = {}
    for name, stack in attention.items():
        rows, cols = analysis.hidden_positions(req, attention, stack)
        out[name] = {**stack, "weights": hide_positions(stack["weights"], rows, cols)}
    marked = [{**t, "hidden": True} if i in req["hide"] else t for i, t in enumerate(tokens[side])]
    return out, {**tokens, side: marked}


def assemble(req: dict, notes: list[str], tokens: dict, raw: dict) -> dict:
    """Shape a model's raw output into a result, with the metrics of the head in view and the
    vectorised overview of every stack."""
    attention, shown_tokens = hidden(req, raw["attention"], {**tokens, **raw.get("tokens", {})})  # a view may merge or hide tokens
    stack = attention[req["stack"]]
    weights = stack["weights"]  # (layers, heads, q, k)
    head = weights[req["layer"], req["head"]]
    result = {
        "schema": SCHEMA, "ok": True, "version": __version__, "request": req,
        "model": models.info(req["model"]).as_dict(), "tokens": shown_tokens, "attention": attention,
        "built_roles": raw.get("built_roles", {}),
        "metrics": {"stack": req["stack"], "layer": req["layer"], "head": req["head"],
                    **metrics.head_metrics(head, stack["query"] == stack["key"], req["top_k"])},
        "overview": {name: overview(s, shown_tokens) for name, s in attention.items()},
        "notes": notes + raw.get("notes", []),
    }
    if req["hide"]:
        result["notes"].append(f"{len(req['hide'])} token{'s' * (len(req['hide']) > 1)} hidden; each row is "
                               "renormalised to sum to 1 over the tokens left.")
    if raw.get("trace") is not None:
        result["trace"] = raw["trace"]
        result["trace_tokens"] = raw.get("trace_tokens") or {"query": shown_tokens[stack["query"]],
                                                             "key": shown_tokens[stack["key"]]}
    for extra in ("next_tokens", "translation", "generated"):  # model-specific outputs
        if extra in raw:
            result[extra] = raw[extra]
    return result
