// The top level of a WebAssembly binary as wasmsign2 reads and writes it
// (src/lib/src/wasm_module/mod.rs): an 8-byte preamble, then sections, each
// an id byte, a LEB128 size and that many bytes; a custom section (id 0)
// starts with a LEB128-prefixed UTF-8 name. A component differs from a core
// module only in its preamble (version 0x0d, layer 1): everything in it,
// nested modules and components too, lies inside its top-level sections, so
// signing those covers all of it.

import { BinaryReader, Malformed } from '../direct/binary-reader.ts';

export const CORE_MODULE_PREAMBLE = Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00);
export const COMPONENT_PREAMBLE = Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00);
export const PREAMBLE_BYTES = 8;

export interface Section {
  readonly id: number;
  /** Where the section lies in the binary, from its id byte to past its last byte. */
  readonly start: number;
  readonly end: number;
  readonly contents: Uint8Array;
  /** A custom section's name and the bytes after the name. */
  readonly custom?: { readonly name: string; readonly payload: Uint8Array };
}

/** Which of the two preambles wasmsign2 accepts (`Module::init_from_reader`) the binary starts with. */
export function readPreamble(bytes: Uint8Array): 'module' | 'component' {
  const preamble = bytes.subarray(0, PREAMBLE_BYTES);
  if (same(preamble, CORE_MODULE_PREAMBLE)) return 'module';
  if (same(preamble, COMPONENT_PREAMBLE)) return 'component';
  throw new Malformed('not a WebAssembly core module or component (unknown preamble)');
}

/** The section starting at `at`. Bounded: a size past the end throws, and nothing is copied. */
export function readSection(bytes: Uint8Array, at: number): Section {
  const reader = new BinaryReader(bytes, at);
  const id = reader.byte();
  // wasmsign2 reads the id with `varint::get7`, which refuses a set high bit.
  if (id & 0x80) throw new Malformed(`section id 0x${id.toString(16)} at byte ${at}`);
  const contents = reader.take(reader.u32());
  const section = { id, start: at, end: reader.at };
  if (id !== 0) return { ...section, contents };
  const inner = new BinaryReader(contents);
  const name = inner.name();
  return { ...section, contents, custom: { name, payload: contents.subarray(inner.at) } };
}

/** Every top-level section after the preamble, in order. */
export function readSections(bytes: Uint8Array): Section[] {
  readPreamble(bytes);
  const sections: Section[] = [];
  for (let at = PREAMBLE_BYTES; at < bytes.length; at = sections[sections.length - 1].end) sections.push(readSection(bytes, at));
  return sections;
}

/**
 * A section as wasmsign2 writes it (`Section::serialize`, and
 * `CustomSection::outer_payload` for the name): sizes in their shortest
 * LEB128 form whatever form they were read in. Its signer hashes and writes
 * sections this way, so a signed binary is this normalized form.
 */
export function writeSection(section: Section): Uint8Array {
  if (section.custom) return customSection(section.custom.name, section.custom.payload);
  return concat([Uint8Array.of(section.id, ...leb128(section.contents.length)), section.contents]);
}

export function customSection(name: string, payload: Uint8Array): Uint8Array {
  const nameBytes = new TextEncoder().encode(name);
  const contents = [Uint8Array.of(...leb128(nameBytes.length)), nameBytes, payload];
  const size = contents.reduce((sum, part) => sum + part.length, 0);
  return concat([Uint8Array.of(0, ...leb128(size)), ...contents]);
}

/** Unsigned LEB128 in its shortest form (wasmsign2's `varint::put`). */
export function leb128(value: number): number[] {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`not a LEB128 size: ${value}`);
  const out: number[] = [];
  do {
    const low = value % 128;
    value = Math.floor(value / 128);
    out.push(value > 0 ? low | 0x80 : low);
  } while (value > 0);
  return out;
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}
