// Just enough CBOR (RFC 8949) for messages, with no dependency so the stub
// folder builds anywhere. The decoder trusts nothing: every length is checked
// against the bytes left and nesting is bounded, so garbage throws an Error
// (which the callers catch) and never exhausts memory or the stack.
const MAX_DEPTH = 64;
const utf8 = new TextEncoder();
const text = new TextDecoder();

export function decodeCbor(bytes: Uint8Array): unknown {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;

  function need(n: number): void {
    if (n > bytes.length - at) throw new Error('CBOR ends early');
  }

  function argument(info: number): number {
    if (info < 24) return info;
    const size = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : 0;
    if (!size) throw new Error(`CBOR reserved additional info ${info}`);
    need(size);
    const value = size === 1 ? view.getUint8(at) : size === 2 ? view.getUint16(at) : size === 4 ? view.getUint32(at) : Number(view.getBigUint64(at));
    at += size;
    return value;
  }

  function item(depth: number): unknown {
    if (depth > MAX_DEPTH) throw new Error('CBOR nested too deep');
    need(1);
    const head = bytes[at++]!;
    const major = head >> 5;
    const info = head & 0x1f;
    if (info === 31) return indefinite(major, depth);
    if (major === 7) return simple(info);
    const n = argument(info);
    switch (major) {
      case 0: return n;
      case 1: return -1 - n;
      case 2: need(n); at += n; return bytes.slice(at - n, at);
      case 3: need(n); at += n; return text.decode(bytes.subarray(at - n, at));
      case 4: {
        need(n);  // every element takes at least one byte
        const out: unknown[] = [];
        for (let i = 0; i < n; i++) out.push(item(depth + 1));
        return out;
      }
      case 5: {
        need(n * 2);
        const out: Record<string, unknown> = {};
        for (let i = 0; i < n; i++) {
          const key = String(item(depth + 1));
          out[key] = item(depth + 1);
        }
        return out;
      }
      default: return item(depth + 1);  // a tag: its content stands for it
    }
  }

  function indefinite(major: number, depth: number): unknown {
    const isBreak = () => { need(1); return bytes[at] === 0xff && (at++, true); };
    if (major === 4) {
      const out: unknown[] = [];
      while (!isBreak()) out.push(item(depth + 1));
      return out;
    }
    if (major === 5) {
      const out: Record<string, unknown> = {};
      while (!isBreak()) {
        const key = String(item(depth + 1));
        out[key] = item(depth + 1);
      }
      return out;
    }
    if (major === 2 || major === 3) {
      const chunks: Uint8Array[] = [];
      while (!isBreak()) {
        const chunk = item(depth + 1);
        if (!(chunk instanceof Uint8Array) && typeof chunk !== 'string') throw new Error('CBOR bad string chunk');
        chunks.push(typeof chunk === 'string' ? utf8.encode(chunk) : chunk);
      }
      const joined = new Uint8Array(chunks.reduce((s, c) => s + c.length, 0));
      let offset = 0;
      for (const c of chunks) { joined.set(c, offset); offset += c.length; }
      return major === 3 ? text.decode(joined) : joined;
    }
    throw new Error('CBOR unexpected break or indefinite length');
  }

  function simple(info: number): unknown {
    switch (info) {
      case 20: return false;
      case 21: return true;
      case 22: return null;
      case 23: return undefined;
      case 24: need(1); return { simple: bytes[at++] };
      case 25: { need(2); const v = half(view.getUint16(at)); at += 2; return v; }
      case 26: { need(4); const v = view.getFloat32(at); at += 4; return v; }
      case 27: { need(8); const v = view.getFloat64(at); at += 8; return v; }
      default:
        if (info < 20) return { simple: info };
        throw new Error(`CBOR reserved simple value ${info}`);
    }
  }

  const value = item(0);
  if (at !== bytes.length) throw new Error('CBOR has trailing bytes');
  return value;
}

function half(bits: number): number {
  const exp = (bits >> 10) & 0x1f;
  const mant = bits & 0x3ff;
  const sign = bits & 0x8000 ? -1 : 1;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 31) return mant ? NaN : sign * Infinity;
  return sign * (mant + 1024) * 2 ** (exp - 25);
}

export function encodeCbor(value: unknown): Uint8Array {
  const out: number[] = [];
  const head = (major: number, n: number) => {
    const m = major << 5;
    if (n < 24) out.push(m | n);
    else if (n < 0x100) out.push(m | 24, n);
    else if (n < 0x10000) out.push(m | 25, n >> 8, n & 0xff);
    else if (n < 0x100000000) out.push(m | 26, n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
    else {
      const high = Math.floor(n / 0x100000000);
      out.push(m | 27, high >>> 24, (high >> 16) & 0xff, (high >> 8) & 0xff, high & 0xff, n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
    }
  };
  const write = (v: unknown): void => {
    if (v === null || v === undefined) out.push(v === null ? 0xf6 : 0xf7);
    else if (typeof v === 'boolean') out.push(v ? 0xf5 : 0xf4);
    else if (typeof v === 'number') {
      if (Number.isSafeInteger(v)) head(v < 0 ? 1 : 0, v < 0 ? -1 - v : v);
      else {
        const bytes = new Uint8Array(8);
        new DataView(bytes.buffer).setFloat64(0, v);
        out.push(0xfb, ...bytes);
      }
    } else if (typeof v === 'string') {
      const bytes = utf8.encode(v);
      head(3, bytes.length);
      for (const b of bytes) out.push(b);
    } else if (v instanceof Uint8Array) {
      head(2, v.length);
      for (const b of v) out.push(b);
    } else if (Array.isArray(v)) {
      head(4, v.length);
      v.forEach(write);
    } else if (typeof v === 'object') {
      const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
      head(5, entries.length);
      for (const [k, x] of entries) { write(k); write(x); }
    } else {
      throw new Error(`cannot encode a ${typeof v} as CBOR`);
    }
  };
  write(value);
  return Uint8Array.from(out);
}
