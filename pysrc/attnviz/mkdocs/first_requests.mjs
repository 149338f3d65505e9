// The requests each widget opens with, by the widgets' own code (each widget module's
// `firstRequests(options, index)`), for the build to answer ahead (built_answers.py).
// Usage: node first_requests.mjs <the widgets' folder (site_js)>; stdin: {widgets: [{kind, options}],
// index: the model index}; stdout: [{hash, request}], each request once, in the widgets' order.
// A widget kind without firstRequests (the Explorer, whose view lives in the address) adds none.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const web = process.argv[2];
const { widgets, index } = JSON.parse(readFileSync(0, "utf8"));
const { requestHash } = await import(pathToFileURL(join(web, "kept-answers.js")).href);

const seen = new Set();
const out = [];
for (const { kind, options } of widgets) {
  if (!/^[a-z][a-z-]*$/.test(kind)) continue;
  let requests = [];
  try {
    const module = await import(pathToFileURL(join(web, "widgets", `${kind}.js`)).href);
    requests = module.firstRequests ? module.firstRequests(options, index) : [];
  } catch (err) {
    process.stderr.write(`no first requests for the "${kind}" widget: ${err.message}\n`);
  }
  for (const request of requests) {
    const hash = await requestHash(request);
    if (seen.has(hash)) continue;
    seen.add(hash);
    out.push({ hash, request });
  }
}
process.stdout.write(JSON.stringify(out));
