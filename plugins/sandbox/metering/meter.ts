// A stub in the runtime's own thread cannot be stopped from outside: a call
// that never returns would hang the runtime. So its core module is metered
// before it is compiled. At the head of every loop, and at the entry of
// every function that calls others, a counter (a new global) is
// decremented; every TICK_INTERVAL
// times it runs out, the code calls the host's `tick` (a new import), which
// looks at the clock and answers 1 once the call has run past its time
// limit: the code then traps (`unreachable`). A trap, not an exception
// thrown by the host: a stub's own exception handlers could catch that.
// Any run of code that lasts either loops or recurses, and every cycle of
// calls passes through a function that calls, so none escapes the counter;
// between two ticks a stub does at most TICK_INTERVAL iterations. (A
// function that neither loops nor calls ends on its own: it is left as is,
// which spares the many small ones an interpreter's loop goes through.)
//
// The new import comes after the module's own function imports, so every
// defined function's index moves up by one: calls, `ref.func`, exports, the
// start function and element segments are renumbered to match. The `name`
// section (debug names by index) is dropped rather than left wrong.
import { describe, pfError } from '../../../kernel/errors.ts';
import { BinaryReader, Malformed } from '../../direct/binary-reader.ts';
import { EMPTY_BLOCK, OP, skipInstruction, skipLeb, Unmeterable, valueType } from './instructions.ts';
import { METER_MODULE, METER_TICK, TICK_INTERVAL } from './tick-import.ts';

export { Unmeterable } from './instructions.ts';

const SECTION = { custom: 0, type: 1, import: 2, global: 6, export: 7, start: 8, element: 9, code: 10 } as const;
// Where a section goes when the module has none: before the first section with a higher rank.
const RANK: Record<number, number> = { 1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 13: 6, 6: 7, 7: 8, 8: 9, 9: 10, 12: 11, 10: 12, 11: 13 };

/** A byte buffer that grows: a JS stub's core module is megabytes, copied mostly in runs. */
class Out {
  private buffer: Uint8Array;
  length = 0;
  constructor(capacity = 64) { this.buffer = new Uint8Array(capacity); }
  get bytes(): Uint8Array { return this.buffer.subarray(0, this.length); }
  private room(n: number): void {
    if (this.length + n <= this.buffer.length) return;
    const grown = new Uint8Array(Math.max(this.buffer.length * 2, this.length + n));
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
  }
  byte(b: number): this { this.room(1); this.buffer[this.length++] = b; return this; }
  raw(b: Uint8Array): this { this.room(b.length); this.buffer.set(b, this.length); this.length += b.length; return this; }
  u32(value: number): this {
    do {
      let b = value & 0x7f;
      value = Math.floor(value / 128);
      if (value !== 0) b |= 0x80;
      this.byte(b);
    } while (value !== 0);
    return this;
  }
  s32(value: number): this {
    for (;;) {
      const b = value & 0x7f;
      value >>= 7;
      if ((value === 0 && !(b & 0x40)) || (value === -1 && b & 0x40)) return this.byte(b);
      this.byte(b | 0x80);
    }
  }
  name(text: string): this {
    const encoded = new TextEncoder().encode(text);
    return this.u32(encoded.length).raw(encoded);
  }
}

interface Indices {
  /** Function imports before the meter's: defined functions from here on move up by one. */
  importedFunctions: number;
  tick: number;
  counter: number;
}

const DELEGATE = 0x18;
// call, call_indirect, return_call, return_call_indirect: 0x10–0x13.
const RETURN_CALL_INDIRECT = 0x13;
const I32 = 0x7f;

const shifted = (index: number, at: Indices) => (index >= at.importedFunctions ? index + 1 : index);

/**
 * Copies an expression (a function body's code or a constant), renumbering
 * functions and metering loops. Returns whether it calls a function.
 */
function copyExpression(r: BinaryReader, out: Out, at: Indices, meter: boolean): boolean {
  let calls = false;
  let depth = 0;
  // Bytes from here on are copied as they are, in one run, until an instruction changes.
  let unchanged = r.at;
  const index = new BinaryReader(r.bytes);
  while (!r.done) {
    const start = r.at;
    const op = skipInstruction(r);
    if (op >= OP.call && op <= RETURN_CALL_INDIRECT) calls = true;
    if (op === OP.call || op === OP.returnCall || op === OP.refFunc) {
      out.raw(r.bytes.subarray(unchanged, start));
      index.at = start + 1;
      out.byte(op).u32(shifted(index.u32(), at));
      unchanged = r.at;
    } else if (op === OP.loop && meter) {
      out.raw(r.bytes.subarray(unchanged, r.at));
      check(out, at);
      unchanged = r.at;
    }
    if (op === OP.block || op === OP.loop || op === OP.if || op === 0x06 || op === 0x1f) depth++;
    else if (op === DELEGATE) depth--; // ends a legacy `try` in place of its `end`
    else if (op === OP.end && depth-- === 0) {
      out.raw(r.bytes.subarray(unchanged, r.at));
      return calls;
    }
  }
  throw new Malformed('an expression without its end');
}

// counter -= 1; if it was 0: counter = TICK_INTERVAL, and trap if tick() says so.
function check(out: Out, at: Indices): void {
  out.byte(OP.globalGet).u32(at.counter).byte(OP.i32Eqz).byte(OP.if).byte(EMPTY_BLOCK)
    .byte(OP.i32Const).s32(TICK_INTERVAL).byte(OP.globalSet).u32(at.counter)
    .byte(OP.call).u32(at.tick).byte(OP.if).byte(EMPTY_BLOCK).byte(OP.unreachable).byte(OP.end)
    .byte(OP.end)
    .byte(OP.globalGet).u32(at.counter).byte(OP.i32Const).s32(1).byte(OP.i32Sub).byte(OP.globalSet).u32(at.counter);
}

function limits(r: BinaryReader): void {
  const flags = r.u32();
  skipLeb(r);
  if (flags & 1) skipLeb(r);
  // A custom page size (its log2) follows.
  if (flags & 8) r.u32();
}

/** Returns the module metered (see the top of this file); throws Unmeterable or Malformed. */
export function meterModule(module: Uint8Array): Uint8Array {
  // Valid first: the counter's index is one past the module's globals, so
  // only code that names globals that do not exist yet could reach it.
  if (!WebAssembly.validate(module as Uint8Array<ArrayBuffer>)) throw new Malformed('it is not valid WebAssembly');
  const reader = new BinaryReader(module, 8);
  const sections = reader.sections();
  const find = (id: number) => sections.find((s) => s.id === id);

  // A () -> i32 type for the import: one already there, or one more.
  let types = 0;
  let tickType = -1;
  const typeSection = find(SECTION.type);
  if (typeSection) {
    const r = new BinaryReader(module, typeSection.body.at, typeSection.body.end);
    types = r.u32();
    for (let i = 0; i < types; i++) {
      if (r.byte() !== 0x60) throw new Unmeterable('a type section with more than function types');
      const params = r.u32();
      for (let p = 0; p < params; p++) valueType(r);
      const results = r.u32();
      const first = r.bytes[r.at];
      for (let p = 0; p < results; p++) valueType(r);
      if (params === 0 && results === 1 && first === I32 && tickType < 0) tickType = i;
    }
  }
  const addType = tickType < 0;
  if (addType) tickType = types;

  // The imports: functions and globals counted, the meter's added last.
  let importedFunctions = 0;
  let importedGlobals = 0;
  let imports = 0;
  const importSection = find(SECTION.import);
  if (importSection) {
    const r = new BinaryReader(module, importSection.body.at, importSection.body.end);
    imports = r.u32();
    for (let i = 0; i < imports; i++) {
      r.name();
      r.name();
      const kind = r.byte();
      if (kind === 0x00) { r.u32(); importedFunctions++; }
      else if (kind === 0x01) { valueType(r); limits(r); }
      else if (kind === 0x02) limits(r);
      else if (kind === 0x03) { valueType(r); r.byte(); importedGlobals++; }
      else if (kind === 0x04) { r.byte(); r.u32(); }
      else throw new Unmeterable(`an import of kind ${kind}`);
    }
  }
  const globalSection = find(SECTION.global);
  const definedGlobals = globalSection ? new BinaryReader(module, globalSection.body.at, globalSection.body.end).u32() : 0;
  const at: Indices = { importedFunctions, tick: importedFunctions, counter: importedGlobals + definedGlobals };

  const rewrite = new Map<number, Uint8Array>();
  {
    const out = new Out().u32(types + (addType ? 1 : 0));
    if (typeSection) out.raw(module.subarray(afterCount(module, typeSection.body.at), typeSection.body.end));
    if (addType) out.byte(0x60).u32(0).u32(1).byte(I32);
    rewrite.set(SECTION.type, out.bytes.slice());
  }
  {
    const out = new Out().u32(imports + 1);
    if (importSection) out.raw(module.subarray(afterCount(module, importSection.body.at), importSection.body.end));
    out.name(METER_MODULE).name(METER_TICK).byte(0x00).u32(tickType);
    rewrite.set(SECTION.import, out.bytes.slice());
  }
  {
    // Globals: their initial values may name functions (ref.func); the counter last.
    const out = new Out().u32(definedGlobals + 1);
    if (globalSection) {
      const r = new BinaryReader(module, afterCount(module, globalSection.body.at), globalSection.body.end);
      for (let i = 0; i < definedGlobals; i++) {
        const start = r.at;
        valueType(r);
        r.byte();
        out.raw(module.subarray(start, r.at));
        copyExpression(r, out, at, false);
      }
    }
    out.byte(I32).byte(0x01).byte(OP.i32Const).s32(TICK_INTERVAL).byte(OP.end);
    rewrite.set(SECTION.global, out.bytes.slice());
  }
  const exportSection = find(SECTION.export);
  if (exportSection) {
    const r = new BinaryReader(module, exportSection.body.at, exportSection.body.end);
    const count = r.u32();
    const out = new Out().u32(count);
    for (let i = 0; i < count; i++) {
      const nameStart = r.at;
      r.name();
      out.raw(module.subarray(nameStart, r.at));
      const kind = r.byte();
      const index = r.u32();
      out.byte(kind).u32(kind === 0x00 ? shifted(index, at) : index);
    }
    rewrite.set(SECTION.export, out.bytes.slice());
  }
  const startSection = find(SECTION.start);
  if (startSection) {
    const index = new BinaryReader(module, startSection.body.at, startSection.body.end).u32();
    rewrite.set(SECTION.start, new Out().u32(shifted(index, at)).bytes.slice());
  }
  const elementSection = find(SECTION.element);
  if (elementSection) rewrite.set(SECTION.element, elements(module, elementSection.body, at));
  const codeSection = find(SECTION.code);
  if (codeSection) rewrite.set(SECTION.code, code(module, codeSection.body, at));

  // Sections in order: rewritten where they were, new ones where they belong, no `name`.
  const out = new Out(module.length + module.length / 8).raw(module.subarray(0, 8));
  const emit = (id: number, body: Uint8Array) => out.byte(id).u32(body.length).raw(body);
  const pendingNew = [SECTION.type, SECTION.import, SECTION.global].filter((id) => !find(id));
  const emitNewBefore = (rank: number) => {
    while (pendingNew.length && RANK[pendingNew[0]] < rank) {
      const id = pendingNew.shift()!;
      emit(id, rewrite.get(id)!);
    }
  };
  for (const section of sections) {
    if (section.id !== SECTION.custom) emitNewBefore(RANK[section.id] ?? 0);
    const body = module.subarray(section.body.at, section.body.end);
    if (section.id === SECTION.custom && new BinaryReader(module, section.body.at, section.body.end).name() === 'name') continue;
    emit(section.id, rewrite.get(section.id) ?? body);
  }
  emitNewBefore(Infinity);
  return out.bytes.slice();
}

function afterCount(module: Uint8Array, at: number): number {
  const r = new BinaryReader(module, at);
  r.u32();
  return r.at;
}

function code(module: Uint8Array, body: BinaryReader, at: Indices): Uint8Array {
  const r = new BinaryReader(module, body.at, body.end);
  const count = r.u32();
  const out = new Out(body.end - body.at + 64).u32(count);
  for (let i = 0; i < count; i++) {
    const size = r.u32();
    const end = r.at + size;
    const fn = new BinaryReader(module, r.at, end);
    const groups = fn.u32();
    for (let l = 0; l < groups; l++) {
      fn.u32();
      valueType(fn);
    }
    const locals = module.subarray(r.at, fn.at);
    const code = new Out(size + 64);
    const calls = copyExpression(fn, code, at, true);
    if (!fn.done) throw new Malformed('a function body with bytes after its end');
    const entry = new Out(32);
    if (calls) check(entry, at);
    out.u32(locals.length + entry.length + code.length).raw(locals).raw(entry.bytes).raw(code.bytes);
    r.take(size);
  }
  return out.bytes.slice();
}

function elements(module: Uint8Array, body: BinaryReader, at: Indices): Uint8Array {
  const r = new BinaryReader(module, body.at, body.end);
  const count = r.u32();
  const out = new Out().u32(count);
  for (let i = 0; i < count; i++) {
    const flags = r.u32();
    out.u32(flags);
    if (flags > 7) throw new Unmeterable(`an element segment with flags ${flags}`);
    if (flags === 2 || flags === 6) out.u32(r.u32()); // table
    if ((flags & 1) === 0) copyExpression(r, out, at, false); // active: its offset
    const expressions = (flags & 4) !== 0;
    if (flags & 3) {
      // The element kind (0x00: functions) or the reference type.
      const start = r.at;
      if (expressions) valueType(r);
      else r.byte();
      out.raw(module.subarray(start, r.at));
    }
    const items = r.u32();
    out.u32(items);
    for (let n = 0; n < items; n++) {
      if (expressions) copyExpression(r, out, at, false);
      else out.u32(shifted(r.u32(), at));
    }
  }
  return out.bytes.slice();
}

/** The module metered, or refused with PF_ERR_COMPONENT_INVALID: a stub the meter cannot read could run unbounded. */
export function meterOrRefuse(module: Uint8Array): Uint8Array {
  try {
    return meterModule(module);
  } catch (error) {
    const detail = error instanceof Unmeterable
      ? `a stub in the runtime's thread has its code metered, and this one's has ${describe(error)}, which the meter does not know: run it in a worker`
      : `a core module is malformed (${describe(error)})`;
    throw pfError('PF_ERR_COMPONENT_INVALID', [detail], { cause: error });
  }
}
