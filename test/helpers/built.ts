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
  const bytes = await readFile(builtStub(name));
  const label = new TextEncoder().encode('protofly-test');
  const payload = new TextEncoder().encode(crypto.randomUUID());
  // custom section: id 0, size, name (length-prefixed), payload — all under 128 bytes
  const section = Uint8Array.from([0, 1 + label.length + payload.length, label.length, ...label, ...payload]);
  const path = join(await mkdtemp(join(tmpdir(), 'protofly-copy-')), `${name}.wasm`);
  await writeFile(path, Buffer.concat([bytes, section]));
  return path;
}
