// C stubs: clang compiles the stub's sources with the shared glue in stubs/c
// into a core module (no libc, no WASI), then jco's wasm-tools embeds the
// WIT and wraps the module into a component. The clang is Debian's, or
// @yowasp/clang's where Debian's is not installed (clang-choice.ts); both
// get the same flags.
import { readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { chooseClang } from './clang-choice.ts';
import { componentFromCore } from './core-to-component.ts';
import type { BuildComponent } from './manifest.ts';
import { STUBS_DIR } from './paths.ts';

const GLUE_DIR = join(STUBS_DIR, 'c');

const COMPILE_FLAGS = [
  '--target=wasm32',
  '-nostdlib',
  '-O2',
  '-std=c11',
  '-Wall',
  '-Wextra',
  // memcpy and memset become single memory.copy/fill instructions.
  '-mbulk-memory',
  // Link-time optimisation: the glue's small CBOR and string helpers are
  // inlined into the stub's own code across files (the C echo runs ≈2×
  // faster per message with it).
  '-flto',
];

// No --export flags: the glue's export_name attributes name exactly what the
// component needs, and nothing else leaks into the core module's exports.
const LINK_FLAGS = [
  '--target=wasm32',
  '-nostdlib',
  // The LTO code generator's level, given to the linker rather than as -O:
  // see clang-native.ts on why the link step gets no -O.
  '-flto',
  '-Wl,--lto-O2',
  // A reactor: the host calls the exports, there is no _start.
  '-Wl,--no-entry',
  // Stack below the data: an overflow traps instead of overwriting globals.
  '-Wl,--stack-first',
  '-Wl,-z,stack-size=65536',
  '-Wl,--strip-all',
];

async function glueSources(): Promise<string[]> {
  const names = await readdir(GLUE_DIR);
  return names.filter((n) => n.endsWith('.c')).sort().map((n) => join(GLUE_DIR, n));
}

export const buildComponent: BuildComponent = async (stubDir, manifest) => {
  if (!manifest.sources?.length) throw new Error(`${manifest.name}: stub.json needs "sources" for lang c`);
  const clang = await chooseClang();
  // Kit stubs carry their own copy of the glue (so they build where
  // stubs/c is not shipped); adding ours too would define everything twice.
  const vendored = manifest.sources.some((s) => basename(s) === 'protostub.c');
  const core = await clang.build({
    stub: manifest.name,
    sources: [...manifest.sources.map((s) => join(stubDir, s)), ...(vendored ? [] : await glueSources())],
    includeDirs: [GLUE_DIR],
    compileFlags: COMPILE_FLAGS,
    linkFlags: LINK_FLAGS,
  });
  return { component: await componentFromCore(core), compiler: clang.name };
};
