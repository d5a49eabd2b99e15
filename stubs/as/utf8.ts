// UTF-8 in linear memory, for AssemblyScript stubs: AssemblyScript strings
// are UTF-16 objects, while everything crossing the stub boundary (and CBOR
// text) is UTF-8 bytes. These helpers move between the two without
// allocating where they can.

/** The UTF-8 length of s, lone surrogates counted as U+FFFD (3 bytes). */
export function utf8Length(s: string): usize {
  return <usize>String.UTF8.byteLength(s);
}

/**
 * Writes s as UTF-8 at out (room for utf8Length(s) bytes) and returns the
 * bytes written. A lone surrogate becomes U+FFFD: the host refuses strings
 * that are not UTF-8.
 */
export function writeUtf8(s: string, out: usize): usize {
  return String.UTF8.encodeUnsafe(changetype<usize>(s), s.length, out, false, String.UTF8.ErrorMode.REPLACE);
}

/** A string decoded from the UTF-8 at (ptr, len); allocates. */
export function stringOf(ptr: usize, len: usize): string {
  return String.UTF8.decodeUnsafe(ptr, len);
}

/** Are the UTF-8 bytes at (ptr, len) the text of s? Allocates nothing. */
export function textIs(ptr: usize, len: usize, s: string): bool {
  const n = <usize>s.length;
  // A code unit takes at least one byte, and only an ASCII one takes
  // exactly one: with as many bytes as code units, s must be ASCII (keys,
  // types, the common case) and is compared byte for unit.
  if (n > len) return false;
  if (n == len) {
    for (let i: usize = 0; i < n; i++) {
      const c = <u32>load<u16>(changetype<usize>(s) + (i << 1));
      if (c >= 0x80 || <u32>load<u8>(ptr + i) != c) return false;
    }
    return true;
  }
  if (utf8Length(s) != len) return false;
  const copy = scratch(len);
  writeUtf8(s, copy);
  return memory.compare(copy, ptr, len) == 0;
}

/** A heap copy of (ptr, len), or 0 for no bytes; free it with heap.free. */
export function copyOf(ptr: usize, len: usize): usize {
  if (len == 0) return 0;
  const copy = heap.alloc(len);
  memory.copy(copy, ptr, len);
  return copy;
}

/**
 * Length of the valid UTF-8 sequence starting at p (left bytes readable),
 * or 0 if it is not one: overlong forms, surrogates and code points past
 * U+10FFFF are not UTF-8.
 */
export function utf8Sequence(p: usize, left: usize): usize {
  const c = <u32>load<u8>(p);
  const n: usize = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
  if (n == 0 || n > left || (n == 2 && c < 0xc2) || (n == 4 && c > 0xf4)) return 0;
  let cp: u32 = n == 1 ? c : n == 2 ? c & 0x1f : n == 3 ? c & 0x0f : c & 0x07;
  for (let i: usize = 1; i < n; i++) {
    const b = <u32>load<u8>(p + i);
    if ((b & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3f);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return n;
}

/** Is (ptr, len) valid UTF-8 as a whole? */
export function isUtf8(ptr: usize, len: usize): bool {
  let at: usize = 0;
  while (at < len) {
    // ASCII runs need no decoding.
    if (load<u8>(ptr + at) < 0x80) {
      at++;
      continue;
    }
    const n = utf8Sequence(ptr + at, len - at);
    if (n == 0) return false;
    at += n;
  }
  return true;
}

// One buffer for short-lived conversions (a log line, a comparison), grown
// as needed and handed back once it is large, so memory stays bounded.
let scratchPtr: usize = 0;
let scratchCap: usize = 0;
const SCRATCH_KEPT: usize = 64 * 1024;

/** Room for n bytes, valid until the next call; nothing else may hold it. */
export function scratch(n: usize): usize {
  if (n > scratchCap) {
    if (scratchPtr) heap.free(scratchPtr);
    scratchCap = n < 256 ? 256 : n;
    scratchPtr = heap.alloc(scratchCap);
  }
  return scratchPtr;
}

/** Gives back a scratch buffer grown past what is worth keeping. */
export function trimScratch(): void {
  if (scratchCap > SCRATCH_KEPT) {
    heap.free(scratchPtr);
    scratchPtr = 0;
    scratchCap = 0;
  }
}
