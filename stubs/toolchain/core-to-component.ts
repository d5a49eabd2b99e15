// Native toolchains (C, Rust, AssemblyScript) make a core module that imports and exports
// the canonical ABI names; jco wraps it into the protostub component.
import { readFile } from 'node:fs/promises';
import { componentEmbed, componentNew } from '@bytecodealliance/jco';
import { WIT_PATH } from './paths.ts';

/** The core module as bytes, or the path of a file holding it. */
export async function componentFromCore(core: string | Uint8Array): Promise<Uint8Array> {
  // WIT as text, not a path: jco's file-path options go through a WASI
  // filesystem that cannot see this machine's paths ("failed to get path metadata").
  const embedded = await componentEmbed({
    binary: typeof core === 'string' ? await readFile(core) : core,
    witSource: await readFile(WIT_PATH, 'utf8'),
    world: 'protostub',
    stringEncoding: 'utf8',
  });
  return componentNew(embedded);
}
