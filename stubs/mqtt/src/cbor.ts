// CBOR for messages. cbor-x is set up for plain interchange: no record
// extension (a peer in another language could not read it), byte strings
// untagged, and minimal map headers.
import { Decoder, Encoder } from 'cbor-x';

const options = { useRecords: false, mapsAsObjects: true, tagUint8Array: false, variableMapSize: true } as const;
const encoder = new Encoder(options);
const decoder = new Decoder(options);

// The encoder writes into a shared scratch buffer; copying keeps queued
// payloads safe from later encodes.
export function encodeCbor(value: unknown): Uint8Array {
  return encoder.encode(value).slice();
}

export function decodeCbor(bytes: Uint8Array): unknown {
  return decoder.decode(bytes);
}

// Builds a CBOR array from items that are each already one CBOR data item,
// so inbound payloads reach the bus byte for byte as they were published.
export function cborArrayOf(items: Uint8Array[]): Uint8Array {
  const n = items.length;
  const head = n < 24 ? [0x80 | n]
    : n < 0x100 ? [0x98, n]
    : n < 0x10000 ? [0x99, n >> 8, n & 0xff]
    : [0x9a, (n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
  let size = head.length;
  for (const item of items) size += item.length;
  const out = new Uint8Array(size);
  out.set(head, 0);
  let at = head.length;
  for (const item of items) { out.set(item, at); at += item.length; }
  return out;
}
