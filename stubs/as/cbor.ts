// Just enough CBOR (RFC 8949) for AssemblyScript stubs: a bounds-checked
// reader over bytes in linear memory and a writer into a growable buffer,
// the twins of stubs/c/cbor.c. Both are plain objects a stub keeps and
// reuses (reset), so reading and writing messages allocates nothing.
import { utf8Length, writeUtf8, textIs } from "./utf8";

export const UINT: i32 = 0;
export const NEGINT: i32 = 1;
export const BYTES: i32 = 2;
export const TEXT: i32 = 3;
export const ARRAY: i32 = 4;
export const MAP: i32 = 5;
export const TAG: i32 = 6;
export const SIMPLE: i32 = 7;

export const FALSE: u8 = 20;
export const TRUE: u8 = 21;
export const NULL: u8 = 22;
export const UNDEFINED: u8 = 23;

/** The count of an indefinite-length array or map. */
export const INDEFINITE: usize = usize.MAX_VALUE;
/** What CborReader.next returns once a container has no more elements. */
export const END: usize = usize.MAX_VALUE - 1;

const BREAK: u32 = 0xff;

// What the last head decoded (head() below): one reader runs at a time, and
// globals keep the decoding free of allocations and out-parameters.
let headMajor: i32 = 0;
let headArg: u64 = 0;
let headIndefinite = false;

// Decodes the head at p: its major type, argument and whether the length is
// indefinite (only strings, arrays and maps may be). Returns where the head
// ends, or 0 if it is truncated or malformed. The break byte is not a head;
// callers look for it first.
function head(p: usize, end: usize): usize {
  if (p >= end) return 0;
  const ib = <u32>load<u8>(p++);
  const ai = ib & 31;
  headMajor = <i32>(ib >> 5);
  headIndefinite = false;
  if (ai < 24) {
    headArg = ai;
  } else if (ai <= 27) {
    const n: usize = 1 << (ai - 24);
    if (end - p < n) return 0;
    headArg = n == 1 ? <u64>load<u8>(p) : n == 2 ? <u64>bswap(load<u16>(p)) : n == 4 ? <u64>bswap(load<u32>(p)) : bswap(load<u64>(p));
    p += n;
  } else if (ai == 31 && headMajor >= BYTES && headMajor <= MAP) {
    headArg = 0;
    headIndefinite = true;
  } else {
    return 0;  // 28-30 are reserved; 31 elsewhere is malformed
  }
  return p;
}

// Where skip keeps the items still due at each open indefinite level:
// static, as skip never nests.
const SKIP_LEVELS = 16;
const OPEN_ENDED: usize = usize.MAX_VALUE;
const due: usize = memory.data(SKIP_LEVELS * 4, 4);

/**
 * A reader over (ptr, len). Every read returns true and moves past the
 * item, or returns false and leaves the reader where it was (wrong type,
 * truncated or malformed input); after a false, skip() tells a value of
 * another type (it succeeds) from broken input (it fails too). Nothing is
 * ever read outside the bytes given. Results land in fields: text and bytes
 * in (ptr, len), counts in count, numbers in value.
 * Unmanaged, like CborWriter and CborText: the collector never sees it, so
 * passing it around costs no bookkeeping. Keep one and reset() it for each
 * input rather than making one each time (one made for once is given back
 * with heap.free(changetype<usize>(r))).
 */
@final @unmanaged export class CborReader {
  p: usize = 0;
  end: usize = 0;
  /** The string read, or the item take() spanned. */
  ptr: usize = 0;
  len: usize = 0;
  /** Elements of an array, pairs of a map, or INDEFINITE. */
  count: usize = 0;
  /** An unsigned integer or a simple value. */
  value: u64 = 0;
  /** Set when next() found the input ending inside a container. */
  broken: bool = false;

  constructor(ptr: usize = 0, len: usize = 0) {
    this.reset(ptr, len);
  }

  reset(ptr: usize, len: usize): CborReader {
    this.p = ptr;
    this.end = ptr + len;
    this.broken = false;
    return this;
  }

  atEnd(): bool {
    return this.p >= this.end;
  }

  /** The major type of the next item, or -1 at the end of input. */
  peek(): i32 {
    return this.p < this.end ? <i32>(load<u8>(this.p) >> 5) : -1;
  }

  // Reads one definite head of the wanted major type into value, or nothing.
  private expect(major: i32): bool {
    const p = head(this.p, this.end);
    if (!p || headMajor != major || headIndefinite) return false;
    this.p = p;
    this.value = headArg;
    return true;
  }

  readUint(): bool {
    return this.expect(UINT);
  }

  private readString(major: i32): bool {
    // Most strings in messages are short: a head of one byte, or of two
    // (addresses run past 23 bytes), read here.
    const at = this.p;
    if (at < this.end) {
      const ib = <u32>load<u8>(at);
      const ai = ib & 31;
      if (ib >> 5 == <u32>major && ai <= 24) {
        const start = at + (ai < 24 ? 1 : 2);
        if (start > this.end) return false;
        const n = ai < 24 ? <usize>ai : <usize>load<u8>(at, 1);
        if (n > this.end - start) return false;
        this.ptr = start;
        this.len = n;
        this.p = start + n;
        return true;
      }
    }
    const p = head(this.p, this.end);
    if (!p || headMajor != major || headIndefinite || headArg > <u64>(this.end - p)) return false;
    this.ptr = p;
    this.len = <usize>headArg;
    this.p = p + this.len;
    return true;
  }

  /** A definite-length text string, into (ptr, len); points into the input. */
  readText(): bool {
    return this.readString(TEXT);
  }

  readBytes(): bool {
    return this.readString(BYTES);
  }

  /** Is the next item the text s? Consumes it only if so. */
  readTextIs(s: string): bool {
    const at = this.p;
    if (!this.readText()) return false;
    if (textIs(this.ptr, this.len, s)) return true;
    this.p = at;
    return false;
  }

  /** Simple values into value: FALSE, TRUE, NULL, UNDEFINED or others < 256. */
  readSimple(): bool {
    if (this.p >= this.end || (load<u8>(this.p) & 31) > 24) return false;  // 25-27 are floats
    return this.expect(SIMPLE);
  }

  // Every element takes at least one byte (a map pair two), so a count
  // beyond what is left is a lie, refused before anyone loops over it.
  private readContainer(major: i32): bool {
    // Messages are small maps: a one-byte head, read here.
    if (this.p < this.end) {
      const ib = <u32>load<u8>(this.p);
      const n = <usize>(ib & 31);
      if (ib >> 5 == <u32>major && n < 24) {
        if (n > (this.end - this.p - 1) / (major == MAP ? 2 : 1)) return false;
        this.count = n;
        this.p++;
        return true;
      }
    }
    const p = head(this.p, this.end);
    if (!p || headMajor != major) return false;
    if (headIndefinite) {
      this.count = INDEFINITE;
    } else {
      const per: u64 = major == MAP ? 2 : 1;
      if (headArg > <u64>(this.end - p) / per) return false;
      this.count = <usize>headArg;
    }
    this.p = p;
    return true;
  }

  readArray(): bool {
    return this.readContainer(ARRAY);
  }

  readMap(): bool {
    return this.readContainer(MAP);
  }

  /**
   * Steps through a container opened above: given the count of elements
   * still due (count, at first), returns the count due after the next
   * element, or END when there is none (the break ending an indefinite
   * container is consumed then):
   *   for (let n = r.count; (n = r.next(n)) != END;) { …read one element… }
   * END with broken set: the input ended first.
   */
  next(remaining: usize): usize {
    if (remaining == 0 || remaining == END) return END;
    if (this.p >= this.end) {
      this.broken = true;
      return END;
    }
    if (remaining != INDEFINITE) return remaining - 1;
    if (<u32>load<u8>(this.p) != BREAK) return INDEFINITE;
    this.p++;
    return END;
  }

  /**
   * Skips one whole item of any type, however nested. Iterative, so
   * hostile nesting cannot exhaust the stack: definite containers only add
   * to the count of items still due at the current level; a new level is
   * opened only for indefinite ones, which end with a break.
   */
  skip(): bool {
    let p = this.p;
    const end = this.end;
    // Most items a stub skips are small integers or short strings: one
    // byte of head and no nesting, so they need none of the machinery below.
    if (p < end && (load<u8>(p) & 31) < 24) {
      const major = <i32>(load<u8>(p) >> 5);
      const n = <usize>(load<u8>(p) & 31);
      if (major <= NEGINT || major == SIMPLE) {
        this.p = p + 1;
        return true;
      }
      if ((major == TEXT || major == BYTES) && n <= end - p - 1) {
        this.p = p + 1 + n;
        return true;
      }
    }
    let level = 0;
    store<usize>(due, 1);
    while (true) {
      while (load<usize>(due + (<usize>level << 2)) == 0) {
        if (level == 0) {
          this.p = p;
          return true;
        }
        level--;
      }
      let slot = due + (<usize>level << 2);
      if (p >= end) return false;
      if (<u32>load<u8>(p) == BREAK) {
        if (load<usize>(slot) != OPEN_ENDED) return false;
        p++;
        store<usize>(slot, 0);
        continue;
      }
      p = head(p, end);
      if (!p) return false;
      if (load<usize>(slot) != OPEN_ENDED) store<usize>(slot, load<usize>(slot) - 1);
      if (headIndefinite) {
        if (++level == SKIP_LEVELS) return false;
        store<usize>(due + (<usize>level << 2), OPEN_ENDED);
        continue;
      }
      const left = end - p;
      let children: usize = 0;
      if (headMajor == TAG) {
        children = 1;
      } else if (headMajor >= BYTES && headMajor <= MAP) {
        // Every element takes a byte at least (a map pair two): more than
        // are left is a lie.
        if (headArg > <u64>(headMajor == MAP ? left >> 1 : left)) return false;
        if (headMajor <= TEXT) p += <usize>headArg;
        else children = headMajor == MAP ? <usize>headArg << 1 : <usize>headArg;
      }  // integers, simple values and floats are all head
      if (!children) continue;
      if (load<usize>(slot) == OPEN_ENDED) {
        if (++level == SKIP_LEVELS) return false;
        slot = due + (<usize>level << 2);
        store<usize>(slot, 0);
      }
      if (children > left || load<usize>(slot) > left - children) return false;
      store<usize>(slot, load<usize>(slot) + children);
    }
    return false;  // not reached: the loop returns
  }

  /** Skips one item and spans its bytes in (ptr, len), for copying it unchanged. */
  take(): bool {
    const start = this.p;
    if (!this.skip()) return false;
    this.ptr = start;
    this.len = this.p - start;
    return true;
  }
}

/**
 * A constant text, UTF-8 encoded once (at start-up, as a module-level
 * const): compared and written without converting a string each time,
 * which is what a stub's hot path wants for keys and fixed values.
 *   const TYPE = CborText.of("type");
 *   if (r.readText() && TYPE.is(r.ptr, r.len)) …;  w.putRaw(TYPE.item, TYPE.itemLen);
 */
@final @unmanaged export class CborText {
  /** The whole CBOR text string: head, then the UTF-8. */
  item: usize = 0;
  itemLen: usize = 0;
  /** The UTF-8 alone. */
  ptr: usize = 0;
  len: usize = 0;

  static of(s: string): CborText {
    const t = new CborText();
    t.len = utf8Length(s);
    t.item = heap.alloc(t.len + 9);
    t.itemLen = encodeHead(t.item, TEXT, t.len) + t.len;
    t.ptr = t.item + t.itemLen - t.len;
    writeUtf8(s, t.ptr);
    return t;
  }

  /** Are the UTF-8 bytes at (ptr, len) this text? */
  @inline is(ptr: usize, len: usize): bool {
    return len == this.len && memory.compare(ptr, this.ptr, len) == 0;
  }
}

// Room for the longest head: the outer item's head of a reserved batch goes
// in front of its elements once their count is known (finishHead).
const RESERVED: usize = 9;

/**
 * Writes into a buffer that grows as needed (from the heap; running out of
 * memory traps, as AssemblyScript's allocator does). reset() keeps the
 * buffer for the next message; release() gives it back. Unmanaged: keep one.
 */
@final @unmanaged export class CborWriter {
  data: usize = 0;
  len: usize = 0;
  cap: usize = 0;

  /** Empties the writer, keeping its buffer unless it grew past keep bytes. */
  reset(keep: usize = 1 << 20): void {
    if (this.cap > keep) this.release();
    this.len = 0;
  }

  release(): void {
    heap.free(this.data);
    this.data = 0;
    this.len = 0;
    this.cap = 0;
  }

  /** Makes room for n more bytes up front: one allocation instead of several. */
  @inline reserve(n: usize): void {
    if (n > this.cap - this.len) this.grow(n);
  }

  private grow(n: usize): void {
    let want = this.cap ? this.cap : 64;
    while (want - this.len < n) want <<= 1;
    this.data = this.data ? heap.realloc(this.data, want) : heap.alloc(want);
    this.cap = want;
  }

  /** Where the bytes written end. */
  end(): usize {
    return this.data + this.len;
  }

  putRaw(ptr: usize, len: usize): void {
    this.reserve(len);
    copyBytes(this.data + this.len, ptr, len);
    this.len += len;
  }

  putHead(major: i32, arg: u64): void {
    this.reserve(9);
    if (arg < 24) {  // most heads: one byte, written in place
      store<u8>(this.data + this.len++, (<u32>major << 5) | <u32>arg);
      return;
    }
    this.len += encodeHead(this.data + this.len, major, arg);
  }

  putUint(v: u64): void {
    this.putHead(UINT, v);
  }

  /** A text string from UTF-8 bytes. */
  putText(ptr: usize, len: usize): void {
    this.putHead(TEXT, len);
    this.putRaw(ptr, len);
  }

  /** A text string from an AssemblyScript string (lone surrogates become U+FFFD). */
  putString(s: string): void {
    this.putHead(TEXT, utf8Length(s));
    this.putUtf8(s);
  }

  /** The UTF-8 of s with no head: part of a text whose head is written. */
  putUtf8(s: string): void {
    this.reserve(utf8Length(s));
    this.len += writeUtf8(s, this.data + this.len);
  }

  putBytes(ptr: usize, len: usize): void {
    this.putHead(BYTES, len);
    this.putRaw(ptr, len);
  }

  putArray(count: usize): void {
    this.putHead(ARRAY, count);
  }

  putMap(count: usize): void {
    this.putHead(MAP, count);
  }

  putSimple(v: u8): void {
    this.reserve(2);
    if (v < 24) {
      store<u8>(this.data + this.len++, 0xe0 | v);
    } else {
      store<u16>(this.data + this.len, 0xf8 | (<u16>v << 8));
      this.len += 2;
    }
  }

  /**
   * For an outer array or map whose size is known only at the end (a
   * batch that skips some messages): reserveHead() on an empty writer,
   * write the elements, then finishHead() puts the smallest head right
   * before them and returns where the whole item starts (it ends at end()).
   */
  reserveHead(): void {
    this.reserve(RESERVED);
    memory.fill(this.data + this.len, 0, RESERVED);
    this.len += RESERVED;
  }

  finishHead(major: i32, count: u64): usize {
    const h = memory.data(9);
    const n = encodeHead(h, major, count);
    const start = this.data + RESERVED - n;
    memory.copy(start, h, n);
    return start;
  }
}

// Most of what a writer copies is a few bytes (keys, ids, short texts), for
// which a word or two of loads and stores beats memory.copy, a call out of
// the engine's compiled code in V8.
@inline function copyBytes(dst: usize, src: usize, n: usize): void {
  if (n >= 8 && n <= 16) {
    // Two possibly overlapping words cover any length from 8 to 16.
    store<u64>(dst, load<u64>(src));
    store<u64>(dst + n - 8, load<u64>(src + n - 8));
  } else if (n >= 4 && n < 8) {
    store<u32>(dst, load<u32>(src));
    store<u32>(dst + n - 4, load<u32>(src + n - 4));
  } else if (n < 4) {
    for (let i: usize = 0; i < n; i++) store<u8>(dst + i, load<u8>(src + i));
  } else {
    memory.copy(dst, src, n);
  }
}

// The shortest head for the argument, as deterministic encoding asks.
function encodeHead(out: usize, major: i32, arg: u64): usize {
  const mt = <u32>major << 5;
  if (arg < 24) {
    store<u8>(out, mt | <u32>arg);
    return 1;
  }
  if (arg <= 0xff) {
    store<u8>(out, mt | 24);
    store<u8>(out, <u8>arg, 1);
    return 2;
  }
  if (arg <= 0xffff) {
    store<u8>(out, mt | 25);
    store<u16>(out, bswap(<u16>arg), 1);
    return 3;
  }
  if (arg <= 0xffffffff) {
    store<u8>(out, mt | 26);
    store<u32>(out, bswap(<u32>arg), 1);
    return 5;
  }
  store<u8>(out, mt | 27);
  store<u64>(out, bswap(arg), 1);
  return 9;
}
