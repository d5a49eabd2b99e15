// jco's glue lifts what a stub hands the host without the canonical ABI's
// checks: a (pointer, length) past the stub's memory is cut short by
// ArrayBuffer#slice, invalid UTF-8 comes out as U+FFFD, and a cabi_realloc
// that answers outside the memory surfaces as a RangeError (a "crash").
// This guard puts the direct path's checks (canonical-abi.ts) in front of
// the glue, at the core level: around the stub's imports of the host
// interface, and around the cabi_realloc the glue allocates with. A stub
// that lies then fails with PF_ERR_ABI on either path.
import { HOST_FUNCTIONS, HOST_MODULE } from '../direct/stub-world.ts';
import { AbiViolation, checkRange, decodeUtf8 } from './canonical-abi.ts';
import { METER_MODULE, METER_TICK } from './metering/tick-import.ts';

type CoreFunction = (...args: number[]) => unknown;

/** Reads the stub's memory as it is at the call (it may have grown since the last). */
interface Memory {
  size(): number;
  bytes(ptr: number, len: number, align: number, what: string): Uint8Array;
  u32(at: number): number;
}

/** The host functions whose core arguments point into the stub's memory, by name. */
const HOST_CHECKS: Record<string, (memory: Memory, args: number[]) => void> = {
  post: (m, [ptr, len]) => void m.bytes(ptr, len, 1, 'post'),
  send: (m, [, ptr, len, ret]) => {
    m.bytes(ptr, len, 1, 'send');
    m.bytes(ret, 12, 4, 'send result area');
  },
  log: (m, [, ptr, len]) => void decodeUtf8(m.bytes(ptr, len, 1, 'log'), 'log'),
  open: (m, [urlPtr, urlLen, listPtr, listLen, ret]) => {
    decodeUtf8(m.bytes(urlPtr, urlLen, 1, 'open url'), 'open url');
    m.bytes(listPtr, listLen * 8, 4, 'open protocols');
    for (let i = 0; i < listLen; i++) {
      decodeUtf8(m.bytes(m.u32(listPtr + i * 8), m.u32(listPtr + i * 8 + 4), 1, 'open protocol'), 'open protocol');
    }
    m.bytes(ret, 12, 4, 'open result area');
  },
};

/** A host function's core arity under the canonical ABI, from the stub world (`i32,i32->`: 2). */
const coreArity = (name: string) => HOST_FUNCTIONS[name]?.core.split('->')[0].split(',').filter(Boolean).length;

/** Import module names of the host interface, as the glue names them (versioned or not). */
const HOST_MODULES = new Set([HOST_MODULE, HOST_MODULE.split('@')[0]]);

/**
 * jco's `instantiateCore`, guarded: the module that imports the host
 * interface has its host functions checked against its memory (the one it
 * exports, or imports), and every cabi_realloc exported is checked.
 */
export function guardedInstantiateCore(tick?: () => number): (module: WebAssembly.Module, imports?: WebAssembly.Imports) => Promise<{ exports: WebAssembly.Exports }> {
  let memory: WebAssembly.Memory | undefined;
  let view = new Uint8Array(0);
  let data = new DataView(view.buffer);
  const current = () => {
    if (!memory) throw new AbiViolation('the stub called the host before its memory was there');
    if (view.buffer !== memory.buffer) {
      view = new Uint8Array(memory.buffer);
      data = new DataView(memory.buffer);
    }
  };
  const reader: Memory = {
    size: () => (current(), view.length),
    bytes(ptr, len, align, what) {
      current();
      checkRange(view.length, ptr, len, align, what);
      return view.subarray(ptr, ptr + len);
    },
    u32: (at) => (current(), data.getUint32(at, true)),
  };

  const guardHost = (name: string, fn: CoreFunction): CoreFunction => {
    const check = HOST_CHECKS[name];
    // Another arity is another function than the world's: left to the glue.
    if (!check || fn.length !== coreArity(name)) return fn;
    return (...args) => {
      check(reader, args.map((arg) => arg >>> 0));
      return fn(...args);
    };
  };

  const guardRealloc = (realloc: CoreFunction): CoreFunction => (old, oldSize, align, size) => {
    const ptr = (realloc(old, oldSize, align, size) as number) >>> 0;
    // The ABI's empty list is any aligned pointer, never read.
    if (size >>> 0 === 0) return ptr;
    if (ptr === 0) throw new AbiViolation('cabi_realloc returned null');
    checkRange(reader.size(), ptr, size >>> 0, align >>> 0, 'cabi_realloc');
    return ptr;
  };

  const memoryIn = (values: Iterable<unknown>) => [...values].find((value): value is WebAssembly.Memory => value instanceof WebAssembly.Memory);

  return async (module, imports = {}) => {
    const hostModules = Object.keys(imports).filter((name) => HOST_MODULES.has(name));
    // A metered module (metering/meter.ts) imports the tick; any other ignores it.
    const guarded: WebAssembly.Imports = { ...imports, ...(tick ? { [METER_MODULE]: { [METER_TICK]: tick } } : {}) };
    for (const name of hostModules) {
      guarded[name] = Object.fromEntries(Object.entries(imports[name]).map(([fn, value]) =>
        [fn, typeof value === 'function' ? guardHost(fn, value as CoreFunction) : value]));
    }
    const { exports } = await WebAssembly.instantiate(module, guarded);
    if (hostModules.length && !memory) {
      memory = memoryIn(Object.values(exports)) ?? memoryIn(Object.values(imports).flatMap((functions) => Object.values(functions)));
    }
    const realloc = exports.cabi_realloc;
    return { exports: typeof realloc === 'function' ? { ...exports, cabi_realloc: guardRealloc(realloc as CoreFunction) } : exports };
  };
}
