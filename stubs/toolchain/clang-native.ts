// An installed clang and wasm-ld (Debian's clang and lld), run as programs:
// the sources compile in parallel, then one link.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { CJob, Clang } from './c-job.ts';
import { toolVersion } from './require-tool.ts';

const run = promisify(execFile);

async function clang(path: string, stub: string, args: string[]): Promise<void> {
  try {
    const { stderr } = await run(path, args, { maxBuffer: 16 << 20 });
    if (stderr.trim()) console.warn(stderr.trimEnd());  // warnings: -Wall is there to be read
  } catch (error) {
    const stderr = String((error as { stderr?: string }).stderr ?? '').trim();
    throw new Error(`${stub}: clang failed\n${stderr || (error as Error).message}`);
  }
}

async function build(path: string, job: CJob): Promise<Uint8Array> {
  const work = await mkdtemp(join(tmpdir(), `protofly-${job.stub}-`));
  try {
    const core = join(work, 'core.wasm');
    const objects = job.sources.map((_, i) => join(work, `${i}.o`));
    const includes = job.includeDirs.map((dir) => `-I${dir}`);
    // Compile and link apart: a clang link step given -O runs any wasm-opt it
    // finds on PATH (npm puts binaryen's there) without our feature flags,
    // and that rejects the bulk-memory instructions.
    await Promise.all(job.sources.map((src, i) => clang(path, job.stub, [...job.compileFlags, ...includes, '-c', '-o', objects[i], src])));
    await clang(path, job.stub, [...job.linkFlags, '-o', core, ...objects]);
    return await readFile(core);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * The clang at `path` if it runs and finds a wasm-ld to link with; else
 * what is missing ("no clang at /usr/bin/clang").
 */
export async function nativeClang(path: string): Promise<Clang | { missing: string }> {
  const version = await toolVersion(path);
  if (!version) return { missing: `no clang at ${path}` };
  // The linker this clang would run: a bare name when it found none.
  const { stdout } = await run(path, ['--target=wasm32', '-print-prog-name=wasm-ld']);
  const linker = stdout.trim();
  if (!(await toolVersion(linker))) return { missing: `${path} finds no wasm-ld` };
  return { name: `${version} (${path})`, build: (job) => build(path, job) };
}
