// The two small core modules wit-component adds around a stub's module when
// a host function needs the stub's memory or allocator (which exist only once
// the stub's module is instantiated): a *shim* whose function k calls slot k
// of its table, and a *fixup* that fills slot k with the lowered host
// function it imports as "actual"."k". The direct path binds the host's
// functions to the stub's module itself, so it must know that this is all
// those modules do: these checks accept exactly that code and nothing else.
import { BinaryReader, Malformed } from './binary-reader.ts';

// Core section ids.
const CUSTOM = 0, TYPE = 1, IMPORT = 2, FUNCTION = 3, TABLE = 4, EXPORT = 7, ELEMENT = 9, CODE = 10;
// Opcodes the glue is made of.
const LOCAL_GET = 0x20, I32_CONST = 0x41, CALL_INDIRECT = 0x11, END = 0x0b;
const FUNCREF = 0x70;

// The module's sections by id, or undefined if it has one not allowed (the
// usual answer for a module that is not glue: no exception on that path).
function sectionsOf(bytes: Uint8Array, allowed: number[]): Map<number, BinaryReader> | undefined {
  const reader = new BinaryReader(bytes);
  const magic = reader.take(8);
  if (magic[0] !== 0 || magic[1] !== 0x61 || magic[4] !== 1 || magic[6] !== 0) return undefined;
  const found = new Map<number, BinaryReader>();
  for (const { id, body } of reader.sections()) {
    if (id === CUSTOM) continue;
    if (!allowed.includes(id) || found.has(id)) return undefined;
    found.set(id, body);
  }
  return found;
}

/** Parameter counts of the module's function types (results must be none or one i32-like value). */
function typeArities(body: BinaryReader | undefined): number[] {
  if (!body) return [];
  return body.vec(() => {
    if (body.byte() !== 0x60) throw new Malformed('not a function type');
    const params = body.vec(() => body.byte()).length;
    body.vec(() => body.byte());
    return params;
  });
}

function ends(body: BinaryReader | undefined): void {
  if (body && !body.done) throw new Malformed('bytes after a section');
}

/**
 * The number of functions of a wit-component shim module, or undefined if
 * `bytes` is anything else: no imports; one funcref table; exports "k" → func
 * k and "$imports" → the table; function k's body is exactly
 * `local.get 0 … local.get n-1; i32.const k; call_indirect (its own type) 0`.
 */
export function shimFunctionCount(bytes: Uint8Array): number | undefined {
  try {
    const s = sectionsOf(bytes, [TYPE, FUNCTION, TABLE, EXPORT, CODE]);
    if (!s) return undefined;
    const arities = typeArities(s.get(TYPE));
    const fnBody = s.get(FUNCTION);
    const functionTypes = fnBody ? fnBody.vec(() => fnBody.u32()) : [];
    const table = s.get(TABLE);
    if (!table || table.u32() !== 1 || table.byte() !== FUNCREF) return undefined;
    const flags = table.byte();
    if (table.u32() < functionTypes.length) return undefined; // every slot k exists
    if (flags & 1) table.u32(); // the maximum
    const exports = s.get(EXPORT);
    if (!exports) return undefined;
    const exported = new Set<number>();
    let tableExported = false;
    exports.vec(() => {
      const name = exports.name();
      const kind = exports.byte();
      const index = exports.u32();
      if (name === '$imports' && kind === 0x01 && index === 0 && !tableExported) tableExported = true;
      else if (kind === 0x00 && name === String(index) && index < functionTypes.length && !exported.has(index)) exported.add(index);
      else throw new Malformed(`shim export ${name}`);
    });
    if (!tableExported || exported.size !== functionTypes.length) return undefined;
    const code = s.get(CODE);
    const bodies = code ? code.vec(() => code.take(code.u32())) : [];
    if (bodies.length !== functionTypes.length) return undefined;
    for (const [k, bytesOfBody] of bodies.entries()) {
      const type = functionTypes[k];
      const body = new BinaryReader(bytesOfBody);
      if (body.u32() !== 0) return undefined; // no locals
      for (let p = 0; p < (arities[type] ?? -1); p++) {
        if (body.byte() !== LOCAL_GET || body.u32() !== p) return undefined;
      }
      if (body.byte() !== I32_CONST || body.s33() !== k) return undefined;
      if (body.byte() !== CALL_INDIRECT || body.u32() !== type || body.byte() !== 0) return undefined;
      if (body.byte() !== END || !body.done) return undefined;
    }
    for (const section of [s.get(TYPE), fnBody, table, exports, code]) ends(section);
    return functionTypes.length;
  } catch (error) {
    if (error instanceof Malformed) return undefined;
    throw error;
  }
}

/**
 * The number of slots a wit-component fixup module fills, or undefined if
 * `bytes` is anything else: imports "actual"."0" … "actual"."n-1" (functions,
 * in that order) and the table "shim"."$imports"; one active element segment
 * putting functions 0 … n-1 at offset 0; no functions, exports or start.
 */
export function fixupSlotCount(bytes: Uint8Array): number | undefined {
  try {
    const s = sectionsOf(bytes, [TYPE, IMPORT, ELEMENT]);
    if (!s) return undefined;
    typeArities(s.get(TYPE));
    const imports = s.get(IMPORT);
    const elements = s.get(ELEMENT);
    if (!imports || !elements) return undefined;
    let functions = 0;
    let table = false;
    imports.vec(() => {
      const module = imports.name();
      const name = imports.name();
      const kind = imports.byte();
      if (kind === 0x00 && !table && module === 'actual' && name === String(functions)) {
        imports.u32();
        functions++;
      } else if (kind === 0x01 && !table && module === 'shim' && name === '$imports') {
        if (imports.byte() !== FUNCREF) throw new Malformed('not a funcref table');
        const flags = imports.byte();
        imports.u32();
        if (flags & 1) imports.u32();
        table = true;
      } else {
        throw new Malformed(`fixup import ${module}.${name}`);
      }
    });
    if (!table) return undefined;
    // One segment, form 0: table 0, offset (i32.const 0), function indices.
    if (elements.u32() !== 1 || elements.u32() !== 0) return undefined;
    if (elements.byte() !== I32_CONST || elements.s33() !== 0 || elements.byte() !== END) return undefined;
    const placed = elements.vec(() => elements.u32());
    if (placed.length !== functions || placed.some((f, slot) => f !== slot)) return undefined;
    ends(imports);
    ends(elements);
    return functions;
  } catch (error) {
    if (error instanceof Malformed) return undefined;
    throw error;
  }
}
