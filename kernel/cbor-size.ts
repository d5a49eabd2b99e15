// Whether a value's CBOR is larger than a limit, without encoding it in the
// common case: one walk gives a lower and an upper bound of the encoded size;
// only a value whose bounds straddle the limit is encoded to know exactly.
// (A message is checked on every postMessage: most are far below the limit,
// and a 50 MB one is known to be over from its byte length alone.)
import { encodeCbor } from './cbor.ts';

/** A head (major type and length) is 1 to 9 bytes. */
const HEAD_MAX = 9;

export function cborLargerThan(value: unknown, limit: number): boolean {
  let low = 0;
  let high = 0;
  const stack: unknown[] = [value];
  while (stack.length) {
    const item = stack.pop();
    low += 1;
    high += HEAD_MAX;
    if (typeof item === 'string') {
      // UTF-16 units → UTF-8 bytes: at least one each, at most three.
      low += item.length;
      high += item.length * 3;
    } else if (ArrayBuffer.isView(item)) {
      low += item.byteLength;
      high += item.byteLength;
    } else if (item instanceof ArrayBuffer) {
      low += item.byteLength;
      high += item.byteLength;
    } else if (Array.isArray(item)) {
      for (let i = 0; i < item.length; i++) stack.push(item[i]);
    } else if (item !== null && typeof item === 'object') {
      for (const key in item) {
        if (!Object.prototype.hasOwnProperty.call(item, key)) continue;
        stack.push(key, (item as Record<string, unknown>)[key]);
      }
    }
    // Surely over (a cycle ends here too: it only adds).
    if (low > limit) return true;
  }
  if (high <= limit) return false;
  return encodeCbor(value).byteLength > limit;
}
