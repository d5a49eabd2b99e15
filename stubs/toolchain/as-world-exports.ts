// An asc transform that shapes an AssemblyScript core module for the
// protostub world. AssemblyScript cannot spell an export name such as
// "protofly:stub/stub@0.1.0#init", exports everything its entry files
// export, and runs a start function at instantiation, which the direct path
// refuses. So, after compiling and before optimising:
// - the glue's export_* functions are exported under their world names,
//   and nothing but the world's exports and the memory stays exported;
// - the start function (asc --exportStart) runs once, from whichever of
//   those exports the host calls first (cabi_realloc, before init), as a
//   WASI reactor's _initialize would.
import type binaryen from 'assemblyscript/binaryen';
import { postReturnOf, REALLOC, STUB_FUNCTIONS, STUB_INSTANCE } from '../../plugins/direct/stub-world.ts';

/** The name asc is told to export the start function under (--exportStart). */
export const START_EXPORT = 'protofly_start';
const STARTED = '~protofly/started';

/** AssemblyScript name → world name: export_on_messages → …#on-messages. */
export const WORLD_EXPORTS: Record<string, string> = {
  [REALLOC]: REALLOC,
  ...Object.fromEntries(Object.keys(STUB_FUNCTIONS).map((fn) => [`export_${fn.replaceAll('-', '_')}`, `${STUB_INSTANCE}#${fn}`])),
  post_return_init: postReturnOf('init'),
};

type Binaryen = typeof binaryen;

/** asc instantiates a transform class itself and gives it `binaryen`. */
export class WorldExports {
  declare readonly binaryen: Binaryen;

  afterCompile(module: binaryen.Module): void {
    const b = this.binaryen;
    const exports = Array.from({ length: module.getNumExports() }, (_, i) => b.getExportInfo(module.getExportByIndex(i)));
    const start = exports.find((e) => e.name === START_EXPORT && e.kind === b.ExternalFunction)?.value;
    for (const name of Object.keys(WORLD_EXPORTS)) {
      if (!exports.some((e) => e.name === name && e.kind === b.ExternalFunction)) {
        throw new Error(`the AssemblyScript glue exports no ${name}: is protostub.ts among the stub's sources?`);
      }
    }
    if (start) module.addGlobal(STARTED, b.i32, true, module.i32.const(0));
    for (const { name, kind, value } of exports) {
      if (kind === b.ExternalMemory && name === 'memory') continue;
      module.removeExport(name);
      const worldName = WORLD_EXPORTS[name];
      if (kind !== b.ExternalFunction || worldName === undefined) continue;
      module.addFunctionExport(value, worldName);
      if (start) runsStartFirst(b, module, value, start);
    }
  }
}

// Prefixes the function's body with: if (!started) { started = 1; start(); }
function runsStartFirst(b: Binaryen, module: binaryen.Module, name: string, start: string): void {
  const fn = module.getFunction(name);
  const { body, results } = b.getFunctionInfo(fn);
  const once = module.if(
    module.i32.eqz(module.global.get(STARTED, b.i32)),
    module.block(null, [module.global.set(STARTED, module.i32.const(1)), module.call(start, [], b.none)]),
  );
  // binaryen.js has Function.setBody at run time; its typings put it elsewhere.
  const { Function: Fn } = b as unknown as { Function: { setBody(fn: binaryen.FunctionRef, body: binaryen.ExpressionRef): void } };
  Fn.setBody(fn, module.block(null, [once, body], results));
}
