// Where each message of a CBOR batch lies and the few fields the stub reads
// (`to`, and `id`, `from`, `type`, `body` when it must answer or obey),
// without decoding the rest: a carried message is published as the bytes it
// came in, so nothing is decoded and encoded again, and a message too large
// is refused before anything is copied. Measured reason: the stub runs in an interpreter
// (StarlingMonkey without JIT), where decoding and re-encoding each message
// with cbor-x was most of its per-message work.
import { decodeCbor } from './cbor.ts';

export class MalformedCbor extends Error {}

const utf8 = new TextDecoder();
const MAX_DEPTH = 256;
export const BREAK = 0xff;
// Items walked since the stub started: the measure of work inbox.ts bounds.
let walked = 0;

export function itemsWalked(): number {
  return walked;
}

// Offset just past the data item that starts at `at`.
export function skipItem(b: Uint8Array, at: number, depth = 0): number {
  if (at >= b.length) throw new MalformedCbor('truncated');
  if (depth > MAX_DEPTH) throw new MalformedCbor(`nested deeper than ${MAX_DEPTH}`);
  walked++;
  const initial = b[at]!;
  const major = initial >> 5, info = initial & 31;
  at++;
  let arg: number;
  if (info < 24) arg = info;
  else if (info === 24) { arg = b[at]!; at += 1; }
  else if (info === 25) { arg = (b[at]! << 8) | b[at + 1]!; at += 2; }
  else if (info === 26) { arg = b[at]! * 0x1000000 + ((b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!); at += 4; }
  else if (info === 27) { arg = (b[at]! * 0x1000000 + ((b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!)) * 0x100000000; at += 8; }
  else if (info === 31) return skipIndefinite(b, at, major, depth);
  else throw new MalformedCbor(`reserved additional information ${info}`);
  if (at > b.length) throw new MalformedCbor('truncated');
  switch (major) {
    case 2: case 3:
      at += arg;
      if (at > b.length) throw new MalformedCbor('string runs past the end');
      return at;
    case 4:
      for (let i = 0; i < arg; i++) {
        // Short strings without a call: a control message lists hundreds
        // of addresses, and a call costs in the interpreter.
        const head = b[at]!, length = head & 31;
        if ((head & 0xc0) === 0x40 && length < 24) {
          at += 1 + length;
          walked++;
        } else if ((head & 0xc0) === 0x40 && length === 24 && at + 1 < b.length) {
          at += 2 + b[at + 1]!;
          walked++;
        } else {
          at = skipItem(b, at, depth + 1);
        }
      }
      if (at > b.length) throw new MalformedCbor('string runs past the end');
      return at;
    case 5:
      for (let i = 0; i < arg; i++) at = skipItem(b, skipItem(b, at, depth + 1), depth + 1);
      return at;
    case 6:
      return skipItem(b, at, depth + 1);
    default:
      return at;
  }
}

function skipIndefinite(b: Uint8Array, at: number, major: number, depth: number): number {
  if (major < 2 || major > 5) throw new MalformedCbor(`indefinite length on major type ${major}`);
  while (b[at] !== BREAK) {
    if (at >= b.length) throw new MalformedCbor('truncated');
    // A chunk of an indefinite string must be a definite string of its type.
    if (major <= 3 && (b[at]! >> 5 !== major || (b[at]! & 31) === 31)) throw new MalformedCbor('bad chunk in an indefinite string');
    at = skipItem(b, at, depth + 1);
    if (major === 5) at = skipItem(b, at, depth + 1);
  }
  return at + 1;
}

// The first byte of the keys looked for: text of length 2 or 4.
const TEXT2 = 0x62, TEXT4 = 0x64;

/** One message of a batch, as offsets into the batch's bytes (-1: absent). */
export interface MessageSpan {
  start: number;
  end: number;
  /** Whether the item is a map, the only shape a message has. */
  isMap: boolean;
  /** `to` when it is text. */
  to: string | null;
  idAt: number;
  fromAt: number;
  typeAt: number;
  bodyAt: number;
}

// The number of items (pairs for a map) of the array or map whose initial
// byte is at `at`, and where they start; count -1 for an indefinite length.
export function itemCount(b: Uint8Array, at: number): { count: number; at: number } {
  const info = b[at]! & 31;
  at++;
  if (info < 24) return { count: info, at };
  if (info === 24) return { count: b[at]!, at: at + 1 };
  if (info === 25) return { count: (b[at]! << 8) | b[at + 1]!, at: at + 2 };
  if (info === 26) return { count: b[at]! * 0x1000000 + ((b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!), at: at + 4 };
  if (info === 31) return { count: -1, at };
  throw new MalformedCbor('more items than a message may hold');
}

// The span of the message at `at`, with its fields. Reads keys only at the
// top level of the map, by their bytes, so no key is ever decoded.
export function scanMessage(b: Uint8Array, at: number): MessageSpan {
  const span: MessageSpan = { start: at, end: 0, isMap: false, to: null, idAt: -1, fromAt: -1, typeAt: -1, bodyAt: -1 };
  const initial = b[at];
  if (initial === undefined || initial >> 5 !== 5) {
    span.end = skipItem(b, at);
    return span;
  }
  span.isMap = true;
  const head = itemCount(b, at);
  const count = head.count;
  at = head.at;
  for (let i = 0; count < 0 || i < count; i++) {
    if (count < 0 && b[at] === BREAK) { at++; break; }
    const key = at;
    at = skipItem(b, at, 1);
    const value = at;
    at = skipItem(b, at, 1);
    const k = b[key];
    if (k === TEXT2) {
      const c0 = b[key + 1], c1 = b[key + 2];
      if (c0 === 0x74 && c1 === 0x6f) span.to = textAt(b, value, at); // "to"
      else if (c0 === 0x69 && c1 === 0x64) span.idAt = value; // "id"
    } else if (k === TEXT4) {
      const c0 = b[key + 1], c1 = b[key + 2], c2 = b[key + 3], c3 = b[key + 4];
      if (c0 === 0x66 && c1 === 0x72 && c2 === 0x6f && c3 === 0x6d) span.fromAt = value; // "from"
      else if (c0 === 0x74 && c1 === 0x79 && c2 === 0x70 && c3 === 0x65) span.typeAt = value; // "type"
      else if (c0 === 0x62 && c1 === 0x6f && c2 === 0x64 && c3 === 0x79) span.bodyAt = value; // "body"
    }
  }
  span.end = at;
  return span;
}

// A definite text string's value, or null for any other item.
function textAt(b: Uint8Array, at: number, end: number): string | null {
  const initial = b[at]!;
  if (initial >> 5 !== 3) return null;
  const info = initial & 31;
  const header = info < 24 ? 1 : info === 24 ? 2 : info === 25 ? 3 : info === 26 ? 5 : 0;
  if (header === 0) return null;
  return utf8.decode(b.subarray(at + header, end));
}

/** The text at a field's offset, or null when the field is absent or not text. */
export function textField(b: Uint8Array, at: number): string | null {
  return at < 0 ? null : textAt(b, at, skipItem(b, at));
}

/** A field's value, decoded (rare paths only: answers and control messages). */
export function fieldValue(b: Uint8Array, at: number): unknown {
  return at < 0 ? undefined : decodeCbor(b.slice(at, skipItem(b, at)));
}

/** The messages of a batch (a CBOR array), one at a time. */
export class BatchReader {
  readonly bytes: Uint8Array;
  private at: number;
  // Messages left; -1 for an indefinite-length batch, which ends at a break.
  private left: number;

  /** Throws MalformedCbor when `bytes` does not start a CBOR array. */
  constructor(bytes: Uint8Array) {
    if (bytes[0] === undefined || bytes[0] >> 5 !== 4) throw new MalformedCbor('a batch must be a CBOR array');
    const head = itemCount(bytes, 0);
    this.bytes = bytes;
    this.at = head.at;
    this.left = head.count;
  }

  /**
   * The next message, or null after the last. Throws MalformedCbor where
   * the bytes are no message, or bytes follow the batch: nothing after
   * that point can be read.
   */
  next(): MessageSpan | null {
    const b = this.bytes;
    if (this.left === 0 || (this.left < 0 && b[this.at] === BREAK)) {
      if ((this.left < 0 ? this.at + 1 : this.at) !== b.length) throw new MalformedCbor('bytes after the batch');
      return null;
    }
    const span = scanMessage(b, this.at);
    this.at = span.end;
    if (this.left > 0) this.left--;
    return span;
  }
}

/** Why `payload` is not exactly one message (a map with text `type` and `from`), or null when it is. */
export function whyNotOneMessage(payload: Uint8Array): string | null {
  let span: MessageSpan;
  try {
    span = scanMessage(payload, 0);
  } catch (e) {
    return `not one CBOR item (${(e as Error).message})`;
  }
  if (span.end !== payload.length) return 'not one CBOR item (bytes after it)';
  if (!span.isMap || !isText(payload, span.typeAt) || !isText(payload, span.fromAt)) return 'not a message (needs string type and from)';
  return null;
}

function isText(b: Uint8Array, at: number): boolean {
  return at >= 0 && b[at]! >> 5 === 3;
}
