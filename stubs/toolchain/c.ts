// C stubs: clang compiles the stub's sources with the shared glue in stubs/c
// into a core module (no libc, no WASI), then jco's wasm-tools embeds the
// WIT and wraps the module into a component.
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { componentFromCore } from './core-to-component.ts';
import type { BuildComponent } from './manifest.ts';
import { STUBS_DIR } from './paths.ts';
import { requireTool } from './require-tool.ts';

const run = promisify(execFile);

const CLANG = process.env.PROTOFLY_CLANG ?? '/usr/bin/clang';
const GLUE_DIR = join(STUBS_DIR, 'c');
const INSTALL_HINT = 'install it with `apt-get install clang lld` (or set PROTOFLY_CLANG)';

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
  `-I${GLUE_DIR}`,
];

// No --export flags: the glue's export_name attributes name exactly what the
// component needs, and nothing else leaks into the core module's exports.
const LINK_FLAGS = [
  '--target=wasm32',
  '-nostdlib',
  // The LTO code generator's level, given to the linker rather than as -O:
  // see buildComponent on why the link step gets no -O.
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

async function clang(stub: string, args: string[]): Promise<void> {
  try {
    const { stderr } = await run(CLANG, args, { maxBuffer: 16 << 20 });
    if (stderr.trim()) console.warn(stderr.trimEnd());  // warnings: -Wall is there to be read
  } catch (error) {
    const stderr = String((error as { stderr?: string }).stderr ?? '').trim();
    const hint = /wasm-ld/.test(stderr) && /not found|doesn't exist|No such file/i.test(stderr)
      ? `\nthe wasm linker is missing: ${INSTALL_HINT}`
      : '';
    throw new Error(`${stub}: clang failed\n${stderr || (error as Error).message}${hint}`);
  }
}

export const buildComponent: BuildComponent = async (stubDir, manifest) => {
  if (!manifest.sources?.length) throw new Error(`${manifest.name}: stub.json needs "sources" for lang c`);
  await requireTool(CLANG, 'C stubs need clang', INSTALL_HINT);
  const work = await mkdtemp(join(tmpdir(), `protofly-${manifest.name}-`));
  try {
    const core = join(work, 'core.wasm');
    // Kit stubs carry their own copy of the glue (so they build where
    // stubs/c is not shipped); adding ours too would define everything twice.
    const vendored = manifest.sources.some((s) => basename(s) === 'protostub.c');
    const sources = [...manifest.sources.map((s) => join(stubDir, s)), ...(vendored ? [] : await glueSources())];
    const objects = sources.map((_, i) => join(work, `${i}.o`));
    // Compile and link apart: a clang link step given -O runs any wasm-opt it
    // finds on PATH (npm puts binaryen's there) without our feature flags,
    // and that rejects the bulk-memory instructions.
    await Promise.all(sources.map((src, i) => clang(manifest.name, [...COMPILE_FLAGS, '-c', '-o', objects[i], src])));
    await clang(manifest.name, [...LINK_FLAGS, '-o', core, ...objects]);
    return await componentFromCore(core);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
};
