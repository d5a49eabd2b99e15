// Check (e)'s inputs: what a stub meets in normal use from a careless or
// hostile peer. Each has a label for the report; none is aimed at a
// particular stub.
import { encodeCbor } from '../../kernel/cbor.ts';
import { REMOTE, RUNTIME_URL, STUB_URL } from './session.ts';

export interface Input<T> {
  label: string;
  value: T;
}

const from = `${REMOTE}/alice`;
const to = `${REMOTE}/bob`;
const batch = (...messages: unknown[]) => encodeCbor(messages);

function repeated(byte: number, count: number, tail: number[] = []): Uint8Array {
  return Uint8Array.from([...new Array<number>(count).fill(byte), ...tail]);
}

/** Batches that are valid CBOR arrays but carry messages nobody specified. */
export const UNKNOWN_MESSAGES: Input<Uint8Array>[] = [
  { label: 'an unknown message type', value: batch({ id: 'u1', type: 'FROBNICATE', from, to, body: { x: 1 } }) },
  { label: 'an unknown type addressed to the stub', value: batch({ id: 'u2', type: 'PING', from, to: STUB_URL }) },
  { label: 'a message with no fields', value: batch({}) },
  { label: 'elements that are not maps', value: batch(42, 'text', null, [1, 2], true, new Uint8Array([1, 2])) },
  { label: 'fields of the wrong types', value: batch({ id: { nested: true }, type: 7, from: 12, to: ['x'], body: 'b' }) },
  { label: 'a body of every CBOR kind', value: batch({ id: 'u3', type: 'CREATE', from, to, body: [1.5, -1, 2 ** 40, null, { a: [] }, new Uint8Array(3)] }) },
  { label: 'a 64 KiB body', value: batch({ id: 'u5', type: 'CREATE', from, to, body: { blob: 'x'.repeat(65_536) } }) },
  { label: 'a RESPONSE to nothing', value: batch({ id: 'u6', type: 'RESPONSE', from, to, body: { code: 200 } }) },
];

/** Control messages (from the runtime, to the stub itself) whose bodies are wrong. */
const runtime = RUNTIME_URL;
export const BAD_CONTROL: Input<Uint8Array>[] = [
  { label: 'SUBSCRIBE with no body', value: batch({ id: 'c1', type: 'SUBSCRIBE', from: runtime, to: STUB_URL }) },
  { label: 'SUBSCRIBE with a null body', value: batch({ id: 'c2', type: 'SUBSCRIBE', from: runtime, to: STUB_URL, body: null }) },
  { label: 'SUBSCRIBE with a text body', value: batch({ id: 'c3', type: 'SUBSCRIBE', from: runtime, to: STUB_URL, body: 'resources' }) },
  { label: 'SUBSCRIBE with resources: 42', value: batch({ id: 'c4', type: 'SUBSCRIBE', from: runtime, to: STUB_URL, body: { resources: 42 } }) },
  { label: 'SUBSCRIBE with resources that are not text', value: batch({ id: 'c5', type: 'SUBSCRIBE', from: runtime, to: STUB_URL, body: { resources: [1, null, {}, ['x']] } }) },
  { label: 'SUBSCRIBE with odd addresses', value: batch({ id: 'c6', type: 'SUBSCRIBE', from: runtime, to: STUB_URL, body: { resources: ['', 'not an address', 'hyperty://', `${REMOTE}/+/#/%00`] } }) },
  { label: 'SUBSCRIBE with 1000 resources', value: batch({ id: 'c7', type: 'SUBSCRIBE', from: runtime, to: STUB_URL, body: { resources: Array.from({ length: 1000 }, (_, i) => `${REMOTE}/r${i}`) } }) },
  { label: 'UNSUBSCRIBE of something never subscribed', value: batch({ id: 'c8', type: 'UNSUBSCRIBE', from: runtime, to: STUB_URL, body: { resources: [`${REMOTE}/never`] } }) },
  { label: 'UNSUBSCRIBE with a text body', value: batch({ id: 'c9', type: 'UNSUBSCRIBE', from: runtime, to: STUB_URL, body: 'x' }) },
];

/** Bytes on-messages receives that are not a well-formed batch. */
export const MALFORMED_BATCHES: Input<Uint8Array>[] = [
  { label: 'no bytes at all', value: new Uint8Array(0) },
  { label: 'a lone break byte', value: Uint8Array.of(0xff) },
  { label: 'reserved heads', value: Uint8Array.of(0xfc, 0xfd, 0xfe, 0x1c) },
  { label: 'a truncated array', value: Uint8Array.of(0x85, 0x01, 0xa1) },
  { label: 'an array claiming 2^64-1 elements', value: Uint8Array.of(0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xa0) },
  { label: 'a text claiming 4 GiB', value: Uint8Array.of(0x81, 0x7a, 0xff, 0xff, 0xff, 0xff, 0x61) },
  { label: 'an indefinite array with no break', value: Uint8Array.of(0x9f, 0xa0, 0xa0) },
  { label: 'a map instead of an array', value: encodeCbor({ id: 'm1', type: 'CREATE', from, to }) },
  { label: 'a text instead of an array', value: encodeCbor('[{"id":"m2"}]') },
  { label: 'invalid UTF-8 in a text', value: Uint8Array.of(0x81, 0xa1, 0x62, 0x69, 0x64, 0x63, 0xff, 0xfe, 0xfd) },
  { label: 'a valid batch with trailing garbage', value: Uint8Array.from([...batch({ id: 'm3', type: 'CREATE', from, to }), 0xff, 0x00]) },
  { label: '2000 nested arrays', value: repeated(0x81, 2000, [0xa0]) },
  { label: '2000 nested indefinite maps', value: repeated(0xbf, 2000) },
  { label: '1 KiB of 0xff', value: repeated(0xff, 1024) },
];

/** Frames on an open connection that no back-end would send. */
export const MALFORMED_FRAMES: Input<Uint8Array>[] = [
  { label: 'an empty frame', value: new Uint8Array(0) },
  { label: 'one 0xff byte', value: Uint8Array.of(0xff) },
  { label: 'a packet head claiming 256 MiB', value: Uint8Array.of(0x30, 0xff, 0xff, 0xff, 0x7f) },
  { label: 'an unterminated length', value: Uint8Array.of(0x30, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff) },
  { label: 'text where binary is expected', value: new TextEncoder().encode('HTTP/1.1 400 Bad Request\r\n\r\n') },
  { label: 'a CBOR message as a frame', value: encodeCbor({ id: 'f1', type: 'CREATE', from, to }) },
  { label: '64 KiB of pseudo-random bytes', value: pseudoRandom(65_536) },
];

// Fixed seed: a failure must reproduce.
function pseudoRandom(length: number): Uint8Array {
  const out = new Uint8Array(length);
  let state = 0x2545f491;
  for (let i = 0; i < length; i++) {
    state ^= state << 13; state ^= state >>> 17; state ^= state << 5;
    out[i] = state & 0xff;
  }
  return out;
}

/** Init configs that are not the documented map: each must get an err. */
export const GARBAGE_CONFIGS: Input<Uint8Array>[] = [
  { label: 'bytes that are not CBOR', value: Uint8Array.of(0xff, 0xfe, 0x00) },
  { label: 'no bytes at all', value: new Uint8Array(0) },
  { label: 'a CBOR text', value: encodeCbor('runtimeURL stubURL domain') },
  { label: 'a truncated map', value: Uint8Array.of(0xa5, 0x67, 0x73, 0x74) },
  { label: 'an empty map', value: encodeCbor({}) },
];
