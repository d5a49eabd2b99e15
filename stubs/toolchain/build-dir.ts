// One stub folder → one component, whichever language it is written in.
// Shared by `npm run build:stubs` (every stub of this repo) and
// `protofly stub build <dir>` (a folder anywhere).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BuildComponent, BuiltComponent, StubManifest } from './manifest.ts';

/**
 * What a JavaScript/TypeScript stub's build needs beside protofly, as this
 * repository pins them (package.json's optional peerDependencies say the
 * same): an installed package does not bring them, as few users build
 * JavaScript stubs and StarlingMonkey alone is ≈10 MiB.
 */
export const JS_TOOLCHAIN = {
  esbuild: '0.28.2',
  '@bytecodealliance/componentize-js': '0.23.0',
  // componentize-js imports it without depending on it.
  '@bytecodealliance/preview2-shim': '0.26.1',
};

/** The same for an AssemblyScript stub: the compiler, asc. */
export const AS_TOOLCHAIN = {
  assemblyscript: '0.28.20',
};

// A toolchain whose npm packages may be missing: if they are, the error names
// them and the line that adds them.
async function loadNeeding(toolchain: Record<string, string>, what: string, load: () => Promise<{ buildComponent: BuildComponent }>): Promise<BuildComponent> {
  try {
    return (await load()).buildComponent;
  } catch (error) {
    if ((error as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw error;
    const wanted = Object.entries(toolchain).map(([name, version]) => `${name}@${version}`).join(' ');
    throw new Error(`${what} is built with ${Object.keys(toolchain).join(', ')}, not all installed here: npm install --save-dev ${wanted} (${(error as Error).message})`);
  }
}

// Loaded on demand: each pulls in a heavy compiler (esbuild, componentize-js, asc).
export const TOOLCHAINS: Record<StubManifest['lang'], () => Promise<BuildComponent>> = {
  js: () => loadNeeding(JS_TOOLCHAIN, 'a JavaScript or TypeScript stub', () => import('./js.ts')),
  c: async () => (await import('./c.ts')).buildComponent,
  rust: async () => (await import('./rust.ts')).buildComponent,
  as: () => loadNeeding(AS_TOOLCHAIN, 'an AssemblyScript stub', () => import('./as.ts')),
};

export async function readManifest(dir: string): Promise<StubManifest> {
  return JSON.parse(await readFile(join(dir, 'stub.json'), 'utf8')) as StubManifest;
}

export async function buildStubDir(dir: string, manifest?: StubManifest): Promise<BuiltComponent & { manifest: StubManifest }> {
  const read = manifest ?? await readManifest(dir);
  const toolchain = TOOLCHAINS[read.lang];
  if (!toolchain) throw new Error(`${read.name}: unknown lang "${read.lang}" (js, c, rust or as)`);
  return { ...await (await toolchain())(dir, read), manifest: read };
}
