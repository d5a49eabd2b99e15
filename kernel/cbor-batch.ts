// A batch's CBOR array head, read without decoding the batch: how many
// messages the guest counts against `maxMessagesPerSecond` (decoding is the
// runtime thread's work, which the limit is there to bound), and how many
// bytes are framing rather than messages (the metrics' bytes in and out).
// No dependency: this runs in every stub's worker.

/** Bytes after the initial byte that hold the length, by its additional information (24–27). */
const LENGTH_BYTES: Record<number, number> = { 24: 1, 25: 2, 26: 4, 27: 8 };
/** Additional information of an indefinite-length array (ended by a break byte). */
const INDEFINITE = 31;

/**
 * The bytes of the array's framing: its head, and the break that ends an
 * indefinite-length one. 0 for what is not an array (RFC 8949 §3.1, major
 * type 4), or one with a reserved additional information.
 */
function arrayFraming(batch: Uint8Array): number {
  const head = batch[0];
  if (head === undefined || head >> 5 !== 4) return 0;
  const info = head & 0x1f;
  if (info < 24) return 1;
  if (info === INDEFINITE) return 2;
  const size = LENGTH_BYTES[info];
  return size === undefined ? 0 : 1 + size;
}

/**
 * The array's length from its head. Every item takes a byte at least, so no
 * count is taken beyond what the bytes can hold: an indefinite-length array
 * (it announces no length) counts as that many, and cannot slip past the
 * limit. Anything but an array is one post of garbage, which the runtime
 * refuses: 1.
 */
export function batchLength(batch: Uint8Array): number {
  const framing = arrayFraming(batch);
  if (framing === 0) return 1;
  const info = batch[0] & 0x1f;
  if (info < 24) return info;
  if (info === INDEFINITE) return Math.max(0, batch.byteLength - framing);
  if (batch.byteLength < framing) return 1;
  let length = 0;
  for (let i = 1; i < framing; i++) length = length * 256 + batch[i];
  return Math.min(length, batch.byteLength - framing);
}

/**
 * The bytes of a batch's messages: the batch without its framing, so that
 * it is the sum of each message's own CBOR. What is not an array (refused
 * later) counts whole.
 */
export function batchItemBytes(batch: Uint8Array): number {
  return Math.max(0, batch.byteLength - arrayFraming(batch));
}
