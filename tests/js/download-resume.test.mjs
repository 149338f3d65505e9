// Unit tests of the model-file downloader (site_js/download-resume.js) against a scripted server:
// cut streams resume with Range, a server without Range sends it all again, damage is fetched once
// more then named, cancelling stops it, and for random cuts the bytes always come out whole.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, test } from "node:test";

import { DownloadCancelled, RETRIES, downloadVerified } from "../../site_js/download-resume.js";

const FILE = Uint8Array.from({ length: 50_000 }, (_, i) => (i * 7919 + (i >> 8)) & 0xff);
const ENTRY = { file: "part0.abc.bin", bytes: FILE.length, sha256: createHash("sha256").update(FILE).digest("hex") };

/** A stream of body that fails with a network error after `cutAt` bytes (never, when null). */
function body(bytes, cutAt = null) {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      const end = Math.min(bytes.length, sent + 4096, cutAt ?? Infinity);
      if (end > sent) { controller.enqueue(bytes.slice(sent, end)); sent = end; return; }
      if (cutAt !== null && sent < bytes.length) controller.error(new TypeError("network error"));
      else controller.close();
    },
  });
}

/**
 * A server scripted per request: plan(n, range) says what the nth request gets:
 * {cut}, {damaged}, {status}, {throws}, {ignoreRange}, {extra} or {} (the file as asked).
 */
function server(plan) {
  const requests = [];
  const fetcher = async (url, init = {}) => {
    const range = init.headers && init.headers.Range;
    requests.push({ range: range || null, cache: init.cache });
    if (init.signal && init.signal.aborted) throw new DOMException("aborted", "AbortError");
    const step = plan(requests.length, range) || {};
    if (step.throws) throw new TypeError("Failed to fetch");
    if (step.status) return new Response("nope", { status: step.status });
    let bytes = FILE;
    if (step.damaged) { bytes = FILE.slice(); bytes[123] ^= 0xff; }
    if (step.extra) bytes = new Uint8Array([...FILE, 1, 2, 3]);
    const from = range && !step.ignoreRange ? Number(/bytes=(\d+)-/.exec(range)[1]) : 0;
    const part = bytes.slice(from);
    return new Response(body(part, step.cut ?? null), { status: from ? 206 : 200 });
  };
  return { fetcher, requests };
}

const get = (fetcher, how = {}) => {
  let net = 0;
  const done = downloadVerified(fetcher, "https://site/models/x/part0.abc.bin", ENTRY,
    { onBytes: (n) => { net += n; }, pauseMs: 1, ...how });
  return done.then((bytes) => ({ bytes, net }));
};

describe("downloadVerified", () => {
  test("a whole file in one request", async () => {
    const { fetcher, requests } = server(() => ({}));
    const { bytes, net } = await get(fetcher);
    assert.deepEqual(bytes, FILE);
    assert.equal(net, FILE.length);
    assert.deepEqual(requests.map((r) => r.range), [null]);
  });

  test("a cut download resumes from where it stopped", async () => {
    const { fetcher, requests } = server((n) => (n === 1 ? { cut: 20_000 } : {}));
    const { bytes, net } = await get(fetcher);
    assert.deepEqual(bytes, FILE);
    assert.equal(net, FILE.length);
    assert.deepEqual(requests.map((r) => r.range), [null, "bytes=20000-"]);
  });

  test("a server that ignores Range sends the whole file again, and the count stays right", async () => {
    const { fetcher, requests } = server((n) => (n === 1 ? { cut: 30_000 } : { ignoreRange: true }));
    const { bytes, net } = await get(fetcher);
    assert.deepEqual(bytes, FILE);
    assert.equal(net, FILE.length);
    assert.equal(requests.length, 2);
  });

  test("a damaged file is fetched once more, past the HTTP cache", async () => {
    const { fetcher, requests } = server((n) => (n === 1 ? { damaged: true } : {}));
    const { bytes, net } = await get(fetcher);
    assert.deepEqual(bytes, FILE);
    assert.equal(net, FILE.length);
    assert.deepEqual(requests.map((r) => r.cache), ["default", "reload"]);
  });

  test("a file damaged twice is named in the error, after exactly two downloads", async () => {
    const { fetcher, requests } = server(() => ({ damaged: true }));
    await assert.rejects(get(fetcher), /part0\.abc\.bin is damaged.*twice/);
    assert.equal(requests.length, 2);
  });

  test("a file longer than the manifest says counts as damaged", async () => {
    const { fetcher, requests } = server((n) => (n === 1 ? { extra: true } : {}));
    const { bytes } = await get(fetcher);
    assert.deepEqual(bytes, FILE);
    assert.equal(requests.length, 2);
  });

  test("a missing file fails at once; a dead network after RETRIES tries, naming the file", async () => {
    const missing = server(() => ({ status: 404 }));
    await assert.rejects(get(missing.fetcher), /part0\.abc\.bin is missing \(HTTP 404\)/);
    assert.equal(missing.requests.length, 1);
    const down = server(() => ({ throws: true }));
    await assert.rejects(get(down.fetcher), /part0\.abc\.bin could not be downloaded .*5 tries/);
    assert.equal(down.requests.length, RETRIES + 1);
  });

  test("progress resets the count of failures: a link that keeps dropping still finishes", async () => {
    const { fetcher, requests } = server((n, range) => {
      const from = range ? Number(/bytes=(\d+)-/.exec(range)[1]) : 0;
      return from + 5_000 < FILE.length ? { cut: 5_000 } : {}; // 5 kB per connection
    });
    const { bytes } = await get(fetcher);
    assert.deepEqual(bytes, FILE);
    assert.equal(requests.length, Math.ceil(FILE.length / 5_000));
  });

  test("cancelling stops the download", async () => {
    const controller = new AbortController();
    const { fetcher } = server((n) => {
      if (n === 2) controller.abort();
      return n === 1 ? { cut: 10_000 } : {};
    });
    await assert.rejects(get(fetcher, { signal: controller.signal }), DownloadCancelled);
  });

  test("for random cuts and damage the bytes come out whole or the error names the file", async () => {
    let seed = 1;
    const random = () => ((seed = (seed * 48271) % 2147483647) / 2147483647);
    for (let trial = 0; trial < 200; trial++) {
      const { fetcher, requests } = server(() => {
        const r = random();
        return r < 0.3 ? { cut: Math.floor(random() * FILE.length) } : r < 0.35 ? { damaged: true } : {};
      });
      try {
        const { bytes, net } = await get(fetcher);
        assert.deepEqual(bytes, FILE);
        assert.equal(net, FILE.length);
      } catch (err) {
        assert.match(err.message, /part0\.abc\.bin (is damaged|could not be downloaded)/);
      }
      assert.ok(requests.length <= 2 * (RETRIES + 1) * 4, `${requests.length} requests`);
    }
  });
});
