// A byte ring in shared memory with one writer thread and one reader thread:
// records cross without a structured clone and without waiting for the
// other thread's event loop, when that thread is looking. Each record is a
// 4-byte length and its bytes, 4-aligned, never split across the end (a
// record that would be is preceded by a wrap mark).
//
// The header's words: HEAD (bytes written, free-running), TAIL (bytes read),
// and two flags for wake-ups, see channel.ts: the reader SLEEPING on HEAD,
// the writer WAITING for room on TAIL.

export const HEAD = 0;
export const TAIL = 1;
export const SLEEPING = 2;
export const WAITING = 3;
const HEADER_BYTES = 16;
const WRAP = 0xffffffff;

export interface RingMemory {
  /** The header words, for Atomics. */
  control: Int32Array;
  data: Uint8Array;
  view: DataView;
  /** Data bytes, a power of two. */
  capacity: number;
}

export function createRing(capacity: number): SharedArrayBuffer {
  if (capacity < 64 || (capacity & (capacity - 1)) !== 0) throw new Error(`a ring's capacity is a power of two ≥ 64, not ${capacity}`);
  return new SharedArrayBuffer(HEADER_BYTES + capacity);
}

export function openRing(buffer: SharedArrayBuffer): RingMemory {
  const capacity = buffer.byteLength - HEADER_BYTES;
  return {
    control: new Int32Array(buffer, 0, HEADER_BYTES / 4),
    data: new Uint8Array(buffer, HEADER_BYTES, capacity),
    view: new DataView(buffer, HEADER_BYTES, capacity),
    capacity,
  };
}

const align = (n: number) => (n + 3) & ~3;

/** The largest record a ring of this capacity can take. */
export function maxRecord(capacity: number): number {
  return capacity / 2 - 4;
}

export class RingWriter {
  private readonly ring: RingMemory;
  private head: number;

  constructor(buffer: SharedArrayBuffer) {
    this.ring = openRing(buffer);
    this.head = Atomics.load(this.ring.control, HEAD) >>> 0;
  }

  get memory(): RingMemory { return this.ring; }

  /**
   * Room for a record of `length` bytes: its offset in `memory.data`, or -1
   * when the reader has not yet freed enough. Nothing is visible to the
   * reader until `publish`.
   */
  claim(length: number): number {
    const { capacity, view, control } = this.ring;
    const size = 4 + align(length);
    const tail = Atomics.load(control, TAIL) >>> 0;
    const used = (this.head - tail) >>> 0;
    let at = this.head & (capacity - 1);
    const toEnd = capacity - at;
    // Whatever is left before the end is skipped when the record would not fit there.
    const needed = size <= toEnd ? size : toEnd + size;
    if (used + needed > capacity) return -1;
    if (size > toEnd) {
      view.setUint32(at, WRAP, true);
      this.head = (this.head + toEnd) >>> 0;
      at = 0;
    }
    view.setUint32(at, length, true);
    this.claimed = size;
    return at + 4;
  }

  private claimed = 0;

  /** Makes the claimed record visible to the reader. */
  publish(): void {
    this.head = (this.head + this.claimed) >>> 0;
    this.claimed = 0;
    Atomics.store(this.ring.control, HEAD, this.head | 0);
  }
}

export class RingReader {
  private readonly ring: RingMemory;
  private tail: number;

  constructor(buffer: SharedArrayBuffer) {
    this.ring = openRing(buffer);
    this.tail = Atomics.load(this.ring.control, TAIL) >>> 0;
  }

  get memory(): RingMemory { return this.ring; }

  /** Whether a record waits. */
  ready(): boolean {
    return (Atomics.load(this.ring.control, HEAD) >>> 0) !== this.tail;
  }

  /** The next record as [offset in `memory.data`, length], or undefined; it stays until `release`. */
  next(): [number, number] | undefined {
    const { capacity, view, control } = this.ring;
    const head = Atomics.load(control, HEAD) >>> 0;
    if (head === this.tail) return undefined;
    let at = this.tail & (capacity - 1);
    let length = view.getUint32(at, true);
    if (length === WRAP) {
      this.tail = (this.tail + capacity - at) >>> 0;
      at = 0;
      length = view.getUint32(0, true);
    }
    this.size = 4 + align(length);
    return [at + 4, length];
  }

  private size = 0;

  /** Frees the record `next` returned. */
  release(): void {
    this.tail = (this.tail + this.size) >>> 0;
    this.size = 0;
    Atomics.store(this.ring.control, TAIL, this.tail | 0);
  }
}
