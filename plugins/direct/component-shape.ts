// Recognises, conservatively, a component that is exactly the
// protofly:stub@0.1.0 world: one import (the host instance), one export (the
// stub instance), canonical lifts and lowers with UTF-8 strings over one
// core module that imports nothing but host functions. Anything else — more
// imports, another version, another encoding, an unknown section or
// construct — is "not recognised", and the jco path takes it unchanged.
// Names are followed, not trusted: each of the stub module's imports must be
// bound to the host function of that name (directly, or through
// wit-component's shim and fixup modules), each exported name to the lift of
// the stub function of that name, and no other code may run.
import { BinaryReader, Malformed } from './binary-reader.ts';
import { readCoreModule } from './core-module.ts';
import { fixupSlotCount, shimFunctionCount } from './wit-component-glue.ts';
import {
  HOST_FUNCTIONS, HOST_MODULE, postReturnOf, REALLOC, REALLOC_CORE, STUB_FUNCTIONS, STUB_INSTANCE,
} from './stub-world.ts';

export type Recognised =
  | { ok: true; core: Uint8Array; postReturn: string[] }
  | { ok: false; reason: string };

class NotOurs extends Error {}

const PRIMITIVES: Record<number, string> = {
  0x7f: 'bool', 0x7e: 's8', 0x7d: 'u8', 0x7c: 's16', 0x7b: 'u16', 0x7a: 's32', 0x79: 'u32',
  0x78: 's64', 0x77: 'u64', 0x76: 'f32', 0x75: 'f64', 0x74: 'char', 0x73: 'string',
};
// custom, core module, core instance, component, instance, alias, type, canon, import, export
const KNOWN_SECTIONS = new Set([0, 1, 2, 4, 5, 6, 7, 8, 10, 11]);

type Sort = 'core-func' | 'core-memory' | 'core-other' | 'func' | 'type' | 'instance' | 'other';
interface Aliased { from: 'core-instance' | 'instance'; instance: number; name: string }
/** A core instance: a module instantiated with named instances, or a bag of existing items. */
interface CoreInstance { module?: number; args?: Map<string, number>; bag?: Map<string, { sort: number; index: number }> }
/** A component instance: imported, a component instantiated with named items, or a bag of items. */
interface Instance { imported?: string; component?: number; args?: Map<string, Item>; bag?: Map<string, Item> }
interface Item { sort: Sort; index: number }
/** An inner component that only re-exports what it imports: export name → the import and its type. */
type Reexports = Map<string, { from: string; type: string | undefined }>;
const CORE_FUNC = 0x00;

export function recognise(component: Uint8Array): Recognised {
  try {
    return { ok: true, ...read(component) };
  } catch (error) {
    if (error instanceof NotOurs || error instanceof Malformed) return { ok: false, reason: error.message };
    throw error;
  }
}

/**
 * The largest core module of a component, found from its sections alone
 * (nothing else is checked), or undefined. In the stub world that is the
 * stub's own module — the shim and fixup modules wit-component adds are a
 * few hundred bytes — so compiling it can start before the check ends.
 */
export function largestCoreModule(component: Uint8Array): Uint8Array | undefined {
  try {
    const reader = new BinaryReader(component);
    reader.take(8);
    let largest: Uint8Array | undefined;
    for (const { id, body } of reader.sections()) {
      if (id === 1 && body.end - body.at > (largest?.length ?? -1)) largest = body.take(body.end - body.at);
    }
    return largest;
  } catch (error) {
    if (error instanceof Malformed) return undefined;
    throw error;
  }
}

function read(component: Uint8Array): { core: Uint8Array; postReturn: string[] } {
  const reader = new BinaryReader(component);
  const preamble = reader.take(8);
  // \0asm, version 0x0d, layer 1: a component (a core module has layer 0).
  if (preamble[0] !== 0 || preamble[1] !== 0x61 || preamble[4] !== 0x0d || preamble[6] !== 1) throw new NotOurs('not a component');

  const types: string[] = [];
  const modules: Uint8Array[] = [];
  const components: Reexports[] = [];
  const coreInstances: CoreInstance[] = [];
  const coreFuncs: Array<Aliased | { lowered: number }> = [];
  const coreMemories: Aliased[] = [];
  const funcs: Array<Aliased | { lift: number }> = [];
  const instances: Instance[] = [];
  const lifts: Array<{ core: number; type: number; options: Options; fn?: string }> = [];
  const lowers: Array<{ func: number; options: Options; host?: string }> = [];
  const imports: string[] = [];
  const exports: number[] = [];

  for (const { id, body } of reader.sections()) {
    if (!KNOWN_SECTIONS.has(id)) throw new NotOurs(`section ${id}`);
    switch (id) {
      case 1: modules.push(body.take(body.end - body.at)); break;
      case 2: body.vec(() => coreInstances.push(readCoreInstance(body, modules.length, coreInstances.length))); break;
      case 4: components.push(readReexportComponent(body.take(body.end - body.at))); break;
      case 5: body.vec(() => instances.push(readInstance(body))); break;
      case 6: body.vec(() => {
        const { sort, aliased } = readAlias(body);
        if (sort === 'core-func') coreFuncs.push(aliased);
        else if (sort === 'core-memory') coreMemories.push(aliased);
        else if (sort === 'func') funcs.push(aliased);
        else if (sort === 'type') types.push('<aliased>');
        else if (sort === 'instance') instances.push({});
        // Tables, globals, modules, components, values: none in the stub
        // world, and some would shift index spaces read here.
        else throw new NotOurs(`an alias of a ${sort === 'core-other' ? 'core item' : 'component item'} other than a function, memory, type or instance`);
      }); break;
      case 7: body.vec(() => types.push(readDefType(body, types))); break;
      case 8: body.vec(() => {
        const kind = body.byte();
        if (body.byte() !== 0x00) throw new NotOurs('canon with an unknown form');
        if (kind === 0x00) {
          const core = body.u32();
          const options = readOptions(body);
          lifts.push({ core, type: body.u32(), options });
          funcs.push({ lift: lifts.length - 1 });
        } else if (kind === 0x01) {
          const func = body.u32();
          lowers.push({ func, options: readOptions(body) });
          coreFuncs.push({ lowered: lowers.length - 1 });
        } else {
          throw new NotOurs(`canon ${kind} (resources, async…)`);
        }
      }); break;
      case 10: body.vec(() => {
        const name = readExternName(body);
        const desc = body.byte();
        if (desc !== 0x05) throw new NotOurs(`import ${name} is not an instance`);
        const type = types[body.u32()];
        if (name !== HOST_MODULE) throw new NotOurs(`import ${name}`);
        checkHostInstanceType(type);
        imports.push(name);
        instances.push({ imported: name });
      }); break;
      case 11: body.vec(() => {
        const name = readExternName(body);
        const sort = readSort(body);
        const index = body.u32();
        const typed = body.byte();
        if (typed !== 0x00) throw new NotOurs('an export with an ascribed type');
        if (sort !== 'instance' || name !== STUB_INSTANCE) throw new NotOurs(`export ${name}`);
        exports.push(index);
        instances.push(instances[index] ?? {});
      }); break;
    }
  }
  if (imports.length !== 1) throw new NotOurs(`${imports.length} imports`);
  if (exports.length !== 1) throw new NotOurs(`${exports.length} exports`);

  const { index: mainIndex, shape } = findMain(modules);
  if (shape.start) throw new NotOurs('the core module has a start function');
  for (const entry of shape.imports) {
    const expected = HOST_FUNCTIONS[entry.name];
    if (entry.module !== HOST_MODULE || entry.kind !== 'func' || !expected) throw new NotOurs(`core import ${entry.module}.${entry.name}`);
    if (entry.signature !== expected.core) throw new NotOurs(`core import ${entry.name} has signature ${entry.signature}`);
  }
  const postReturn: string[] = [];
  for (const [fn, expected] of Object.entries(STUB_FUNCTIONS)) {
    const exported = shape.exports.get(`${STUB_INSTANCE}#${fn}`);
    if (exported?.kind !== 'func' || exported.signature !== expected.core) throw new NotOurs(`core export ${fn}`);
    const post = shape.exports.get(postReturnOf(fn));
    if (post) {
      // A post-return takes the function's flattened results.
      const results = expected.core.split('->')[1];
      if (post.kind !== 'func' || post.signature !== `${results}->`) throw new NotOurs(`core export ${postReturnOf(fn)}`);
      postReturn.push(fn);
    }
  }
  if (shape.exports.get('memory')?.kind !== 'memory') throw new NotOurs('the core module exports no memory');
  if (shape.exports.get(REALLOC)?.signature !== REALLOC_CORE) throw new NotOurs('the core module exports no cabi_realloc');

  const fromMain = (a: Aliased | { lowered: number } | undefined, name: string) =>
    a !== undefined && 'from' in a && a.from === 'core-instance' && coreInstances[a.instance]?.module === mainIndex && a.name === name;
  const optionsAreOurs = (options: Options, what: string, needs: { memory: boolean; realloc: boolean }, post?: string) => {
    if (options.encoding !== 'utf8') throw new NotOurs(`${what} uses ${options.encoding} strings`);
    // What validation demands and jco would refuse without.
    if (needs.memory && options.memory === undefined) throw new NotOurs(`${what} has no memory option`);
    if (needs.realloc && options.realloc === undefined) throw new NotOurs(`${what} has no realloc option`);
    if (options.async) throw new NotOurs(`${what} is async`);
    if (options.memory !== undefined && !(coreMemories[options.memory]?.name === 'memory' && coreInstances[coreMemories[options.memory].instance]?.module === mainIndex)) {
      throw new NotOurs(`${what} uses another memory`);
    }
    if (options.realloc !== undefined && !fromMain(coreFuncs[options.realloc], REALLOC)) throw new NotOurs(`${what} uses another realloc`);
    if (options.postReturn !== undefined && !(post && fromMain(coreFuncs[options.postReturn], post))) throw new NotOurs(`${what} has an unexpected post-return`);
  };

  const lifted = new Set<string>();
  for (const lift of lifts) {
    const core = coreFuncs[lift.core];
    const fn = Object.keys(STUB_FUNCTIONS).find((f) => fromMain(core, `${STUB_INSTANCE}#${f}`));
    if (!fn || lifted.has(fn)) throw new NotOurs('a lift of something other than a stub function');
    if (types[lift.type] !== STUB_FUNCTIONS[fn].wit) throw new NotOurs(`${fn} is ${types[lift.type]}`);
    optionsAreOurs(lift.options, fn, needsOf(STUB_FUNCTIONS[fn].wit, 'params'), postReturnOf(fn));
    if (lift.options.postReturn === undefined && postReturn.includes(fn)) postReturn.splice(postReturn.indexOf(fn), 1);
    lifted.add(fn);
    lift.fn = fn;
  }
  if (lifted.size !== Object.keys(STUB_FUNCTIONS).length) throw new NotOurs('not every stub function is exported');
  for (const lower of lowers) {
    const func = funcs[lower.func];
    const name = func && 'from' in func && func.from === 'instance' && instances[func.instance]?.imported === HOST_MODULE ? func.name : undefined;
    if (!name || !HOST_FUNCTIONS[name]) throw new NotOurs('a lower of something other than a host function');
    optionsAreOurs(lower.options, name, needsOf(HOST_FUNCTIONS[name].wit, 'results'));
    lower.host = name;
  }
  checkExportedNames(instances[exports[0]], components, funcs, lifts);
  checkHostBindings({ modules, coreInstances, coreFuncs, lowers }, mainIndex, shape.imports.map((i) => i.name));
  return { core: modules[mainIndex], postReturn };
}

/**
 * The canonical options a function's type requires: the memory if lists or
 * strings cross at all, the realloc if they cross into the core module — a
 * lift's parameters, a lower's results.
 */
function needsOf(wit: string, into: 'params' | 'results'): { memory: boolean; realloc: boolean } {
  const [params, results = ''] = wit.split(' -> ');
  const inMemory = (text: string) => text.includes('list<') || text.includes('string');
  return { memory: inMemory(wit), realloc: inMemory(into === 'params' ? params : results) };
}

/** The stub's own core module (read once): the one exporting the stub's functions. */
function findMain(modules: Uint8Array[]): { index: number; shape: ReturnType<typeof readCoreModule> } {
  for (const [index, module] of modules.entries()) {
    const shape = readCoreModule(module);
    if (shape.exports.has(`${STUB_INSTANCE}#init`)) return { index, shape };
  }
  throw new NotOurs(`no core module exports ${STUB_INSTANCE}#init`);
}

/**
 * The exported instance names each stub function: every name must be the
 * lift of the stub's function of that name (jco would call what the name is
 * bound to; the direct path calls the core export of that name).
 */
function checkExportedNames(exported: Instance | undefined, components: Reexports[], funcs: Array<Aliased | { lift: number }>, lifts: Array<{ fn?: string }>): void {
  const named = new Map<string, number>();
  if (exported?.bag) {
    for (const [name, { sort, index }] of exported.bag) {
      if (sort !== 'func') throw new NotOurs(`the exported ${name} is not a function`);
      named.set(name, index);
    }
  } else if (exported?.component !== undefined && components[exported.component]) {
    for (const [name, { from, type }] of components[exported.component]) {
      const arg = exported.args!.get(from);
      if (arg?.sort !== 'func') throw new NotOurs(`the exported ${name} is given no function`);
      if (type !== STUB_FUNCTIONS[name]?.wit) throw new NotOurs(`the exported ${name} is typed ${type}`);
      named.set(name, arg.index);
    }
  } else {
    throw new NotOurs('the exported instance is not made of the stub functions');
  }
  if (named.size !== Object.keys(STUB_FUNCTIONS).length) throw new NotOurs(`the exported instance has ${named.size} functions`);
  for (const [name, index] of named) {
    const func = funcs[index];
    if (!(func && 'lift' in func && lifts[func.lift].fn === name)) throw new NotOurs(`the exported ${name} is not the stub's ${name}`);
  }
}

/**
 * No code runs but the stub's module (instantiated once) and wit-component's
 * glue, and each function the stub's module imports is bound to the host
 * function of that name: a lowered host function, or a shim function whose
 * table slot the fixup fills with one.
 */
function checkHostBindings(
  parts: { modules: Uint8Array[]; coreInstances: CoreInstance[]; coreFuncs: Array<Aliased | { lowered: number }>; lowers: Array<{ host?: string }> },
  mainIndex: number,
  mainImports: string[],
): void {
  const { modules, coreInstances, coreFuncs, lowers } = parts;
  const shimSizes = new Map<number, number | undefined>(); // module index → its shim function count
  const shimSize = (module: number) => {
    if (!shimSizes.has(module)) shimSizes.set(module, shimFunctionCount(modules[module]));
    return shimSizes.get(module);
  };
  const isShim = (c: CoreInstance | undefined) => c?.module !== undefined && c.module !== mainIndex && c.args!.size === 0 && shimSize(c.module) !== undefined;
  const fixupOf = new Map<number, CoreInstance>(); // shim instance → the fixup filling its table
  for (const c of coreInstances) {
    if (c.module === undefined || c.module === mainIndex || isShim(c)) continue;
    const shim = c.args!.get('shim');
    const isFixup = c.args!.size === 2 && c.args!.has('actual') && shim !== undefined && isShim(coreInstances[shim])
      && !fixupOf.has(shim) && fixupSlotCount(modules[c.module]) === shimSize(coreInstances[shim].module!);
    if (!isFixup) throw new NotOurs(`core module ${c.module} is neither the stub's nor wit-component's glue`);
    fixupOf.set(shim, c);
  }
  const mains = coreInstances.filter((c) => c.module === mainIndex);
  if (mains.length !== 1) throw new NotOurs(`the stub's core module is instantiated ${mains.length} times`);
  const args = [...mains[0].args!.keys()];
  if (args.length !== (mainImports.length ? 1 : 0) || (args.length && args[0] !== HOST_MODULE)) {
    throw new NotOurs(`the stub's core module is instantiated with ${args.join(', ') || 'nothing'}`);
  }
  if (!mainImports.length) return;
  const given = coreInstances[mains[0].args!.get(HOST_MODULE)!]?.bag;
  const lowered = (index: number | undefined) => {
    const func = index === undefined ? undefined : coreFuncs[index];
    return func && 'lowered' in func ? lowers[func.lowered].host : undefined;
  };
  const hostBehind = (index: number): string | undefined => {
    const func = coreFuncs[index];
    if (!func || 'lowered' in func) return lowered(index);
    const fixup = func.from === 'core-instance' ? fixupOf.get(func.instance) : undefined;
    const actual = fixup && coreInstances[fixup.args!.get('actual')!]?.bag?.get(func.name);
    return actual?.sort === CORE_FUNC ? lowered(actual.index) : undefined;
  };
  for (const name of mainImports) {
    const item = given?.get(name);
    if (item?.sort !== CORE_FUNC || hostBehind(item.index) !== name) throw new NotOurs(`the stub's import ${name} is bound to something other than the host's ${name}`);
  }
}

interface Options { encoding: string; memory?: number; realloc?: number; postReturn?: number; async: boolean }

function readOptions(body: BinaryReader): Options {
  const options: Options = { encoding: 'utf8', async: false };
  body.vec(() => {
    const code = body.byte();
    if (code === 0x00) options.encoding = 'utf8';
    else if (code === 0x01) options.encoding = 'utf16';
    else if (code === 0x02) options.encoding = 'latin1+utf16';
    else if (code === 0x03) options.memory = body.u32();
    else if (code === 0x04) options.realloc = body.u32();
    else if (code === 0x05) options.postReturn = body.u32();
    else if (code === 0x06) options.async = true;
    else throw new NotOurs(`canon option ${code}`);
  });
  return options;
}

function readSort(body: BinaryReader): Sort {
  const sort = body.byte();
  if (sort === 0x00) {
    const core = body.byte();
    return core === 0x00 ? 'core-func' : core === 0x02 ? 'core-memory' : 'core-other';
  }
  return ({ 0x01: 'func', 0x03: 'type', 0x05: 'instance' } as Record<number, Sort>)[sort] ?? 'other';
}

function readAlias(body: BinaryReader): { sort: Sort; aliased: Aliased } {
  const sort = readSort(body);
  const target = body.byte();
  if (target === 0x00 || target === 0x01) {
    const instance = body.u32();
    return { sort, aliased: { from: target === 0x01 ? 'core-instance' : 'instance', instance, name: body.name() } };
  }
  throw new NotOurs('an outer alias');
}

function addOnce<T>(map: Map<string, T>, name: string, value: T): void {
  if (map.has(name)) throw new NotOurs(`${name} given twice`);
  map.set(name, value);
}

// As validation requires: a module and instances defined before this one.
function readCoreInstance(body: BinaryReader, modules: number, instances: number): CoreInstance {
  const kind = body.byte();
  if (kind === 0x00) {
    const module = body.u32();
    if (module >= modules) throw new Malformed(`core instance of module ${module}, of ${modules} defined`);
    const args = new Map<string, number>();
    body.vec(() => {
      const name = body.name();
      if (body.byte() !== 0x12) throw new NotOurs(`core instantiation argument ${name} is not an instance`);
      const instance = body.u32();
      if (instance >= instances) throw new Malformed(`core instantiation argument ${name} is instance ${instance}, of ${instances} defined`);
      addOnce(args, name, instance);
    });
    return { module, args };
  }
  if (kind === 0x01) {
    const bag = new Map<string, { sort: number; index: number }>();
    body.vec(() => {
      const name = body.name();
      const sort = body.byte();
      addOnce(bag, name, { sort, index: body.u32() });
    });
    return { bag };
  }
  throw new NotOurs(`core instance form ${kind}`);
}

function readInstance(body: BinaryReader): Instance {
  const kind = body.byte();
  const items = (name: () => string) => {
    const map = new Map<string, Item>();
    body.vec(() => {
      const key = name();
      const sort = readSort(body);
      addOnce(map, key, { sort, index: body.u32() });
    });
    return map;
  };
  if (kind === 0x00) {
    const component = body.u32();
    return { component, args: items(() => body.name()) };
  }
  if (kind === 0x01) return { bag: items(() => readExternName(body)) };
  throw new NotOurs(`instance form ${kind}`);
}

/**
 * The inner component wit-component writes to give the stub's functions
 * their names: it imports functions and exports them again, nothing else.
 */
function readReexportComponent(bytes: Uint8Array): Reexports {
  const reader = new BinaryReader(bytes);
  const preamble = reader.take(8);
  if (preamble[0] !== 0 || preamble[1] !== 0x61 || preamble[4] !== 0x0d || preamble[6] !== 1) throw new NotOurs('an inner component that is not a component');
  const types: string[] = [];
  const funcs: Array<{ from: string; type: string | undefined }> = [];
  const reexports: Reexports = new Map();
  const funcType = (body: BinaryReader) => {
    if (body.byte() !== 0x01) throw new NotOurs('an inner component item that is not a function');
    return types[body.u32()];
  };
  for (const { id, body } of reader.sections()) {
    if (id === 0) continue;
    if (id === 7) {
      body.vec(() => types.push(readDefType(body, types)));
    } else if (id === 10) {
      body.vec(() => {
        const name = readExternName(body);
        funcs.push({ from: name, type: funcType(body) });
      });
    } else if (id === 11) {
      body.vec(() => {
        const name = readExternName(body);
        if (readSort(body) !== 'func') throw new NotOurs(`the inner component exports ${name}, not a function`);
        const func = funcs[body.u32()];
        if (!func) throw new NotOurs(`the inner component exports ${name}, an unknown function`);
        const type = body.byte() === 0x01 ? funcType(body) : func.type;
        addOnce(reexports, name, { from: func.from, type });
        funcs.push({ from: func.from, type });
      });
    } else {
      throw new NotOurs(`inner component section ${id}`);
    }
  }
  return reexports;
}

function readExternName(body: BinaryReader): string {
  const form = body.byte();
  if (form !== 0x00 && form !== 0x01) throw new NotOurs(`name form ${form}`);
  return body.name();
}

/** A type, written back as WIT-like text so it can be compared with the world's. */
function readDefType(body: BinaryReader, scope: string[]): string {
  const form = body.byte();
  if (PRIMITIVES[form]) return PRIMITIVES[form];
  switch (form) {
    case 0x70: return `list<${valtype(body, scope)}>`;
    case 0x6b: return `option<${valtype(body, scope)}>`;
    case 0x6f: return `tuple<${body.vec(() => valtype(body, scope)).join(', ')}>`;
    case 0x6a: {
      const ok = body.byte() === 0x01 ? valtype(body, scope) : '_';
      const err = body.byte() === 0x01 ? valtype(body, scope) : undefined;
      if (err === undefined) return ok === '_' ? 'result' : `result<${ok}>`;
      return `result<${ok}, ${err}>`;
    }
    case 0x40: {
      const params = body.vec(() => `${body.name()}: ${valtype(body, scope)}`);
      const results = body.byte();
      if (results === 0x00) return `func(${params.join(', ')}) -> ${valtype(body, scope)}`;
      if (results === 0x01 && body.byte() === 0x00) return `func(${params.join(', ')})`;
      throw new NotOurs('a function with named results');
    }
    case 0x42: return readInstanceType(body, scope);
    default: throw new NotOurs(`type form 0x${form.toString(16)}`);
  }
}

function valtype(body: BinaryReader, scope: string[]): string {
  const code = body.s33();
  if (code < 0) {
    const primitive = PRIMITIVES[code + 0x80];
    if (!primitive) throw new NotOurs(`value type ${code}`);
    return primitive;
  }
  const type = scope[code];
  if (type === undefined || type.startsWith('<') || type.startsWith('instance')) throw new NotOurs(`a reference to type ${code}`);
  return type;
}

// An instance type: its exports, each a function of a type declared inside it.
function readInstanceType(body: BinaryReader, outer: string[]): string {
  void outer;
  const local: string[] = [];
  const functions: string[] = [];
  body.vec(() => {
    const decl = body.byte();
    if (decl === 0x01) {
      local.push(readDefType(body, local));
    } else if (decl === 0x04) {
      const name = readExternName(body);
      const desc = body.byte();
      if (desc !== 0x01) throw new NotOurs(`an instance export ${name} that is not a function`);
      const type = local[body.u32()];
      functions.push(`${name}: ${type}`);
    } else {
      throw new NotOurs(`instance type declaration ${decl}`);
    }
  });
  return `instance{${functions.join('; ')}}`;
}

function checkHostInstanceType(type: string | undefined): void {
  if (!type?.startsWith('instance{')) throw new NotOurs('the host import has no instance type');
  const body = type.slice('instance{'.length, -1);
  for (const entry of body ? body.split('; ') : []) {
    const at = entry.indexOf(': ');
    const name = entry.slice(0, at);
    if (HOST_FUNCTIONS[name]?.wit !== entry.slice(at + 2)) throw new NotOurs(`host function ${entry}`);
  }
}
