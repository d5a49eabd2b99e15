// Where each message of a CBOR batch lies and the few fields the stub reads
// (`to`, and `id`, `from`, `type`, `body` when it must answer or obey),
// without decoding the rest: a carried message is published as the bytes it
// came in, and one from the broker is posted as the bytes it came in, so
// nothing is decoded and encoded again, and a message too large is refused
// before anything is copied. Measured reason: the stub runs in an
// interpreter (StarlingMonkey without JIT), where decoding and re-encoding
// each message with cbor-x was most of its per-message work.
import { decodeCbor } from './cbor.ts';
import { BREAK, FLAT, itemCount, MalformedCbor, skipItem, walk } from './cbor-skip.ts';

const utf8 = new TextDecoder();

// The first byte of the keys looked for: text of length 2 or 4.
const TEXT2 = 0x62, TEXT4 = 0x64;
// Text of 24 to 255 bytes (an address, usually): its length in the next byte.
const TEXT8 = 0x78;

/** One message of a batch: where it lies, and `to`, the one field every message needs read. */
export interface MessageSpan {
  /** The batch (or publication) the message lies in; the stub's own, never changed. */
  bytes: Uint8Array;
  start: number;
  end: number;
  /** `to` when it is text. */
  to: string | null;
  /** The other fields, once fieldsOf read them. */
  fields: MessageFields | null;
}

/** Where a message's fields lie in its bytes (-1: absent). */
export interface MessageFields {
  /** Whether the message is a map, the only shape a message has. */
  isMap: boolean;
  idAt: number;
  fromAt: number;
  typeAt: number;
  bodyAt: number;
}

/**
 * The message at `at` of `b`, ending by `end`, and its `to`. Throws
 * MalformedCbor where the bytes are no well-formed item.
 */
export function scanMessage(b: Uint8Array, at: number, end: number = b.length): MessageSpan {
  const span: MessageSpan = { bytes: b, start: at, end: 0, to: null, fields: null };
  span.end = walkMessage(b, at, end, span, null);
  return span;
}

/**
 * The fields of the message at `span`, read on first use: only answers and
 * control messages need them, so carrying a message does not pay for them.
 */
export function fieldsOf(span: MessageSpan): MessageFields {
  if (span.fields === null) {
    const fields: MessageFields = { isMap: false, idAt: -1, fromAt: -1, typeAt: -1, bodyAt: -1 };
    walkMessage(span.bytes, span.start, span.end, null, fields);
    span.fields = fields;
  }
  return span.fields;
}

// Walks the message at `at` of `b`, ending by `end`, to its end (returned),
// reading `to` into `span` and the other fields into `fields`, where given.
// Keys are read only at the top level of the map, by their bytes, so no key
// is decoded; keys and values whose head gives their size (all of a
// runtime's but the body) are stepped over here rather than in a call.
function walkMessage(b: Uint8Array, at: number, end: number, span: MessageSpan | null, fields: MessageFields | null): number {
  const initial = b[at];
  if (initial === undefined || at >= end || initial >> 5 !== 5) return skipItem(b, at, end);
  if (fields !== null) fields.isMap = true;
  const info = initial & 31;
  let count: number;
  // The runtime's cbor-x heads every map with a 16-bit count.
  if (info < 24) { count = info; at += 1; }
  else if (info === 25) { count = (b[at + 1]! << 8) | b[at + 2]!; at += 3; }
  else if (info === 31) { count = -1; at += 1; }
  else {
    const head = itemCount(b, at);
    count = head.count;
    at = head.at;
  }
  if (at > end) throw new MalformedCbor('truncated');
  let pairs = 0;
  for (; count < 0 || pairs < count; pairs++) {
    if (at >= end) throw new MalformedCbor('truncated');
    const key = at, k = b[at]!;
    if (k === BREAK && count < 0) { at++; break; }
    let size = FLAT[k]!;
    at = size !== 0 ? at + size : skipItem(b, at, end);
    if (at >= end) throw new MalformedCbor('truncated');
    const value = at, v = b[at]!;
    size = FLAT[v]!;
    if (size !== 0) at += size;
    else if (v === TEXT8 && at + 1 < end) at += 2 + b[at + 1]!;
    else at = skipItem(b, at, end);
    if (at > end) throw new MalformedCbor('string runs past the end');
    if (k === TEXT2) {
      const c0 = b[key + 1], c1 = b[key + 2];
      if (c0 === 0x74 && c1 === 0x6f) { if (span !== null) span.to = textAt(b, value, at); } // "to"
      else if (c0 === 0x69 && c1 === 0x64 && fields !== null) fields.idAt = value; // "id"
    } else if (k === TEXT4 && fields !== null) {
      const c0 = b[key + 1], c1 = b[key + 2], c2 = b[key + 3], c3 = b[key + 4];
      if (c0 === 0x66 && c1 === 0x72 && c2 === 0x6f && c3 === 0x6d) fields.fromAt = value; // "from"
      else if (c0 === 0x74 && c1 === 0x79 && c2 === 0x70 && c3 === 0x65) fields.typeAt = value; // "type"
      else if (c0 === 0x62 && c1 === 0x6f && c2 === 0x64 && c3 === 0x79) fields.bodyAt = value; // "body"
    }
  }
  // The map and its keys and values, as skipItem would have counted them.
  walk.items += 1 + 2 * pairs;
  return at;
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

// whyNotOneMessage's fields, reused: it is on every publication's path.
const checked: MessageFields = { isMap: false, idAt: -1, fromAt: -1, typeAt: -1, bodyAt: -1 };

/**
 * Why the bytes from `start` to `end` of `b` are not exactly one message (a
 * map with text `type` and `from`), or null when they are.
 */
export function whyNotOneMessage(b: Uint8Array, start: number, end: number): string | null {
  const fields = checked;
  fields.isMap = false;
  fields.idAt = fields.fromAt = fields.typeAt = fields.bodyAt = -1;
  let at: number;
  try {
    // `to` is not read: the receiving runtime routes the message.
    at = walkMessage(b, start, end, null, fields);
  } catch (e) {
    if (!(e instanceof MalformedCbor)) throw e;
    return `not one CBOR item (${e.message})`;
  }
  if (at !== end) return 'not one CBOR item (bytes after it)';
  if (!fields.isMap || !isText(b, fields.typeAt) || !isText(b, fields.fromAt)) return 'not a message (needs string type and from)';
  return null;
}

function isText(b: Uint8Array, at: number): boolean {
  return at >= 0 && b[at]! >> 5 === 3;
}
