// How many messages a batch holds, read from its CBOR array head alone: the
// guest counts every post against `maxMessagesPerSecond` without decoding it
// (decoding is the runtime thread's work, which the limit is there to bound).
// No dependency: this runs in every stub's worker.

/** Bytes after the initial byte that hold the length, by its additional information (24–27). */
const LENGTH_BYTES: Record<number, number> = { 24: 1, 25: 2, 26: 4, 27: 8 };

/**
 * The array's length from its head (RFC 8949 §3.1, major type 4). Every item
 * takes a byte at least, so no count is taken beyond what the bytes can hold:
 * an indefinite-length array (it announces no length) counts as that many,
 * and cannot slip past the limit. Anything but an array is one post of
 * garbage, which the runtime refuses: 1.
 */
export function batchLength(batch: Uint8Array): number {
  const head = batch[0];
  if (head === undefined || head >> 5 !== 4) return 1;
  const info = head & 0x1f;
  if (info < 24) return info;
  // The head, and the break that ends an indefinite-length array.
  if (info === 31) return Math.max(0, batch.byteLength - 2);
  const size = LENGTH_BYTES[info];
  if (size === undefined || batch.byteLength < 1 + size) return 1;
  let length = 0;
  for (let i = 1; i <= size; i++) length = length * 256 + batch[i];
  return Math.min(length, batch.byteLength - 1 - size);
}
