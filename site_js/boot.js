/**
 * Loaded `async` from <head> on pages that have widgets (the MkDocs hook adds it): starts the
 * computation worker while the rest of the page is still parsing, so Pyodide boots in parallel
 * with the page instead of after it. mount.js later gets the same client (same module URL).
 */
import { getClient } from "./client.js";

getClient();
