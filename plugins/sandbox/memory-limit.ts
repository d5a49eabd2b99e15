// A stub's linear memory cannot grow past its limit: the core modules'
// memory declarations get a maximum before they are compiled, so
// `memory.grow` past it fails inside the stub and never costs the host.
// (A memory is defined inside the component; there is no way to cap it from
// outside once it is instantiated.)
import { pfError } from '../../kernel/errors.ts';

const PAGE = 65_536;
const MEMORY_SECTION = 5;

export function pagesFor(mib: number): number {
  return Math.max(1, Math.floor((mib * 1024 * 1024) / PAGE));
}

/** Returns the module with every defined memory capped at `maxPages`. */
export function capMemory(module: Uint8Array, maxPages: number): Uint8Array {
  if (module.length < 8 || module[0] !== 0 || module[1] !== 0x61 || module[2] !== 0x73 || module[3] !== 0x6d) {
    throw pfError('PF_ERR_COMPONENT_INVALID', ['a core module is not WebAssembly']);
  }
  const parts: Uint8Array[] = [module.subarray(0, 8)];
  let at = 8;
  while (at < module.length) {
    const start = at;
    const id = module[at++];
    const [size, sizeEnd] = readU32(module, at);
    const contentStart = sizeEnd;
    const contentEnd = contentStart + size;
    if (contentEnd > module.length) throw pfError('PF_ERR_COMPONENT_INVALID', ['a core module section runs past its end']);
    if (id === MEMORY_SECTION) {
      const content = capMemorySection(module.subarray(contentStart, contentEnd), maxPages);
      parts.push(Uint8Array.of(MEMORY_SECTION), Uint8Array.from(writeU32(content.length)), content);
    } else {
      parts.push(module.subarray(start, contentEnd));
    }
    at = contentEnd;
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function capMemorySection(section: Uint8Array, maxPages: number): Uint8Array {
  const [count, afterCount] = readU32(section, 0);
  const out: number[] = [...writeU32(count)];
  let at = afterCount;
  for (let i = 0; i < count; i++) {
    const flags = section[at++];
    if (flags > 3) throw pfError('PF_ERR_COMPONENT_INVALID', ['64-bit memories are not supported']);
    const [min, afterMin] = readU32(section, at);
    at = afterMin;
    let max = Infinity;
    if (flags & 1) {
      const [declared, afterMax] = readU32(section, at);
      max = declared;
      at = afterMax;
    }
    if (min > maxPages) {
      throw pfError('PF_ERR_STUB_MEMORY', [`it needs ${mib(min)} MiB at start, over its ${mib(maxPages)} MiB limit`]);
    }
    out.push(flags | 1, ...writeU32(min), ...writeU32(Math.min(max, maxPages)));
  }
  if (at !== section.length) throw pfError('PF_ERR_COMPONENT_INVALID', ['a memory section has trailing bytes']);
  return Uint8Array.from(out);
}

function mib(pages: number): string {
  return ((pages * PAGE) / (1024 * 1024)).toFixed(1);
}

function readU32(bytes: Uint8Array, at: number): [number, number] {
  let result = 0;
  let shift = 0;
  for (let i = 0; i < 5; i++) {
    if (at >= bytes.length) break;
    const byte = bytes[at++];
    result += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return [result, at];
    shift += 7;
  }
  throw pfError('PF_ERR_COMPONENT_INVALID', ['a malformed LEB128 number in a core module']);
}

function writeU32(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value & 0x7f;
    value = Math.floor(value / 128);
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
  return out;
}
