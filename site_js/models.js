/**
 * The model index written at build time (models/index.json, by tools/export_models.py): every
 * model built into the site, with its shape, stacks, options, limits and files. Pages and the
 * worker build their model lists, ranges and downloads from it; no script names a model.
 */

const INDEX_URL = new URL("../models/index.json", import.meta.url).href;

/**
 * @typedef {{name: string, label: string, kind: string, layers: number, heads: number, kv_heads: number,
 *   d_model: number, d_head: number, stacks: string[], sides: string[], options: string[], max_tokens: number,
 *   steps: string[], about: string, bundle: string|null, stack_layers: Record<string, number>,
 *   manifest?: string, bytes?: number, base_bytes?: number, version?: string}} ModelEntry
 * @typedef {{format: string, result_schema: object, models: ModelEntry[]}} ModelIndex
 */

/** The index as the build writes it into this file, so that pages and the worker need no request
 * for it (null in the source: then it is fetched). @type {ModelIndex|null} */
const BUILT_IN = /*__MODEL_INDEX__*/ null;

/** @type {Promise<ModelIndex>|null} */
let loading = null;

/** The index, read once per page or worker. @param {typeof fetch} [fetcher] @returns {Promise<ModelIndex>} */
export function modelIndex(fetcher = fetch) {
  if (BUILT_IN) return Promise.resolve(BUILT_IN);
  if (!loading) {
    loading = fetcher(INDEX_URL).then((res) => {
      if (!res.ok) throw new Error(`The model list (models/index.json) is missing (HTTP ${res.status}).`);
      return res.json();
    });
    loading.catch(() => { loading = null; }); // a later call tries again
  }
  return loading;
}

/** @param {ModelIndex} index @param {string} name @returns {ModelEntry|undefined} */
export function findModel(index, name) {
  return index.models.find((m) => m.name === name);
}

/** Layers of a model's stack (an encoder-decoder's stacks differ). @param {ModelEntry} m @param {string} stack */
export function layersOf(m, stack) {
  return (m.stack_layers && m.stack_layers[stack]) || m.layers;
}

/** The Cache API name of a model bundle's files (model-files.js keeps them there). @param {ModelEntry} m */
export function bundleCacheName(m) {
  return `attnviz-model-${m.bundle}-${m.version}`;
}
