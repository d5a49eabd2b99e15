// `protofly stub build <dir>`: the folder's component into
// <dir>/build/<name>.wasm, and the descriptor that publishes it.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { describe, pfError } from '../kernel/errors.ts';
import { recognise } from '../plugins/direct/component-shape.ts';
import { signDescriptor } from '../plugins/trust/descriptor-signature.ts';
import type { KeyPair } from '../plugins/trust/keys.ts';
import { signComponent } from '../plugins/trust/wasm-signature.ts';
import { buildStubDir } from '../stubs/toolchain/build-dir.ts';
import { descriptorOf, readStubFolder, type PublishedDescriptor } from './stub-folder.ts';

export interface BuiltStub {
  path: string;
  bytes: number;
  ms: number;
  /** Signed too (a `signature` field) when the build was given a key. */
  descriptor: PublishedDescriptor;
  /** Which compiler built it, when its language has more than one ("@yowasp/clang 22.0.0-… (clang in WebAssembly)"). */
  compiler?: string;
  /** How a runtime will call into it: the direct path, or jco's glue and why. */
  runsOn: { kind: 'direct' } | { kind: 'jco'; declined: string };
}

/** `key`: the domain's key pair; the component and its descriptor are signed with it. */
export async function buildStub(dir: string, options: { inline?: boolean; key?: KeyPair } = {}): Promise<BuiltStub> {
  const folder = await readStubFolder(dir);
  const started = performance.now();
  let component: Uint8Array;
  let compiler: string | undefined;
  try {
    ({ component, compiler } = await buildStubDir(folder.dir, folder.manifest));
  } catch (error) {
    throw pfError('PF_ERR_KIT_BUILD', [folder.manifest.name, describe(error)], { cause: error });
  }
  // The component first: signing rewrites its bytes, and the descriptor's
  // sourceHash (signed in turn) must be of the bytes that are published.
  if (options.key) component = await signComponent(component, options.key);
  const descriptor = descriptorOf(folder.manifest, component, options);
  await mkdir(dirname(folder.componentPath), { recursive: true });
  await writeFile(folder.componentPath, component);
  return {
    path: folder.componentPath,
    bytes: component.byteLength,
    ms: Math.round(performance.now() - started),
    descriptor: options.key ? { ...descriptor, ...await signDescriptor({ ...descriptor }, options.key) } : descriptor,
    compiler,
    runsOn: pathOf(component),
  };
}

function pathOf(component: Uint8Array): BuiltStub['runsOn'] {
  const verdict = recognise(component);
  return verdict.ok ? { kind: 'direct' } : { kind: 'jco', declined: verdict.reason };
}
