// Unit tests of the pure parts of the Explorer's analysis views (site_js/explorer/analysis-*.js,
// hidden.js, widgets/common.js's array helpers): `node --test tests/js/`.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { nextTokenChanges } from "../../site_js/explorer/analysis-ablate.js";
import { shares } from "../../site_js/explorer/analysis-maps.js";
import { roleTitle } from "../../site_js/explorer/analysis-roles.js";
import { tokenSlots, toggled } from "../../site_js/explorer/hidden.js";
import { matrixAt, tensor } from "../../site_js/widgets/common.js";

describe("arrays of a result", () => {
  test("tensor keeps typed arrays and flattens nested lists", () => {
    const t = { data: new Float32Array([1, 2]), shape: [2] };
    assert.equal(tensor(t), t);
    const n = tensor([[[1, 2], [3, 4]], [[5, 6], [7, 8]]]);
    assert.deepEqual(n.shape, [2, 2, 2]);
    assert.deepEqual([...n.data], [1, 2, 3, 4, 5, 6, 7, 8]);
  });

  test("matrixAt agrees with nested indexing at every leading index", () => {
    const L = 3, H = 2, Q = 4, K = 5;
    const nested = Array.from({ length: L }, (_, l) => Array.from({ length: H }, (_, h) =>
      Array.from({ length: Q }, (_, q) => Array.from({ length: K }, (_, k) => l * 1000 + h * 100 + q * 10 + k))));
    const t = tensor(nested);
    for (let l = 0; l < L; l++) {
      for (let h = 0; h < H; h++) assert.deepEqual([...matrixAt(t, l, h)], nested[l][h].flat());
      assert.deepEqual([...matrixAt(t, l)], nested[l].flat(2));
    }
    assert.equal(matrixAt(t).length, L * H * Q * K);
  });
});

describe("hiding tokens", () => {
  test("every token keeps its place; hidden ones are marked", () => {
    const tokens = [{ text: "a" }, { text: "b" }, { text: "c" }];
    assert.deepEqual(tokenSlots(tokens, [2, 0]), [
      { index: 0, text: "a", hidden: true }, { index: 1, text: "b", hidden: false }, { index: 2, text: "c", hidden: true }]);
    assert.deepEqual(tokenSlots(tokens, []).map((t) => t.hidden), [false, false, false]);
  });

  test("toggling adds or removes one index and keeps the list sorted", () => {
    assert.deepEqual(toggled([], 3), [3]);
    assert.deepEqual(toggled([5, 1], 3), [1, 3, 5]);
    assert.deepEqual(toggled([1, 3, 5], 3), [1, 5]);
    assert.deepEqual(toggled(toggled([2, 7], 4), 4), [2, 7]);
  });
});

describe("head roles", () => {
  test("role names read as words", () => {
    assert.equal(roleTitle("previous_token"), "Previous token");
    assert.equal(roleTitle("sink"), "Sink");
  });
});

describe("ablation and value-weighted views", () => {
  test("next tokens are matched by id; one missing on a side has null there", () => {
    const before = [{ id: 1, text: " Paris", p: 0.6 }, { id: 2, text: " the", p: 0.1 }];
    const after = [{ id: 3, text: " Lyon", p: 0.3 }, { id: 1, text: " Paris", p: 0.2 }];
    assert.deepEqual(nextTokenChanges(before, after), [
      { id: 1, text: " Paris", before: 0.6, after: 0.2 },
      { id: 3, text: " Lyon", before: null, after: 0.3 },
      { id: 2, text: " the", before: 0.1, after: null },
    ]);
  });

  test("shares divide a row by its sum; a zero row stays zero", () => {
    assert.deepEqual([...shares(new Float32Array([1, 3]))], [0.25, 0.75]);
    assert.deepEqual([...shares(new Float32Array([0, 0]))], [0, 0]);
  });
});
