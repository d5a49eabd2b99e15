// Messages from the broker gathered into one CBOR array for `post`, as the
// bytes they came in: each is copied once, after room left for the array's
// head, which is written in front of them when the batch is taken. The
// buffer is kept from call to call (the host copies a batch at once), so a
// publication costs no allocation here.

// The longest array head written: 0x9a and a 32-bit count.
const HEAD_ROOM = 5;
const INITIAL_BYTES = 16 * 1024;
// A buffer grown past this for a large message is not kept for the next.
const KEPT_BYTES = 256 * 1024;

export class BatchWriter {
  private buffer = new Uint8Array(INITIAL_BYTES);
  private length = HEAD_ROOM;
  private items = 0;

  get count(): number {
    return this.items;
  }

  /** Adds the item from `start` to `end` of `bytes` (one whole CBOR item). */
  add(bytes: Uint8Array, start: number, end: number): void {
    const size = end - start;
    if (this.length + size > this.buffer.length) this.grow(size);
    this.buffer.set(bytes.subarray(start, end), this.length);
    this.length += size;
    this.items++;
  }

  /** The batch of what was added, valid until the next add; the writer starts empty again. */
  take(): Uint8Array {
    const b = this.buffer, n = this.items;
    let at: number;
    if (n < 24) { at = HEAD_ROOM - 1; b[at] = 0x80 | n; }
    else if (n < 0x100) { at = HEAD_ROOM - 2; b[at] = 0x98; b[at + 1] = n; }
    else if (n < 0x10000) { at = HEAD_ROOM - 3; b[at] = 0x99; b[at + 1] = n >> 8; b[at + 2] = n & 0xff; }
    else { at = 0; b[0] = 0x9a; b[1] = (n >>> 24) & 0xff; b[2] = (n >> 16) & 0xff; b[3] = (n >> 8) & 0xff; b[4] = n & 0xff; }
    const batch = b.subarray(at, this.length);
    this.length = HEAD_ROOM;
    this.items = 0;
    if (b.length > KEPT_BYTES) this.buffer = new Uint8Array(INITIAL_BYTES);
    return batch;
  }

  private grow(size: number): void {
    let capacity = this.buffer.length * 2;
    while (capacity < this.length + size) capacity *= 2;
    const grown = new Uint8Array(capacity);
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
  }
}
