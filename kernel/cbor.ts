// CBOR on the stub boundary: messages travel in batches (one CBOR array per
// call), never as JSON strings.
import { Encoder } from 'cbor-x';
import { pfError } from './errors.ts';

// Plain maps with text keys, no cbor-x record extension: stubs written in any
// language must be able to read what we send.
// copyBuffers: byte strings are copied out of the input, never views of it —
// the input may be a view of a stub's memory that changes after the call.
const codec = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false, copyBuffers: true });

export function encodeCbor(value: unknown): Uint8Array {
  return codec.encode(value);
}

export function decodeCbor(bytes: Uint8Array): unknown {
  try {
    return codec.decode(bytes);
  } catch (error) {
    throw pfError('PF_ERR_CBOR', [error instanceof Error ? error.message : String(error)], { cause: error });
  }
}

export function encodeBatch(messages: readonly unknown[]): Uint8Array {
  return codec.encode(messages);
}

export function decodeBatch(bytes: Uint8Array): unknown[] {
  const value = decodeCbor(bytes);
  if (!Array.isArray(value)) throw pfError('PF_ERR_CBOR', ['a batch must be a CBOR array']);
  return value;
}

/**
 * The bytes of a batch's messages: the batch without its array head (and
 * the break of an indefinite-length one), so that it is the sum of each
 * message's own CBOR. What is not an array (refused later) counts whole.
 */
export function batchItemBytes(batch: Uint8Array): number {
  const first = batch[0];
  let framing = 0;
  if (first >= 0x80 && first <= 0x97) framing = 1;
  else if (first >= 0x98 && first <= 0x9b) framing = 1 + (1 << (first - 0x98));
  else if (first === 0x9f) framing = 2;
  return Math.max(0, batch.byteLength - framing);
}
