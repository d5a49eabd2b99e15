// AssemblyScript stubs: asc (assemblyscript on npm, through its Node API,
// in memory) compiles the stub's sources with the shared glue in stubs/as
// into a core module that imports nothing but host functions, then jco's
// wasm-tools wraps it into a component, as for C.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { readCoreModule } from '../../plugins/direct/core-module.ts';
import { HOST_FUNCTIONS, HOST_MODULE } from '../../plugins/direct/stub-world.ts';
import type { AscJob, AscResult } from './as-compile.ts';
import { START_EXPORT } from './as-world-exports.ts';
import { componentFromCore } from './core-to-component.ts';
import type { BuildComponent } from './manifest.ts';
import { STUBS_DIR } from './paths.ts';

// Resolved as this module loads, so a project without assemblyscript is told
// what to install (build-dir.ts) before anything else runs.
const ASC_URL = import.meta.resolve('assemblyscript/asc');

// The glue's entry: its exports are the module's; the rest of the glue is
// compiled where the stub or it imports it.
const GLUE_ENTRY = join(STUBS_DIR, 'as', 'protostub.ts');

const FLAGS = [
  // TLSF and the incremental collector: a stub's own strings and arrays are
  // collected without it asking, so memory stays bounded. The glue's message
  // path holds no collected object, so it pays no collector bookkeeping.
  '--runtime', 'incremental',
  '-O3',
  // AssemblyScript's failed assertions and bounds checks call the glue's
  // pf_abort (log, then trap) instead of importing env.abort.
  '--use', 'abort=pf_abort',
  // Exported rather than run at instantiation: see as-world-exports.ts.
  '--exportStart', START_EXPORT,
  '--noColors',
];

// What an AssemblyScript import outside the host interface usually comes
// from, to say so instead of leaving it to the component wrapper.
const IMPORT_HINTS: Record<string, string> = {
  'env.trace': 'trace() has no host to print to: use log() from protostub.ts',
  'env.seed': 'Math.random needs a seed no stub is given',
  'Date.now': 'a stub has no clock: use setTimer() for time',
};

function commonDir(paths: string[]): string {
  let common = dirname(paths[0]);
  while (!paths.every((p) => p.startsWith(common + sep))) common = dirname(common);
  return common;
}

export const buildComponent: BuildComponent = async (stubDir, manifest) => {
  if (!manifest.sources?.length) throw new Error(`${manifest.name}: stub.json needs "sources" for lang as`);
  // Kit stubs carry their own copy of the glue (so they build where
  // stubs/as is not shipped); adding ours too would define everything twice.
  const vendored = manifest.sources.some((s) => basename(s) === 'protostub.ts');
  const sources = [...manifest.sources.map((s) => resolve(stubDir, s)), ...(vendored ? [] : [GLUE_ENTRY])];
  // Paths relative to one base, so a glue file the stub imports and the same
  // file given as an entry are one module to asc.
  const baseDir = commonDir(sources);
  const { core, diagnostics, error } = await runAsc({
    ascURL: ASC_URL,
    argv: [...sources.map((s) => relative(baseDir, s)), '--baseDir', baseDir, '--outFile', 'core.wasm', ...FLAGS],
  });
  if (error) throw new Error(`${manifest.name}: asc failed\n${diagnostics || error}`);
  if (diagnostics) console.warn(diagnostics);  // warnings are there to be read
  if (!core) throw new Error(`${manifest.name}: asc wrote no core module`);
  checkImports(manifest.name, core);
  return { component: await componentFromCore(core) };
};

// In a worker with none of this process's flags: under tsx (tests, `npm run
// build:stubs`) the loader's hooks would see binaryen's 13 MiB module, which
// takes 40 times as long to import through them (measured: 55 s against
// 1.2 s on a loaded machine); Node 20 carries no hooks into a worker.
async function runAsc(job: AscJob): Promise<AscResult> {
  const fromSource = import.meta.url.endsWith('.ts');
  const work = fromSource ? await mkdtemp(join(tmpdir(), 'protofly-asc-')) : undefined;
  try {
    const entry = work ? await bundleFromSource(work) : new URL('./as-compile.js', import.meta.url);
    const worker = new Worker(entry, { workerData: job, execArgv: [], stdout: false, stderr: false });
    return await new Promise<AscResult>((done, fail) => {
      worker.once('message', (result: AscResult) => { done(result); void worker.terminate(); });
      worker.once('error', fail);
      worker.once('exit', (code) => fail(new Error(`the asc worker exited (${code}) without an answer`)));
    });
  } finally {
    if (work) await rm(work, { recursive: true, force: true });
  }
}

// From dist the worker's entry is the bundled as-compile.js beside this
// module; run from source it is bundled here first, with esbuild (a dev
// dependency), as plugins/sandbox/worker/node-spawn.ts does.
async function bundleFromSource(work: string): Promise<URL> {
  const { build } = await import('esbuild');
  const outfile = join(work, 'as-compile.mjs');
  await build({
    entryPoints: [new URL('./as-compile.ts', import.meta.url).pathname],
    outfile, bundle: true, format: 'esm', platform: 'node', target: 'node20', logLevel: 'error',
  });
  return pathToFileURL(outfile);
}

// The component may import the host interface and nothing else; a stray
// import would otherwise surface as wasm-tools' complaint about the world.
function checkImports(stub: string, core: Uint8Array): void {
  for (const { module, name } of readCoreModule(core).imports) {
    if (module === HOST_MODULE && HOST_FUNCTIONS[name]) continue;
    const what = `${module}.${name}`;
    const hint = IMPORT_HINTS[what] ?? (module === 'env' ? 'AssemblyScript imports it for a standard library function a stub cannot have' : 'a stub may import only the host functions');
    throw new Error(`${stub}: the core module imports ${what}: ${hint}`);
  }
}
