// RFC 8785 JSON Canonicalization Scheme (JCS): one text for a JSON value
// however it was spelled on the wire, so a signature over it survives
// re-indentation and key reordering.
// - Object members sorted by their names as arrays of UTF-16 code units
//   (§3.2.3), not by locale or code point; no whitespace anywhere (§3.2.1).
// - Numbers as ECMAScript's Number::toString writes them (§3.2.2.3), which
//   is exactly String(n) in JavaScript; NaN and the infinities are not JSON.
// - Strings with the escapes of §3.2.2.2 and nothing else escaped.
// - I-JSON input only (§3.1, RFC 7493): a string or name with a lone
//   surrogate cannot be canonicalized.
// Anything else (undefined in an array, bigint, a Date, a class instance)
// throws a TypeError; an object member whose value is undefined is left out,
// as JSON.stringify leaves it out of what goes on the wire.

/** Nesting deeper than this throws: a descriptor has no use for it, and it bounds the recursion. */
export const MAX_DEPTH = 64;

export function canonicalJson(value: unknown): string {
  return serialize(value, 0);
}

function serialize(value: unknown, depth: number): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`${value} is not a JSON number`);
      return String(value); // also turns -0 into "0", as §3.2.2.3 wants
    case 'string':
      return quote(value);
    case 'object':
      break;
    default:
      throw new TypeError(`a ${typeof value} is not a JSON value`);
  }
  if (depth >= MAX_DEPTH) throw new TypeError(`nested deeper than ${MAX_DEPTH} levels`);
  if (Array.isArray(value)) {
    return `[${value.map((item) => {
      if (item === undefined) throw new TypeError('undefined in an array is not a JSON value');
      return serialize(item, depth + 1);
    }).join(',')}]`;
  }
  const prototype = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) throw new TypeError(`a ${prototype?.constructor?.name ?? 'non-plain'} object is not a JSON value`);
  const record = value as Record<string, unknown>;
  const names = Object.keys(record).filter((name) => record[name] !== undefined).sort(byCodeUnits);
  return `{${names.map((name) => `${quote(name)}:${serialize(record[name], depth + 1)}`).join(',')}}`;
}

/** JavaScript's < on strings compares UTF-16 code units, which is the order §3.2.3 asks for. */
function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// A lone surrogate: a high one not followed by a low one, or a low one not after a high one.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

// §3.2.2.2 is JSON.stringify's string escaping (ES2019 and later), which
// escapes a lone surrogate instead of refusing it: that one case is checked
// first. Native, where a loop in JavaScript took milliseconds over a
// component carried inside its descriptor.
function quote(text: string): string {
  const lone = LONE_SURROGATE.exec(text);
  if (lone) throw new TypeError(`a lone surrogate (\\u${lone[0].charCodeAt(0).toString(16)}) is not I-JSON`);
  return JSON.stringify(text);
}
