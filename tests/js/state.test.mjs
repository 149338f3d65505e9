// Unit tests of the Explorer's state (site_js/explorer/state.js): `node --test tests/js/`
// (run by tests/sitecheck/test_state_js.py, so `make test` covers them).
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { DEFAULTS, MAX_HIDDEN, MAX_URL_TEXT, fitToModel, fromHash, requestFor, toHash } from "../../site_js/explorer/state.js";
import { findModel } from "../../site_js/models.js";

/** A small model index: entries shaped like tools/export_models.py's. */
const SYNTHETIC = { name: "synthetic", label: "Synthetic", layers: 1, heads: 8, stacks: ["self", "cross"],
  options: ["mode", "heads", "seed", "causal", "temperature", "pad_to"], stack_layers: {} };
const ENCODER = { name: "tiny-bert", label: "Tiny", layers: 4, heads: 6, stacks: ["self"],
  options: ["hide_special", "merge_subwords"], stack_layers: {} };
const TRANSLATOR = { name: "tiny-mt", label: "Tiny MT", layers: 2, heads: 4, stacks: ["cross", "encoder"],
  options: ["target"], stack_layers: { encoder: 3 } };

const read = (hash) => fromHash(hash);
const accepts = (key, raw) => {
  const { state, rejected } = read(`#${new URLSearchParams({ [key]: raw })}`);
  return rejected.length === 0 ? state[key] : undefined;
};

describe("toHash and fromHash", () => {
  test("the defaults make an empty hash and come back from it", () => {
    assert.equal(toHash({ ...DEFAULTS }), "");
    assert.deepEqual(read(""), { state: { ...DEFAULTS }, rejected: [] });
    assert.deepEqual(read("#"), { state: { ...DEFAULTS }, rejected: [] });
  });

  test("a state with every field changed round-trips", () => {
    const state = { ...DEFAULTS, text: "Ein Satz & noch = einer + #?", source: "Une phrase.", target: "Uma frase.",
      mode: "cross", model: "tiny-mt", heads: 3, head: 2, stack: "encoder", layer: 5, causal: true,
      temperature: 0.3, rowscale: true, view: "grid", step: true, stage: 4, token: 7, self: true, hide: true,
      merge: true, generate: 12, chat: true, sink: true, scale: "model", cut: true, analysis: "ablate", rollout_heads: "each",
      hidden: [0, 4, 11], ablate_token: 3, ablate_head: true, query: 5, key: 2, sentences: "One more.\nAnd a third & last = #?" };
    const hash = toHash(state);
    assert.ok(hash.startsWith("#"));
    assert.deepEqual(read(hash), { state, rejected: [] });
  });

  test("only fields that differ from the defaults are written", () => {
    assert.equal(toHash({ ...DEFAULTS, heads: 4, causal: true }), "#heads=4&causal=1");
  });

  test("the defaults cannot be changed", () => {
    assert.ok(Object.isFrozen(DEFAULTS));
  });
});

describe("every field's parser", () => {
  const cases = {
    text: { good: [["a", "a"], [" x ", " x "], ["é".repeat(MAX_URL_TEXT), "é".repeat(MAX_URL_TEXT)]],
      bad: ["", " ", "\n\t", "a".repeat(MAX_URL_TEXT + 1)] },
    source: { good: [["Le chat.", "Le chat."]], bad: ["", "   ", "b".repeat(MAX_URL_TEXT + 1)] },
    target: { good: [["", ""], ["Um gato.", "Um gato."]], bad: ["c".repeat(MAX_URL_TEXT + 1)] },
    mode: { good: [["self", "self"], ["cross", "cross"]], bad: ["", "Self", "both", "__proto__"] },
    model: { good: [["minilm", "minilm"], ["marian-en-pt", "marian-en-pt"], ["x", "x"]],
      bad: ["", "MiniLM", "9lm", "-lm", "gpt_2", "mini lm", "a".repeat(41), "__proto__"] },
    stack: { good: [["encoder", "encoder"], ["cross", "cross"]], bad: ["", "Encoder", "x/y"] },
    heads: { good: [["1", 1], ["16", 16]], bad: ["0", "17", "-1", "1.5", "NaN", "", "٣", "4 ", "0x4", "1e1"] },
    head: { good: [["0", 0], ["63", 63]], bad: ["-1", "64", "NaN", "Infinity", "1.0", ""] },
    layer: { good: [["0", 0], ["63", 63]], bad: ["-1", "64", "NaN", "two"] },
    temperature: { good: [["0.05", 0.05], ["10", 10], ["1", 1], [".5", 0.5], ["5e-1", 0.5]],
      bad: ["0", "0.04", "10.1", "1e3", "NaN", "Infinity", "-1", "", "1,5"] },
    stage: { good: [["0", 0], ["9", 9]], bad: ["10", "-1", "NaN"] },
    token: { good: [["-1", -1], ["511", 511]], bad: ["-2", "512", "NaN"] },
    view: { good: [["single", "single"], ["grid", "grid"]], bad: ["3d", "", "GRID"] },
    generate: { good: [["0", 0], ["20", 20]], bad: ["-1", "21", "NaN", "2.5", ""] },
    analysis: { good: ["roles", "rollout", "flow", "value_norm", "ablate", "neuron", "qk_map"].map((a) => [a, a]),
      bad: ["", "Roles", "value-norm", "raw", "__proto__"] },
    rollout_heads: { good: [["mean", "mean"], ["each", "each"]], bad: ["", "all", "MEAN"] },
    hidden: { good: [["", []], ["3", [3]], ["7,0,7,2", [0, 2, 7]], ["511", [511]],
      [Array.from({ length: MAX_HIDDEN }, (_, i) => i).join(","), Array.from({ length: MAX_HIDDEN }, (_, i) => i)]],
      bad: ["-1", "512", "1,,2", "1;2", "a", " 1", "1.5", ",", Array.from({ length: MAX_HIDDEN + 1 }, (_, i) => i).join(",")] },
    ablate_token: { good: [["-1", -1], ["0", 0], ["511", 511]], bad: ["-2", "512", "NaN", ""] },
    query: { good: [["0", 0], ["511", 511]], bad: ["-1", "512", "x"] },
    key: { good: [["0", 0], ["511", 511]], bad: ["-1", "512", "1.5"] },
    sentences: { good: [["", ""], ["A.\nB.", "A.\nB."]], bad: ["s".repeat(MAX_URL_TEXT + 1)] },
    scale: { good: [["head", "head"], ["one", "one"], ["model", "model"]], bad: ["", "row", "ONE", "__proto__"] },
  };
  for (const key of ["causal", "rowscale", "step", "self", "hide", "merge", "chat", "sink", "cut", "ablate_head"]) {
    cases[key] = { good: [["1", true], ["true", true], ["0", false], ["false", false]],
      bad: ["yes", "", "TRUE", "2", "NaN"] };
  }

  test("every field of the state has cases here", () => {
    assert.deepEqual(Object.keys(cases).sort(), Object.keys(DEFAULTS).sort());
  });

  for (const [key, { good, bad }] of Object.entries(cases)) {
    test(`${key} accepts good values and rejects bad ones`, () => {
      for (const [raw, value] of good) assert.deepEqual(accepts(key, raw), value, `${key}=${raw}`);
      for (const raw of bad) {
        const { state, rejected } = read(`#${new URLSearchParams({ [key]: raw })}`);
        assert.deepEqual(rejected, [key], `${key}=${raw.slice(0, 40)} should be rejected`);
        assert.deepEqual(state[key], DEFAULTS[key], `${key}=${raw.slice(0, 40)} should leave the default`);
      }
    });
  }

  test("unknown fields and prototype keys are rejected without touching any prototype", () => {
    const { state, rejected } = read("#__proto__=1&constructor=x&toString=1&hasOwnProperty=1&seed=3&heads=4");
    assert.deepEqual(rejected, ["__proto__", "constructor", "toString", "hasOwnProperty", "seed"]);
    assert.equal(state.heads, 4);
    assert.equal(Object.getPrototypeOf(state), Object.prototype);
    assert.ok(!Object.hasOwn(state, "__proto__") && !Object.hasOwn(state, "seed"));
    assert.equal({}.polluted, undefined);
    read("#__proto__[polluted]=1");
    assert.equal({}.polluted, undefined);
  });

  test("a field given twice is rejected once", () => {
    assert.deepEqual(read("#heads=0&heads=99&heads=3"), { state: { ...DEFAULTS, heads: 3 }, rejected: ["heads"] });
  });

  test("the hash is percent- and plus-decoded like a query string", () => {
    assert.equal(read("#text=a+b%20c%26d").state.text, "a b c&d");
    assert.deepEqual(read("#text=%20").rejected, ["text"]);
    assert.deepEqual(read("#text=+").rejected, ["text"]);
  });
});

describe("fitToModel", () => {
  const fit = (patch, entry, fallback = SYNTHETIC) => {
    const state = { ...DEFAULTS, ...patch };
    return { changed: fitToModel(state, entry, fallback), state };
  };

  test("a state that fits is left alone", () => {
    assert.deepEqual(fit({ head: 7 }, SYNTHETIC), { changed: [], state: { ...DEFAULTS, head: 7 } });
    assert.deepEqual(fit({ model: "tiny-bert", layer: 3, head: 5 }, ENCODER).changed, []);
  });

  test("heads: the synthetic model's own count, else the index's", () => {
    assert.deepEqual(fit({ heads: 4, head: 4 }, SYNTHETIC), { changed: ["head"], state: { ...DEFAULTS, heads: 4 } });
    assert.deepEqual(fit({ heads: 4, head: 3 }, SYNTHETIC).changed, []);
    assert.deepEqual(fit({ head: 8 }, SYNTHETIC).changed, ["head"]);
    // A model without the "heads" option has the index's heads, whatever state.heads says.
    assert.deepEqual(fit({ model: "tiny-bert", heads: 16, head: 6 }, ENCODER).changed, ["head"]);
    assert.deepEqual(fit({ model: "tiny-bert", heads: 1, head: 5 }, ENCODER).changed, []);
  });

  test("layers: past the model's (or its stack's) last falls back to 0", () => {
    assert.deepEqual(fit({ layer: 1 }, SYNTHETIC), { changed: ["layer"], state: { ...DEFAULTS } });
    assert.deepEqual(fit({ model: "tiny-bert", layer: 4 }, ENCODER).changed, ["layer"]);
    assert.deepEqual(fit({ model: "tiny-bert", layer: 3 }, ENCODER).changed, []);
    assert.deepEqual(fit({ model: "tiny-mt", layer: 2 }, TRANSLATOR).changed, ["layer"]); // cross: 2 layers
    assert.deepEqual(fit({ model: "tiny-mt", stack: "encoder", layer: 2 }, TRANSLATOR).changed, []); // encoder: 3
    assert.deepEqual(fit({ model: "tiny-mt", stack: "encoder", layer: 3 }, TRANSLATOR).changed, ["layer"]);
  });

  test("modes and stacks the model does not have", () => {
    assert.deepEqual(fit({ model: "tiny-bert", mode: "cross" }, ENCODER).changed, ["mode"]);
    assert.deepEqual(fit({ mode: "cross" }, SYNTHETIC).changed, []);
    assert.deepEqual(fit({ model: "tiny-bert", stack: "encoder" }, ENCODER).changed, ["stack"]);
    // With the "mode" option the stack is the mode's.
    assert.deepEqual(fit({ mode: "cross", stack: "self" }, SYNTHETIC).changed, ["stack"]);
    assert.deepEqual(fit({ mode: "cross", stack: "cross" }, SYNTHETIC).changed, []);
  });

  test("an unknown model falls back to the default one, and is fitted to it", () => {
    const { changed, state } = fit({ model: "gpt", layer: 5, head: 11 }, undefined);
    assert.deepEqual(changed, ["model", "layer", "head"]);
    assert.equal(state.model, "synthetic");
    assert.deepEqual(fit({ model: "gpt" }, undefined, ENCODER).state.model, "tiny-bert");
  });

  test("a model name shaped like a prototype key is just a model the index does not have", () => {
    const { state, rejected } = read("#model=constructor");
    assert.deepEqual([state.model, rejected], ["constructor", []]); // a well-formed name...
    const entry = findModel({ models: [SYNTHETIC, ENCODER] }, state.model);
    assert.deepEqual(fitToModel(state, entry, SYNTHETIC), ["model"]); // ...that falls back
    assert.equal(state.model, "synthetic");
  });
});

describe("requestFor", () => {
  const base = { text: DEFAULTS.text, intermediates: false, layer: 0, head: 0 };

  test("the synthetic model gets its options", () => {
    assert.deepEqual(requestFor({ ...DEFAULTS, causal: true, temperature: 0.5, hide: true, target: "x" }, SYNTHETIC),
      { ...base, model: "synthetic", mode: "self", heads: 8, causal: true, temperature: 0.5 });
  });

  test("source only in cross mode", () => {
    const req = requestFor({ ...DEFAULTS, mode: "cross", step: true, head: 3 }, SYNTHETIC);
    assert.equal(req.source, DEFAULTS.source);
    assert.equal(req.intermediates, true);
    assert.equal(req.head, 3);
    assert.ok(!("source" in requestFor({ ...DEFAULTS }, SYNTHETIC)));
  });

  test("a model without options gets none of the synthetic model's", () => {
    const state = { ...DEFAULTS, model: "tiny-bert", heads: 4, causal: true, temperature: 2, mode: "cross",
      hide: true, merge: true, layer: 2, stack: "self" };
    assert.deepEqual(requestFor(state, ENCODER),
      { ...base, model: "tiny-bert", layer: 2, stack: "self", hide_special: true, merge_subwords: true });
    assert.deepEqual(requestFor({ ...DEFAULTS, model: "tiny-mt", target: "Um gato." }, TRANSLATOR),
      { ...base, model: "tiny-mt", target: "Um gato." });
  });

  test("a causal language model gets generation, the chat template and the sink toggle", () => {
    const LLM = { name: "tiny-lm", label: "Tiny LM", layers: 3, heads: 6, stacks: ["self"],
      options: ["temperature", "generate", "chat", "hide_first"], stack_layers: {} };
    const state = { ...DEFAULTS, model: "tiny-lm", generate: 5, sink: true, causal: true, temperature: 0.7, hide: true };
    assert.deepEqual(requestFor(state, LLM),
      { ...base, model: "tiny-lm", temperature: 0.7, generate: 5, chat: false, hide_first: true });
  });

  test("hidden tokens reach every model's request; none adds no field", () => {
    assert.deepEqual(requestFor({ ...DEFAULTS, model: "tiny-bert", hidden: [0, 5] }, ENCODER).hide, [0, 5]);
    assert.deepEqual(requestFor({ ...DEFAULTS, hidden: [2] }, SYNTHETIC).hide, [2]);
    assert.ok(!("hide" in requestFor({ ...DEFAULTS }, SYNTHETIC)));
  });

  test("an analysis brings its own fields and no other's", () => {
    const all = { ...DEFAULTS, model: "tiny-bert", rollout_heads: "each", ablate_token: 2, ablate_head: true, query: 3,
      key: 1, sentences: " One.\n\nTwo. " };
    const plain = requestFor({ ...DEFAULTS, model: "tiny-bert" }, ENCODER);
    const fields = (analysis) => {
      const req = requestFor({ ...all, analysis }, ENCODER);
      return Object.fromEntries(Object.entries(req).filter(([k]) => !(k in plain)));
    };
    assert.deepEqual(fields(""), {});
    assert.deepEqual(fields("roles"), { analysis: "roles" });
    assert.deepEqual(fields("flow"), { analysis: "flow" });
    assert.deepEqual(fields("value_norm"), { analysis: "value_norm" });
    assert.deepEqual(fields("rollout"), { analysis: "rollout", rollout_heads: "each" });
    assert.deepEqual(fields("ablate"), { analysis: "ablate", ablate_token: 2, ablate_head: true });
    assert.deepEqual(fields("neuron"), { analysis: "neuron", query: 3, key: 1 });
    assert.deepEqual(fields("qk_map"), { analysis: "qk_map", sentences: ["One.", "Two."] });
  });

  test("view fields never reach the request", () => {
    const view = { view: "grid", rowscale: true, scale: "one", stage: 3, token: 2, self: true };
    assert.deepEqual(requestFor({ ...DEFAULTS, ...view }, SYNTHETIC), requestFor({ ...DEFAULTS }, SYNTHETIC));
  });

  test("reading the first tokens of a long text is asked for only when chosen, for every model", () => {
    for (const [entry, model] of [[SYNTHETIC, "synthetic"], [ENCODER, "tiny-bert"], [TRANSLATOR, "tiny-mt"]]) {
      assert.equal(requestFor({ ...DEFAULTS, model, cut: true }, entry).truncate, true);
      assert.ok(!("truncate" in requestFor({ ...DEFAULTS, model }, entry)));
    }
  });
});
