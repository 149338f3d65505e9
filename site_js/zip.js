/**
 * Reading single files out of a zip archive (a wheel) in memory, with the browser's own inflater:
 * a restored runtime (snapshot.js) needs numpy's shared libraries at once, and the rest of the
 * wheel only later. Stored and deflated entries only (what wheels use); no zip64, no encryption.
 */

const END_OF_DIRECTORY = 0x06054b50;
const DIRECTORY_ENTRY = 0x02014b50;
const LOCAL_HEADER = 0x04034b50;

/** @typedef {{method: number, compressedSize: number, size: number, localHeader: number}} ZipEntry */

/**
 * The archive's entries by name, from its central directory.
 * @param {Uint8Array} zip @returns {Map<string, ZipEntry>}
 */
export function zipEntries(zip) {
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  // The end record sits in the last 22 bytes, or before a comment of up to 64 kB.
  let end = zip.length - 22;
  while (end >= Math.max(0, zip.length - 22 - 0xffff) && view.getUint32(end, true) !== END_OF_DIRECTORY) end--;
  if (end < 0 || view.getUint32(end, true) !== END_OF_DIRECTORY) throw new Error("not a zip archive");
  const count = view.getUint16(end + 10, true);
  let at = view.getUint32(end + 16, true);
  const names = new TextDecoder();
  /** @type {Map<string, ZipEntry>} */
  const entries = new Map();
  for (let i = 0; i < count; i++) {
    if (view.getUint32(at, true) !== DIRECTORY_ENTRY) throw new Error("the zip archive's directory is damaged");
    const nameLength = view.getUint16(at + 28, true);
    const extraLength = view.getUint16(at + 30, true);
    const commentLength = view.getUint16(at + 32, true);
    entries.set(names.decode(zip.subarray(at + 46, at + 46 + nameLength)), {
      method: view.getUint16(at + 10, true),
      compressedSize: view.getUint32(at + 20, true),
      size: view.getUint32(at + 24, true),
      localHeader: view.getUint32(at + 42, true),
    });
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/**
 * One entry's bytes.
 * @param {Uint8Array} zip @param {ZipEntry} entry @returns {Promise<Uint8Array>}
 */
export async function zipRead(zip, entry) {
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  const at = entry.localHeader;
  if (view.getUint32(at, true) !== LOCAL_HEADER) throw new Error("the zip archive's entry is damaged");
  const start = at + 30 + view.getUint16(at + 26, true) + view.getUint16(at + 28, true);
  const stored = zip.subarray(start, start + entry.compressedSize);
  if (entry.method === 0) return stored;
  if (entry.method !== 8) throw new Error(`zip compression method ${entry.method} is not supported`);
  const inflated = new Blob([stored]).stream().pipeThrough(new DecompressionStream("deflate-raw"));
  const bytes = new Uint8Array(await new Response(inflated).arrayBuffer());
  if (bytes.length !== entry.size) throw new Error("a zip archive's entry inflated to the wrong size");
  return bytes;
}
