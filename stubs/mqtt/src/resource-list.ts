// The addresses of a SUBSCRIBE or UNSUBSCRIBE control message, read from its
// bytes one at a time, so a long list can be taken in parts across calls.
// Measured reason: decoding the message with cbor-x cost about 10 µs an
// address in the interpreter (it decodes short strings in JS), and a storm
// of listeners brings 100,000 addresses.
import { BREAK, itemCount, skipItem } from './cbor-skip.ts';

const utf8 = new TextDecoder();
// "resources" as a CBOR text key: its head (text of 9 bytes), then its bytes.
const RESOURCES = [0x69, 0x72, 0x65, 0x73, 0x6f, 0x75, 0x72, 0x63, 0x65, 0x73];

export class ResourceList {
  private readonly bytes: Uint8Array;
  private at: number;
  // Items left; -1 for an indefinite-length list, which ends at a break.
  private left: number;

  private constructor(bytes: Uint8Array, at: number, left: number) {
    this.bytes = bytes;
    this.at = at;
    this.left = left;
  }

  /**
   * The `resources` list of the body at `bodyAt` in `bytes` (one whole
   * message, already scanned), or null when the body is not a map holding
   * one. Throws MalformedCbor only for bytes the scan would have refused.
   */
  static of(bytes: Uint8Array, bodyAt: number): ResourceList | null {
    if (bodyAt < 0 || bytes[bodyAt]! >> 5 !== 5) return null;
    const head = itemCount(bytes, bodyAt);
    let at = head.at;
    for (let i = 0; head.count < 0 || i < head.count; i++) {
      if (head.count < 0 && bytes[at] === BREAK) break;
      const key = at;
      const value = skipItem(bytes, key);
      if (value - key === RESOURCES.length && RESOURCES.every((byte, j) => bytes[key + j] === byte)) {
        if (bytes[value]! >> 5 !== 4) return null;
        const list = itemCount(bytes, value);
        return new ResourceList(bytes, list.at, list.count);
      }
      at = skipItem(bytes, value);
    }
    return null;
  }

  /** The next address; null for an item that is not a text string, undefined once none is left. */
  next(): string | null | undefined {
    const b = this.bytes, at = this.at;
    if (this.left === 0 || (this.left < 0 && b[at] === BREAK)) return undefined;
    if (this.left > 0) this.left--;
    const initial = b[at]!, info = initial & 31;
    // A text of definite length, read in place (the batch's scan checked it
    // lies within the message); any other item is no address (an
    // indefinite, chunked text is none a runtime sends).
    if (initial >> 5 !== 3 || info > 25) {
      this.at = skipItem(b, at);
      return null;
    }
    const start = at + (info < 24 ? 1 : info === 24 ? 2 : 3);
    this.at = start + (info < 24 ? info : info === 24 ? b[at + 1]! : (b[at + 1]! << 8) | b[at + 2]!);
    return utf8.decode(b.subarray(start, this.at));
  }
}
