/**
 * Loaded `async` from <head> on pages that have widgets (the MkDocs hook adds it): makes the
 * page's client, which takes over the worker start-worker.js started, while the rest of the page
 * is still parsing. mount.js later gets the same client (same module URL).
 * When the page's widgets will need a model (the hook names them in a meta tag), its weights
 * start downloading now too, beside the runtime.
 */
import { getClient } from "./client.js";

getClient();
const models = document.querySelector('meta[name="attnviz-models"]');
if (models) {
  import("./prefetch.js").then(({ prefetchModels }) => prefetchModels(models.content.split(" ")))
    .catch(() => {}); // a failure shows when a widget asks for the model
}
