// A stub folder as the kit sees it: stub.json, and the component
// `protofly stub build` writes to build/<name>.wasm.
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pfError } from '../kernel/errors.ts';
import { INLINE_SOURCE } from '../kernel/schemas.ts';
import type { StubManifest } from '../stubs/toolchain/manifest.ts';

export interface StubFolder {
  dir: string;
  manifest: StubManifest;
  /** `<dir>/build/<name>.wasm` */
  componentPath: string;
}

export interface PublishedDescriptor {
  name: string;
  version: string;
  sourcePackageURL: string;
  sourcePackage?: { encoding: 'base64'; sourceCode: string };
  sourceHash: string;
  configuration: Record<string, unknown>;
  connect: string[];
  /** With `stub build --key`: the domain's signature over the rest (plugins/trust/descriptor-signature.ts). */
  signature?: { alg: string; key: string; sig: string };
}

export async function readStubFolder(dirArg: string): Promise<StubFolder> {
  const dir = resolve(dirArg);
  const path = join(dir, 'stub.json');
  const text = await readFile(path, 'utf8').catch(() => null);
  if (text === null) throw pfError('PF_ERR_KIT_MANIFEST', [path, 'it cannot be read']);
  let manifest: StubManifest;
  try {
    manifest = JSON.parse(text) as StubManifest;
  } catch (error) {
    throw pfError('PF_ERR_KIT_MANIFEST', [path, (error as Error).message]);
  }
  const problem = manifestProblem(manifest);
  if (problem) throw pfError('PF_ERR_KIT_MANIFEST', [path, problem]);
  return { dir, manifest, componentPath: join(dir, 'build', `${manifest.name}.wasm`) };
}

function manifestProblem(m: StubManifest): string | undefined {
  if (typeof m !== 'object' || m === null) return 'not a JSON object';
  if (typeof m.name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(m.name)) return '"name" must be a file-name-safe string';
  if (!['js', 'c', 'rust', 'as'].includes(m.lang)) return '"lang" must be js, c, rust or as';
  if (m.configuration !== undefined && (typeof m.configuration !== 'object' || m.configuration === null || Array.isArray(m.configuration))) return '"configuration" must be an object';
  if (m.connect !== undefined && !(Array.isArray(m.connect) && m.connect.every((c) => typeof c === 'string'))) return '"connect" must be an array of URLs';
  return undefined;
}

export async function builtComponent(folder: StubFolder): Promise<Uint8Array> {
  if (!(await stat(folder.componentPath).catch(() => null))) throw pfError('PF_ERR_KIT_NOT_BUILT', [folder.componentPath]);
  return new Uint8Array(await readFile(folder.componentPath));
}

export function sha256Of(bytes: Uint8Array): string {
  return `sha256-${createHash('sha256').update(bytes).digest('base64')}`;
}

/**
 * What a domain publishes at its well-known URI: the component at the path
 * where `protofly serve` puts it, or inside the descriptor (`inline`).
 */
export function descriptorOf(manifest: StubManifest, component: Uint8Array, options: { inline?: boolean } = {}): PublishedDescriptor {
  return {
    name: manifest.name,
    version: manifest.version ?? '0.1.0',
    ...(options.inline
      ? { sourcePackageURL: INLINE_SOURCE, sourcePackage: { encoding: 'base64' as const, sourceCode: Buffer.from(component).toString('base64') } }
      : { sourcePackageURL: `/stubs/${manifest.name}.wasm` }),
    sourceHash: sha256Of(component),
    configuration: manifest.configuration ?? {},
    connect: manifest.connect ?? [],
  };
}
