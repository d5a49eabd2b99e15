// CBOR for messages. cbor-x is set up for plain interchange: no record
// extension (a peer in another language could not read it), byte strings
// untagged, and minimal map headers.
import { Decoder, Encoder } from 'cbor-x';

const options = { useRecords: false, mapsAsObjects: true, tagUint8Array: false, variableMapSize: true } as const;
const encoder = new Encoder(options);
const decoder = new Decoder(options);

// The encoder writes into a shared scratch buffer; the copy is the caller's
// to keep.
export function encodeCbor(value: unknown): Uint8Array {
  return encoder.encode(value).slice();
}

export function decodeCbor(bytes: Uint8Array): unknown {
  return decoder.decode(bytes);
}
