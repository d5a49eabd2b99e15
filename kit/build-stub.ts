// `protofly stub build <dir>`: the folder's component into
// <dir>/build/<name>.wasm, and the descriptor that publishes it.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { describe, pfError } from '../kernel/errors.ts';
import { recognise } from '../plugins/direct/component-shape.ts';
import { buildStubDir } from '../stubs/toolchain/build-dir.ts';
import { descriptorOf, readStubFolder, type PublishedDescriptor } from './stub-folder.ts';

export interface BuiltStub {
  path: string;
  bytes: number;
  ms: number;
  descriptor: PublishedDescriptor;
  /** Which compiler built it, when its language has more than one ("@yowasp/clang 22.0.0-… (clang in WebAssembly)"). */
  compiler?: string;
  /** How a runtime will call into it: the direct path, or jco's glue and why. */
  runsOn: { kind: 'direct' } | { kind: 'jco'; declined: string };
}

export async function buildStub(dir: string, options: { inline?: boolean } = {}): Promise<BuiltStub> {
  const folder = await readStubFolder(dir);
  const started = performance.now();
  let component: Uint8Array;
  let compiler: string | undefined;
  try {
    ({ component, compiler } = await buildStubDir(folder.dir, folder.manifest));
  } catch (error) {
    throw pfError('PF_ERR_KIT_BUILD', [folder.manifest.name, describe(error)], { cause: error });
  }
  await mkdir(dirname(folder.componentPath), { recursive: true });
  await writeFile(folder.componentPath, component);
  return {
    path: folder.componentPath,
    bytes: component.byteLength,
    ms: Math.round(performance.now() - started),
    descriptor: descriptorOf(folder.manifest, component, options),
    compiler,
    runsOn: pathOf(component),
  };
}

function pathOf(component: Uint8Array): BuiltStub['runsOn'] {
  const verdict = recognise(component);
  return verdict.ok ? { kind: 'direct' } : { kind: 'jco', declined: verdict.reason };
}
