// What the Explorer makes of link hashes, computed by the page's own code (site_js/explorer/state.js),
// so the docs' links are judged by the rules the page applies rather than by a copy of them.
//
//   node tests/support/explorer_state.mjs build/models/index.json < hashes.json
//
// stdin: a JSON list of hashes without their "#" ("model=minilm&layer=2&head=11").
// stdout: a JSON list, one object per hash, in order:
//   state     fromHash("#" + hash).state after fitToModel (what the Explorer shows)
//   rejected  fromHash's rejected fields (values the parsers refused; defaults are shown instead)
//   changed   the fields fitToModel(state, entry, index.models[0]) changed (entry: the model
//             index's entry of state.model, undefined for a name the index does not know)
//   keys      the fields the hash sets, as URLSearchParams reads them
//   unused    fields the hash sets that reach attnviz's request for some model but not for this
//             one (heads for a model without the "heads" option, source outside cross mode,
//             layer for a one-layer stack): a link that sets them promises what it cannot show
//   limits    {layers, heads}: how many layers and heads fitToModel allows for this state
//   request   requestFor(state, entry): the attnviz request the page sends
import { readFileSync } from "node:fs";

const here = new URL(".", import.meta.url);
const stateUrl = new URL("../../site_js/explorer/state.js", here);
const modelsUrl = new URL("../../site_js/models.js", here);
const { DEFAULTS, fitToModel, fromHash, requestFor } = await import(stateUrl.href);
const { findModel } = await import(modelsUrl.href);

const indexPath = process.argv[2];
if (!indexPath) throw new Error("usage: explorer_state.mjs <models/index.json> < hashes.json");
const index = JSON.parse(readFileSync(indexPath, "utf8"));
const hashes = JSON.parse(readFileSync(0, "utf8"));

/** The values fromHash accepts for `key`, out of `candidates`. */
const accepted = (key, candidates) =>
  candidates.filter((v) => fromHash(`#${new URLSearchParams({ [key]: String(v) })}`).rejected.length === 0);

/** Other values of a field to try: its neighbours, the other truth value, a longer text, the
 * values of mode ("self"/"cross") and the model's stacks — only those fromHash would take. */
function alternatives(key, value, entry) {
  const candidates = typeof value === "boolean" ? [!value]
    : typeof value === "number" ? [value + 1, value - 1]
      : [`${value}x`, "self", "cross", ...entry.stacks];
  return accepted(key, candidates).filter((v) => v !== value);
}

/** Whether `key` matters for this model: some other value of it survives fitToModel and changes the request. */
function applies(key, state, entry) {
  const request = JSON.stringify(requestFor(state, entry));
  return alternatives(key, state[key], entry).some((alt) => {
    const probe = { ...state, [key]: alt };
    fitToModel(probe, entry, entry);
    return probe[key] === alt && JSON.stringify(requestFor(probe, entry)) !== request;
  });
}

/** Fields that reach the request for some model of the index (in self or cross mode); the
 * others (view, token, rowscale, ...) only change the view and apply to every model. */
const requestFields = new Set();
for (const entry of index.models) {
  for (const mode of ["self", "cross"]) {
    const base = { ...DEFAULTS, model: entry.name, mode };
    fitToModel(base, entry, entry);
    for (const key of Object.keys(DEFAULTS)) if (applies(key, base, entry)) requestFields.add(key);
  }
}

/** The first value of a field fitToModel resets (a layer or head count), up to 64. */
function limit(key, state, entry) {
  for (let n = 0; n < 64; n++) {
    const probe = { ...state, [key]: n };
    if (fitToModel(probe, entry, entry).includes(key)) return n;
  }
  return 64;
}

const results = hashes.map((hash) => {
  const { state, rejected } = fromHash(`#${hash}`);
  const changed = fitToModel(state, findModel(index, state.model), index.models[0]);
  const entry = findModel(index, state.model);
  const keys = [...new Set(new URLSearchParams(hash).keys())];
  const unused = keys.filter((k) => requestFields.has(k) && !rejected.includes(k) && !changed.includes(k)
    && !applies(k, state, entry));
  const limits = { layers: limit("layer", state, entry), heads: limit("head", state, entry) };
  return { hash, state, rejected, changed, keys, unused, limits, request: requestFor(state, entry) };
});
process.stdout.write(JSON.stringify(results));
