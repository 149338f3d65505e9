/**
 * Run attnviz's unit tests inside Pyodide under Node.js, against the same runtime folder the site
 * serves (Pyodide 0.27.7, the official numpy 2.0.2 wheel, the compiled attnviz wheel), then dump
 * the results of the golden requests so CPython can check that both runtimes agree. The exported
 * model bundles (MODELS_DIR, build/models from tools/export_models.py) are mounted at /models, where
 * the worker writes them in the browser, so MiniLM reads /models/minilm as the site does.
 *
 * The worker's attention-flow kernel (site_js/flow-kernel.js) is offered as the worker offers it,
 * so flow runs here as in the browser.
 *
 * usage: node tests/pyodide/run.mjs RUNTIME_DIR TEST_WHEELS_DIR MODELS_DIR OUT_JSON
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { maxFlowsFromPython } from "../../site_js/flow-kernel.js";

globalThis.attnvizMaxFlows = maxFlowsFromPython; // as worker.js does
const [runtimeDir, wheelsDir, modelsDir, outJson] = process.argv.slice(2).map((p) => resolve(p));
const repo = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const { loadPyodide } = await import(join(runtimeDir, "pyodide.mjs"));

const pyodide = await loadPyodide({ indexURL: runtimeDir + "/" });
await pyodide.loadPackage(["numpy", "attnviz"]);
// pytest, hypothesis and their pure-Python dependencies: unpacked straight into site-packages.
const sitePackages = pyodide.runPython("import site; site.getsitepackages()[0]");
for (const name of readdirSync(wheelsDir).filter((f) => f.endsWith(".whl"))) {
  pyodide.unpackArchive(new Uint8Array(readFileSync(join(wheelsDir, name))), "wheel", { extractDir: sitePackages });
}
pyodide.FS.mkdirTree("/repo/tests");
pyodide.FS.mount(pyodide.FS.filesystems.NODEFS, { root: join(repo, "tests") }, "/repo/tests");
// attnviz.models.BROWSER_ROOT: every bundle at /models/<bundle>, as the worker writes them
pyodide.FS.mkdirTree("/models");
pyodide.FS.mount(pyodide.FS.filesystems.NODEFS, { root: modelsDir }, "/models");

const exitCode = pyodide.runPython(`
import os, sys, pytest
os.chdir("/repo")
sys.path.insert(0, "/repo")
pytest.main(["tests/unit", "-q", "-s", "-p", "no:cacheprovider", "-m", "not cpython_only",
             "-W", "ignore::pytest.PytestUnraisableExceptionWarning"])
`);
const golden = pyodide.runPython(`
from tests.pyodide.golden import run_all
run_all()
`);
writeFileSync(outJson, golden);
process.exit(Number(exitCode));
