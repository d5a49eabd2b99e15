// What the canonical ABI asks of a (pointer, length) a stub hands the host,
// checked the same way on both paths into a stub: the direct path's
// hand-written lifting (direct-instance.ts) and the guard around jco's glue
// (jco-abi-guard.ts). A stub that lies gets PF_ERR_ABI whichever it takes.

/** The stub broke the canonical ABI; the guest reports it as PF_ERR_ABI. */
export class AbiViolation extends Error {
  readonly code = 'PF_ERR_ABI';
}

/** `len` bytes at `ptr`, aligned to `align`, lie inside a memory of `size` bytes. */
export function checkRange(size: number, ptr: number, len: number, align: number, what: string): void {
  if (ptr % align !== 0) throw new AbiViolation(`${what}: pointer ${ptr} is not ${align}-aligned`);
  if (ptr + len > size) throw new AbiViolation(`${what}: ${len} bytes at ${ptr} run past the stub's ${size}-byte memory`);
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** A string the stub handed over: valid UTF-8, never repaired into U+FFFD. */
export function decodeUtf8(bytes: Uint8Array, what: string): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    throw new AbiViolation(`${what}: not valid UTF-8`);
  }
}
