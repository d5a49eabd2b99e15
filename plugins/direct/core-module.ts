// Reads what the direct path needs from a core module: function signatures
// of its imports and exports, whether it imports anything but functions, and
// whether it runs a start function when instantiated.
import { BinaryReader, Malformed } from './binary-reader.ts';

export type Signature = string; // e.g. "i32,i32->i32"

export interface CoreModuleShape {
  imports: Array<{ module: string; name: string; kind: 'func' | 'other'; signature?: Signature }>;
  exports: Map<string, { kind: 'func' | 'memory' | 'other'; signature?: Signature }>;
  start: boolean;
}

const VALTYPES: Record<number, string> = { 0x7f: 'i32', 0x7e: 'i64', 0x7d: 'f32', 0x7c: 'f64', 0x7b: 'v128', 0x70: 'funcref', 0x6f: 'externref' };

export function readCoreModule(bytes: Uint8Array): CoreModuleShape {
  const reader = new BinaryReader(bytes);
  const magic = reader.take(8);
  if (magic[0] !== 0 || magic[1] !== 0x61 || magic[2] !== 0x73 || magic[3] !== 0x6d || magic[4] !== 1 || magic[6] !== 0) {
    throw new Malformed('not a core module');
  }
  const types: Signature[] = [];
  const functions: Signature[] = []; // imported first, then defined
  const shape: CoreModuleShape = { imports: [], exports: new Map(), start: false };
  for (const { id, body } of reader.sections()) {
    if (id === 1) {
      for (const entry of body.vec(() => readType(body))) types.push(entry);
    } else if (id === 2) {
      body.vec(() => {
        const module = body.name();
        const name = body.name();
        const kind = body.byte();
        if (kind === 0x00) {
          const signature = types[body.u32()];
          if (signature === undefined) throw new Malformed('an import of an unknown type');
          functions.push(signature);
          shape.imports.push({ module, name, kind: 'func', signature });
        } else {
          skipImportDescription(body, kind);
          shape.imports.push({ module, name, kind: 'other' });
        }
      });
    } else if (id === 3) {
      for (const index of body.vec(() => body.u32())) {
        const signature = types[index];
        if (signature === undefined) throw new Malformed('a function of an unknown type');
        functions.push(signature);
      }
    } else if (id === 8) {
      shape.start = true;
    } else if (id === 7) {
      body.vec(() => {
        const name = body.name();
        const kind = body.byte();
        const index = body.u32();
        shape.exports.set(name, kind === 0x00 ? { kind: 'func', signature: functions[index] } : { kind: kind === 0x02 ? 'memory' : 'other' });
      });
    }
  }
  return shape;
}

function readType(body: BinaryReader): Signature {
  const form = body.byte();
  // Only plain function types: GC and other proposals' types are not ours.
  if (form !== 0x60) throw new Malformed(`type form 0x${form.toString(16)}`);
  const params = body.vec(() => valtype(body));
  const results = body.vec(() => valtype(body));
  return `${params.join(',')}->${results.join(',')}`;
}

function valtype(body: BinaryReader): string {
  const code = body.byte();
  const name = VALTYPES[code];
  if (!name) throw new Malformed(`value type 0x${code.toString(16)}`);
  return name;
}

function skipImportDescription(body: BinaryReader, kind: number): void {
  if (kind === 0x01) { body.byte(); limits(body); return; } // table
  if (kind === 0x02) { limits(body); return; } // memory
  if (kind === 0x03) { body.byte(); body.byte(); return; } // global
  if (kind === 0x04) { body.byte(); body.u32(); return; } // tag
  throw new Malformed(`import kind ${kind}`);
}

function limits(body: BinaryReader): void {
  const flags = body.byte();
  body.u32();
  if (flags & 1) body.u32();
}
