// One stub folder → one component, whichever language it is written in.
// Shared by `npm run build:stubs` (every stub of this repo) and
// `protofly stub build <dir>` (a folder anywhere).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BuildComponent, StubManifest } from './manifest.ts';

// Loaded on demand: each pulls in a heavy compiler (esbuild, componentize-js).
export const TOOLCHAINS: Record<StubManifest['lang'], () => Promise<BuildComponent>> = {
  js: async () => (await import('./js.ts')).buildComponent,
  c: async () => (await import('./c.ts')).buildComponent,
  rust: async () => (await import('./rust.ts')).buildComponent,
};

export async function readManifest(dir: string): Promise<StubManifest> {
  return JSON.parse(await readFile(join(dir, 'stub.json'), 'utf8')) as StubManifest;
}

export async function buildStubDir(dir: string, manifest?: StubManifest): Promise<{ component: Uint8Array; manifest: StubManifest }> {
  const read = manifest ?? await readManifest(dir);
  const toolchain = TOOLCHAINS[read.lang];
  if (!toolchain) throw new Error(`${read.name}: unknown lang "${read.lang}" (js, c or rust)`);
  return { component: await (await toolchain())(dir, read), manifest: read };
}
