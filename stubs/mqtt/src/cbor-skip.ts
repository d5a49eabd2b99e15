// Where a CBOR data item ends, checked to be well-formed (RFC 8949, 5.3.1),
// without decoding it: messages cross the stub as the bytes they came in, so
// the stub only needs their extent and a few top-level fields
// (message-scan.ts). One loop with an explicit stack rather than a call per
// item: the stub runs in StarlingMonkey's interpreter, where a call costs
// about as much as a dozen simple operations.

export class MalformedCbor extends Error {}

export const BREAK = 0xff;
// Deeper than any message a runtime sends, shallow enough for any decoder
// that recurses (the runtime's cbor-x reads what the stub posts).
const MAX_DEPTH = 256;
// Strings of 24 to 255 bytes (addresses, mostly): the length in the next byte.
const BYTES8 = 0x58, TEXT8 = 0x78;
// What an indefinite-length array or map counts down from (`left` below):
// far above any real count (each item takes a byte), so it never reaches 0,
// and the two stay apart. A map's parity tells a key from a value.
const INDEFINITE_ARRAY = 2 ** 42, INDEFINITE_MAP = 2 ** 41, INDEFINITE = 2 ** 40;
// What enclosing containers still hold, while skipItem walks inside one.
const enclosing = new Float64Array(MAX_DEPTH + 1);

/**
 * Bytes taken by an item that is whole in its head (a number, a simple
 * value, a string shorter than 24 bytes, an empty array or map), by its
 * first byte; 0 for any other. Most items of a message are such, and one
 * table lookup steps over each. Read only.
 */
export const FLAT = new Uint8Array(256);
for (let initial = 0; initial < 256; initial++) {
  const major = initial >> 5, info = initial & 31;
  const extra = info < 24 ? 0 : info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : -1;
  if (extra < 0) continue;
  if (major === 0 || major === 1 || major === 7) FLAT[initial] = 1 + extra;
  else if ((major === 2 || major === 3) && info < 24) FLAT[initial] = 1 + info;
  else if ((major === 4 || major === 5) && info === 0) FLAT[initial] = 1;
}

/**
 * Items walked since the stub started: the measure of work inbox.ts bounds.
 * A counter object rather than functions: a call costs the interpreter
 * several times a property update.
 */
export const walk = { items: 0 };

/**
 * Offset just past the data item that starts at `at` in `b`, which must end
 * by `end`. Throws MalformedCbor where the bytes are no well-formed item
 * (truncated, reserved values, a bad chunk, a break out of place, nested
 * deeper than MAX_DEPTH). Measured reason for its shape: the interpreter
 * pays for every operation, so a flat item costs a table lookup and a
 * count, and the end is checked only where it must be (a flat item past
 * `end` is caught by the next item's check, or on return).
 */
export function skipItem(b: Uint8Array, at: number, end: number = b.length): number {
  // Items still to walk in the container being walked (the item asked for
  // counts as a container of one), how deep it is, and items counted.
  let left = 1, depth = 0, items = 1;
  for (;;) {
    // Past the end of `b`, b[at] is undefined and so is its FLAT entry.
    const flat = FLAT[b[at]!]!;
    if (flat > 0) {
      at += flat;
    } else {
      if (at >= end) throw new MalformedCbor('truncated');
      const initial = b[at++]!;
      const major = initial >> 5, info = initial & 31;
      if ((initial === TEXT8 || initial === BYTES8) && at < end) {
        at += 1 + b[at]!;
      } else if (initial === BREAK) {
        if (left < INDEFINITE) throw new MalformedCbor('a break outside an indefinite-length item');
        const array = left > INDEFINITE_MAP;
        const had = (array ? INDEFINITE_ARRAY : INDEFINITE_MAP) - left;
        if (!array && had % 2 !== 0) throw new MalformedCbor('a map ends between a key and its value');
        items += had;
        left = enclosing[--depth]!;
      } else {
        let arg: number;
        if (info < 24) arg = info;
        else if (info === 24) arg = b[at++]!;
        else if (info === 25) { arg = (b[at]! << 8) | b[at + 1]!; at += 2; }
        else if (info === 26) { arg = b[at]! * 0x1000000 + ((b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!); at += 4; }
        else if (info === 27) { arg = (b[at]! * 0x1000000 + ((b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!)) * 0x100000000; at += 8; }
        else if (info === 31) arg = -1;
        else throw new MalformedCbor(`reserved additional information ${info}`);
        if (at > end) throw new MalformedCbor('truncated');
        if (major === 2 || major === 3) {
          at = arg < 0 ? skipChunks(b, at, end, major) : at + arg;
          if (at > end) throw new MalformedCbor('string runs past the end');
        } else if (major === 6 || ((major === 4 || major === 5) && arg !== 0)) {
          if (arg < 0 && major === 6) throw new MalformedCbor('indefinite length on a tag');
          // Each item takes a byte at least: a count past what is left is
          // refused before it is walked.
          if (major !== 6 && arg > (major === 5 ? (end - at) / 2 : end - at)) throw new MalformedCbor('truncated');
          if (depth === MAX_DEPTH) throw new MalformedCbor(`nested deeper than ${MAX_DEPTH}`);
          enclosing[depth++] = left;
          // A tag: the tagged item follows, one level down.
          left = arg < 0 ? (major === 5 ? INDEFINITE_MAP : INDEFINITE_ARRAY) : major === 5 ? 2 * arg : major === 6 ? 1 : arg;
          if (arg >= 0) items += left;
          continue;
        } else if (major !== 4 && major !== 5) {
          // Majors 0, 1 and 7 with additional information 31 (the break is above).
          throw new MalformedCbor(`indefinite length on major type ${major}`);
        }
      }
    }
    // One item of the current container is done; a container done is one
    // item of the one around it.
    while (--left === 0) {
      if (depth === 0) {
        if (at > end) throw new MalformedCbor('truncated');
        walk.items += items;
        return at;
      }
      left = enclosing[--depth]!;
    }
  }
}

// Past the chunks of an indefinite-length string and its break: each chunk
// a definite string of the same major type.
function skipChunks(b: Uint8Array, at: number, end: number, major: number): number {
  for (;;) {
    if (at >= end) throw new MalformedCbor('truncated');
    const initial = b[at]!;
    if (initial === BREAK) return at + 1;
    if (initial >> 5 !== major || (initial & 31) === 31) throw new MalformedCbor('bad chunk in an indefinite string');
    at = skipItem(b, at, end);
  }
}

/** Where an array or map head at `at` ends and how many items (pairs) it announces; -1 for an indefinite length. */
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
