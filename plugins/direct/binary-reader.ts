// A bounds-checked cursor over WebAssembly binaries (core modules and
// components): LEB128 numbers, names, vectors. Every read past the end
// throws, so a malformed binary is refused, never misread.

export class Malformed extends Error {}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

export class BinaryReader {
  at: number;
  constructor(readonly bytes: Uint8Array, start = 0, readonly end = bytes.length) {
    this.at = start;
  }

  get done(): boolean {
    return this.at >= this.end;
  }

  byte(): number {
    if (this.at >= this.end) throw new Malformed('unexpected end');
    return this.bytes[this.at++];
  }

  u32(): number {
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const byte = this.byte();
      result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) {
        if (result > 0xffffffff) throw new Malformed('u32 out of range');
        return result;
      }
    }
    throw new Malformed('LEB128 too long');
  }

  /** s33 type indices: only the non-negative ones are indices. */
  s33(): number {
    let result = 0;
    let shift = 0;
    let byte: number;
    do {
      byte = this.byte();
      result += (byte & 0x7f) * 2 ** shift;
      shift += 7;
      if (shift > 35) throw new Malformed('LEB128 too long');
    } while (byte & 0x80);
    if (byte & 0x40) result -= 2 ** shift;
    return result;
  }

  take(length: number): Uint8Array {
    if (length > this.end - this.at) throw new Malformed('a length runs past the end');
    const slice = this.bytes.subarray(this.at, this.at + length);
    this.at += length;
    return slice;
  }

  name(): string {
    const bytes = this.take(this.u32());
    try {
      return strictUtf8.decode(bytes);
    } catch {
      throw new Malformed('a name that is not UTF-8');
    }
  }

  vec<T>(item: () => T): T[] {
    const count = this.u32();
    if (count > this.end - this.at) throw new Malformed('a vector longer than its bytes');
    const items: T[] = [];
    for (let i = 0; i < count; i++) items.push(item());
    return items;
  }

  /** Top-level sections after an 8-byte preamble: id and content. */
  sections(): Array<{ id: number; body: BinaryReader }> {
    const found = [];
    while (!this.done) {
      const id = this.byte();
      const size = this.u32();
      const start = this.at;
      this.take(size);
      found.push({ id, body: new BinaryReader(this.bytes, start, start + size) });
    }
    return found;
  }
}
