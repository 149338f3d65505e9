// Unit tests of the wheel reader a snapshot restore uses (site_js/zip.js), on the numpy wheel the
// site serves (build/runtime, from `make site`): every entry reads back at its recorded size, the
// shared libraries are WebAssembly, and a damaged archive is refused with a reason.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

import { zipEntries, zipRead } from "../../site_js/zip.js";

const RUNTIME = resolve(dirname(fileURLToPath(import.meta.url)), "../../build/runtime");
const WHEEL = existsSync(RUNTIME) ? readdirSync(RUNTIME).find((f) => /^numpy-.*\.whl$/.test(f)) : undefined;
const skip = WHEEL ? false : "the runtime is not assembled (make site)";

test("every entry of numpy's wheel reads back whole; its libraries are WebAssembly", { skip }, async () => {
  const zip = new Uint8Array(readFileSync(join(RUNTIME, WHEEL)));
  const entries = zipEntries(zip);
  assert.ok(entries.size > 100, `${entries.size} entries`);
  const libraries = [...entries.keys()].filter((name) => name.endsWith(".so"));
  assert.ok(libraries.length > 5, "numpy's shared libraries are listed");
  for (const [name, entry] of entries) {
    const bytes = await zipRead(zip, entry);
    assert.equal(bytes.length, entry.size, name);
  }
  for (const name of libraries) {
    const head = (await zipRead(zip, entries.get(name))).subarray(0, 4);
    assert.deepEqual(Array.from(head), [0, 0x61, 0x73, 0x6d], `${name} starts with \\0asm`);
  }
  const wheelInfo = [...entries.keys()].find((name) => name.endsWith(".dist-info/WHEEL"));
  assert.match(new TextDecoder().decode(await zipRead(zip, entries.get(wheelInfo))), /^Wheel-Version: /);
});

test("a damaged archive is refused with a reason", { skip }, async () => {
  const zip = new Uint8Array(readFileSync(join(RUNTIME, WHEEL)));
  assert.throws(() => zipEntries(zip.subarray(0, 1000)), /not a zip archive/);
  const entries = zipEntries(zip);
  const [, first] = entries.entries().next().value;
  const damaged = zip.slice();
  damaged[first.localHeader] ^= 0xff;
  await assert.rejects(zipRead(damaged, first), /entry is damaged/);
  const inflated = [...entries.values()].find((e) => e.method === 8 && e.size > 1000);
  await assert.rejects(zipRead(zip, { ...inflated, size: inflated.size + 1 }), /wrong size/);
});
