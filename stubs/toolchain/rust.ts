// Rust stubs: Debian's rustc compiles the stub's crate root (no cargo, no
// crates) into a core module for wasm32-unknown-unknown, then jco's
// wasm-tools embeds the WIT and wraps the module into a component.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { componentFromCore } from './core-to-component.ts';
import type { BuildComponent } from './manifest.ts';
import { requireTool } from './require-tool.ts';

const run = promisify(execFile);

// An explicit path: a rustup rustc earlier on PATH would build with another
// compiler and std than CI has.
const RUSTC = process.env.PROTOFLY_RUSTC ?? '/usr/bin/rustc';
const INSTALL_HINT = 'install it with `apt-get install rustc libstd-rust-dev-wasm32` (or set PROTOFLY_RUSTC)';

function rustcArgs(entry: string, crateName: string, out: string): string[] {
  return [
    '--edition', '2021',
    '--target', 'wasm32-unknown-unknown',
    '--crate-type', 'cdylib',
    '--crate-name', crateName,
    '-O',
    // A panic cannot unwind across the component boundary anyway; aborting
    // keeps the unwinding machinery out of the module.
    '-C', 'panic=abort',
    '-C', 'strip=symbols',
    '-o', out,
    entry,
  ];
}

async function rustc(stub: string, args: string[]): Promise<void> {
  try {
    const { stderr } = await run(RUSTC, args, { maxBuffer: 16 << 20 });
    if (stderr.trim()) console.warn(stderr.trimEnd());  // warnings are there to be read
  } catch (error) {
    const stderr = String((error as { stderr?: string }).stderr ?? '').trim();
    const hint = /can't find crate for `(std|core)`|target may not be installed/.test(stderr)
      ? `\nthe wasm32 standard library is missing: ${INSTALL_HINT}`
      : '';
    throw new Error(`${stub}: rustc failed\n${stderr || (error as Error).message}${hint}`);
  }
}

export const buildComponent: BuildComponent = async (stubDir, manifest) => {
  if (!manifest.entry) throw new Error(`${manifest.name}: stub.json needs "entry" (the crate root) for lang rust`);
  await requireTool(RUSTC, 'Rust stubs need rustc', INSTALL_HINT);
  const work = await mkdtemp(join(tmpdir(), `protofly-${manifest.name}-`));
  try {
    const core = join(work, 'core.wasm');
    await rustc(manifest.name, rustcArgs(join(stubDir, manifest.entry), manifest.name.replace(/[^A-Za-z0-9_]/g, '_'), core));
    return { component: await componentFromCore(await readFile(core)) };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
};
