/**
 * One model file from the network, as a reader on a bad connection needs it: a cut download
 * resumes where it stopped (an HTTP Range request; a server that ignores Range sends the whole
 * file again) and is retried a few times; a file whose sha256 differs from the manifest is
 * fetched once more, bypassing the HTTP cache, and then named in the error; a download can be
 * cancelled (an AbortSignal) at any moment. Only whole, verified files are returned.
 */

/** Network failures tolerated per file before giving up (each resumes where the last stopped). */
export const RETRIES = 4;
const RETRY_PAUSE_MS = 400; // times the attempt number: a flaky link gets a moment to come back

/** Thrown when the reader cancels a download. */
export class DownloadCancelled extends Error {}

/** @param {ArrayBuffer|Uint8Array} bytes @returns {Promise<string>} hex sha256 */
export async function sha256(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** @param {number} ms @param {AbortSignal} [signal] */
function pause(ms, signal) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => { clearTimeout(timer); reject(new DownloadCancelled()); }, { once: true });
  });
}

/**
 * Read a file into `out` from byte `from` on, one request: the bytes it got, even when it was cut.
 * @param {typeof fetch} fetcher @param {string} url @param {Uint8Array} out @param {number} from
 * @param {{signal?: AbortSignal, fresh: boolean, onBytes: (n: number) => void}} how
 * @returns {Promise<{at: number, error: Error|null}>} where the file now ends, and why it stopped short
 */
async function readFrom(fetcher, url, out, from, { signal, fresh, onBytes }) {
  const headers = from > 0 ? { Range: `bytes=${from}-` } : {};
  let res;
  try {
    res = await fetcher(url, { headers, signal, cache: fresh ? "reload" : "default" });
  } catch (err) {
    return { at: from, error: err };
  }
  if (from > 0 && res.status === 200) { onBytes(-from); from = 0; } // Range ignored: the whole file again
  else if (!res.ok) return { at: from, error: Object.assign(new Error(`HTTP ${res.status}`), { status: res.status }) };
  let at = from;
  const reader = res.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { at, error: at < out.byteLength ? new Error("the download stopped early") : null };
      if (at + value.byteLength > out.byteLength) return { at, error: null, tooLong: true };
      out.set(value, at);
      at += value.byteLength;
      onBytes(value.byteLength);
    }
  } catch (err) {
    return { at, error: err };
  }
}

/**
 * The verified bytes of one file of a manifest.
 * @param {typeof fetch} fetcher @param {string} url @param {{file: string, bytes: number, sha256: string}} entry
 * @param {{signal?: AbortSignal, onBytes: (n: number) => void, pauseMs?: number}} how onBytes(n): n more
 *   bytes arrived (negative: discarded); pauseMs: the wait after a first failure (doubled, tripled...)
 * @returns {Promise<Uint8Array>}
 */
export async function downloadVerified(fetcher, url, entry, { signal, onBytes, pauseMs = RETRY_PAUSE_MS }) {
  for (let attempt = 0; ; attempt++) {
    const bytes = await downloadWhole(fetcher, url, entry, { signal, onBytes, pauseMs, fresh: attempt > 0 });
    if (bytes && (await sha256(bytes)) === entry.sha256) return bytes;
    if (bytes) onBytes(-bytes.byteLength);
    if (attempt === 1) {
      throw new Error(`The model file ${entry.file} is damaged: its checksum does not match the manifest, twice.`);
    }
  }
}

/** @returns {Promise<Uint8Array|null>} exactly entry.bytes bytes, resuming after each cut (null:
 * the server sent more than that, so the file cannot be the manifest's) */
async function downloadWhole(fetcher, url, entry, { signal, onBytes, pauseMs, fresh }) {
  const out = new Uint8Array(entry.bytes);
  let at = 0;
  for (let failures = 0; ; ) {
    if (signal?.aborted) throw new DownloadCancelled();
    const step = await readFrom(fetcher, url, out, at, { signal, fresh, onBytes });
    if (signal?.aborted) throw new DownloadCancelled();
    if (step.tooLong) { onBytes(-step.at); return null; }
    if (step.at > at) failures = 0; // progress: the count is of failures in a row
    at = step.at;
    if (!step.error) return out;
    if (step.error.status === 404) throw new Error(`The model file ${entry.file} is missing (HTTP 404).`);
    if (++failures > RETRIES) {
      throw new Error(`The model file ${entry.file} could not be downloaded (${step.error.message || step.error}; ` +
        `${RETRIES + 1} tries${at ? `, ${at} of ${entry.bytes} bytes` : ""}). Check the connection, then try again.`);
    }
    await pause(pauseMs * failures, signal);
  }
}
