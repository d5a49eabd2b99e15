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
