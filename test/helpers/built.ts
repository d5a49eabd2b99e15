// Built components (npm run build:stubs). Tests use the real thing.
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('../../build/stubs/', import.meta.url));
export const builtStub = (name: string) => `${dir}${name}.wasm`;

/**
 * A copy of a built component with a unique hash (a custom section appended,
 * which changes no behaviour), for tests that must not find it in a cache.
 */
export async function freshCopy(name: string): Promise<string> {
  const { readFile, writeFile, mkdtemp } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const bytes = new Uint8Array(await readFile(builtStub(name)));
  const path = join(await mkdtemp(join(tmpdir(), 'protofly-copy-')), `${name}.wasm`);
  await writeFile(path, withCustomSection(bytes, 'protofly-test', crypto.randomUUID()));
  return path;
}

/** The bytes with a custom section appended (a behaviour-free change that makes a new hash). */
export function withCustomSection(bytes: Uint8Array, name: string, text: string): Uint8Array {
  const label = new TextEncoder().encode(name);
  const payload = new TextEncoder().encode(text);
  // custom section: id 0, size, name (length-prefixed), payload — all under 128 bytes
  const size = 1 + label.length + payload.length;
  if (size > 127) throw new Error('a custom section of at most 127 bytes: its size is one LEB128 byte');
  const out = new Uint8Array(bytes.length + 3 + label.length + payload.length);
  out.set(bytes);
  out.set([0, size, label.length, ...label, ...payload], bytes.length);
  return out;
}
