// Walks a WebAssembly expression instruction by instruction: the opcode and
// where its immediates end, for every instruction the toolchains here emit
// (MVP, sign extension, saturating truncation, bulk memory, reference
// types, multi-value, tail calls, SIMD, threads, legacy and new exception
// handling). Anything else (GC, typed function references, an opcode not
// yet defined) is refused: a meter that skipped an instruction it did not
// know could miss a loop, and then a stub could run unbounded.
import { BinaryReader, Malformed } from '../../direct/binary-reader.ts';

export class Unmeterable extends Error {}

export const OP = {
  unreachable: 0x00, block: 0x02, loop: 0x03, if: 0x04, end: 0x0b,
  call: 0x10, returnCall: 0x12, globalGet: 0x23, globalSet: 0x24,
  i32Const: 0x41, i32Eqz: 0x45, i32Sub: 0x6b, refFunc: 0xd2,
} as const;

/** The empty block type: `if … end` yielding nothing. */
export const EMPTY_BLOCK = 0x40;

// Block types and value types that name a heap type after them (ref null ht, ref ht).
const REF_WITH_HEAP_TYPE = new Set([0x63, 0x64]);

function blockType(r: BinaryReader): void {
  const first = r.bytes[r.at];
  r.s33();
  if (REF_WITH_HEAP_TYPE.has(first)) r.s33();
}

export function valueType(r: BinaryReader): void {
  const first = r.byte();
  if (REF_WITH_HEAP_TYPE.has(first)) r.s33();
}

function memarg(r: BinaryReader): void {
  const align = r.u32();
  // Bit 6 of the alignment says a memory index follows (multiple memories).
  if (align & 0x40) r.u32();
  skipLeb(r);
}

/** Any LEB128 number (u64 offsets and limits included), skipped. */
export function skipLeb(r: BinaryReader): void {
  for (let i = 0; i < 10; i++) if ((r.byte() & 0x80) === 0) return;
  throw new Malformed('a LEB128 number longer than 10 bytes');
}

/** SIMD (0xFD) sub-opcodes with immediates, and which. */
function simd(r: BinaryReader, op: number): void {
  if (op <= 0x0b || op === 0x5c || op === 0x5d) return memarg(r);
  if (op === 0x0c || op === 0x0d) return void r.take(16);
  if (op >= 0x15 && op <= 0x22) return void r.byte();
  if (op >= 0x54 && op <= 0x5b) {
    memarg(r);
    r.byte();
  }
  // Every other SIMD operation (relaxed SIMD too, up to 0x113) takes none.
  if (op > 0x113) throw new Unmeterable(`SIMD operation 0x${op.toString(16)}`);
}

/** Bulk memory, table and saturating-truncation (0xFC) sub-opcodes. */
function misc(r: BinaryReader, op: number): void {
  if (op <= 7) return;
  switch (op) {
    case 8: r.u32(); r.u32(); return; // memory.init data memory
    case 9: r.u32(); return; // data.drop
    case 10: r.u32(); r.u32(); return; // memory.copy
    case 11: r.u32(); return; // memory.fill
    case 12: r.u32(); r.u32(); return; // table.init elem table
    case 13: r.u32(); return; // elem.drop
    case 14: r.u32(); r.u32(); return; // table.copy
    case 15: case 16: case 17: r.u32(); return; // table.grow, size, fill
    default: throw new Unmeterable(`operation 0xfc ${op}`);
  }
}

/** Threads (0xFE): a fence takes one byte, everything else a memarg. */
function atomic(r: BinaryReader, op: number): void {
  if (op === 0x03) return void r.byte();
  if (op > 0x4e) throw new Unmeterable(`atomic operation 0x${op.toString(16)}`);
  memarg(r);
}

/**
 * Reads one instruction's opcode at the reader and moves past its
 * immediates. Returns the opcode (the prefix byte for prefixed ones).
 */
export function skipInstruction(r: BinaryReader): number {
  const op = r.byte();
  if (op >= 0x45 && op <= 0xc4) return op; // numeric, sign extension: no immediates
  if (op >= 0x28 && op <= 0x3e) { memarg(r); return op; }
  switch (op) {
    case 0x00: case 0x01: case 0x05: case 0x0a: case 0x0b: case 0x0f: case 0x19:
    case 0x1a: case 0x1b: case 0xd1:
      return op;
    case 0x02: case 0x03: case 0x04: case 0x06: blockType(r); return op;
    case 0x07: case 0x08: case 0x09: case 0x0c: case 0x0d: case 0x10: case 0x12: case 0x18:
    case 0x20: case 0x21: case 0x22: case 0x23: case 0x24: case 0x25: case 0x26:
    case 0x3f: case 0x40: case 0xd2:
      r.u32(); return op;
    case 0x0e: { // br_table: labels, then the default
      const count = r.u32();
      for (let i = 0; i <= count; i++) r.u32();
      return op;
    }
    case 0x11: case 0x13: r.u32(); r.u32(); return op; // call_indirect type table
    case 0x1c: { // select with types
      const count = r.u32();
      for (let i = 0; i < count; i++) valueType(r);
      return op;
    }
    case 0x1f: { // try_table: block type, then catch clauses
      blockType(r);
      const count = r.u32();
      for (let i = 0; i < count; i++) {
        const kind = r.byte();
        if (kind > 3) throw new Unmeterable(`try_table catch kind ${kind}`);
        if (kind < 2) r.u32(); // the tag
        r.u32(); // the label
      }
      return op;
    }
    case 0x41: r.s33(); return op; // i32.const (s32 fits s33's reading)
    case 0x42: skipLeb(r); return op; // i64.const
    case 0x43: r.take(4); return op;
    case 0x44: r.take(8); return op;
    case 0xd0: r.s33(); return op; // ref.null heap type
    case 0xfc: misc(r, r.u32()); return op;
    case 0xfd: simd(r, r.u32()); return op;
    case 0xfe: atomic(r, r.u32()); return op;
    default: throw new Unmeterable(`opcode 0x${op.toString(16)}`);
  }
}
