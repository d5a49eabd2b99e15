// Whether a value's CBOR is larger than a limit, without encoding it in the
// common case: one walk gives a lower and an upper bound of the encoded size;
// only a value whose bounds straddle the limit is encoded to know exactly.
// (A message is checked on every postMessage: most are far below the limit,
// and a 50 MB one is known to be over from its byte length alone.)
import { encodeCbor } from './cbor.ts';

/** A head (major type and length) is 1 to 9 bytes. */
const HEAD_MAX = 9;

export function cborLargerThan(value: unknown, limit: number): boolean {
  // The common case first: a small message's upper bound alone, summed by
  // recursion (no stack array), settles it.
  if (within(value, limit, 0) >= 0) return false;
  return boundsLargerThan(value, limit);
}

/** Nesting the quick walk takes before it leaves a value to the careful one. */
const MAX_QUICK_DEPTH = 32;

/** What is left of `budget` after the upper bound of `item`'s size, or -1 once it is spent (or the value is too deep to tell). */
function within(item: unknown, budget: number, depth: number): number {
  budget -= HEAD_MAX;
  if (typeof item === 'string') budget -= item.length * 3;
  else if (item === null || typeof item !== 'object') return budget;
  else if (depth >= MAX_QUICK_DEPTH) return -1;
  else if (ArrayBuffer.isView(item) || item instanceof ArrayBuffer) budget -= item.byteLength;
  else if (Array.isArray(item)) {
    for (let i = 0; i < item.length && budget >= 0; i++) budget = within(item[i], budget, depth + 1);
  } else {
    for (const key in item) {
      if (!Object.prototype.hasOwnProperty.call(item, key)) continue;
      budget = within((item as Record<string, unknown>)[key], budget - HEAD_MAX - key.length * 3, depth + 1);
      if (budget < 0) break;
    }
  }
  return budget;
}

function boundsLargerThan(value: unknown, limit: number): boolean {
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
