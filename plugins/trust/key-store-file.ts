// Trust on first use in Node: the keys domains first signed with, in one
// JSON file (domain → keys), like ssh's known_hosts. Written to a temporary
// name and renamed, so a crash never leaves half a file; a file that cannot
// be read as such is an error, never an empty list (that would let any key
// be "first" again).
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { pfError } from '../../kernel/errors.ts';
import { isKeyList, type KeyStore } from './key-store.ts';

export function defaultKeyStoreFile(): string {
  const base = process.env.XDG_STATE_HOME || join(homedir(), '.local', 'state');
  return join(base, 'protofly', 'trusted-keys.json');
}

export function fileKeyStore(file: string = defaultKeyStoreFile()): KeyStore {
  // One read, then this process's copy; writes go one after another.
  let known: Promise<Map<string, readonly string[]>> | undefined;
  let writes: Promise<unknown> = Promise.resolve();
  const load = () => (known ??= read(file));
  return {
    async get(domain) {
      return (await load()).get(domain);
    },
    async set(domain, keys) {
      const map = await load();
      map.set(domain, [...keys]);
      const write = writes.then(() => save(file, map));
      writes = write.catch(() => {});
      await write;
    },
  };
}

async function read(file: string): Promise<Map<string, readonly string[]>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw pfError('PF_ERR_SIGNATURE_KEY_INVALID', [`the remembered keys at ${file} cannot be read: ${(error as Error).message}`]);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw pfError('PF_ERR_SIGNATURE_KEY_INVALID', [`the remembered keys at ${file} are not JSON; fix or remove the file`]);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw pfError('PF_ERR_SIGNATURE_KEY_INVALID', [`${file} is not an object of domain → keys`]);
  const map = new Map<string, readonly string[]>();
  for (const [domain, keys] of Object.entries(value)) {
    if (!isKeyList(keys)) throw pfError('PF_ERR_SIGNATURE_KEY_INVALID', [`${file} holds something other than keys for ${domain}`]);
    map.set(domain, keys);
  }
  return map;
}

async function save(file: string, map: Map<string, readonly string[]>): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(temporary, `${JSON.stringify(Object.fromEntries(map), null, 2)}\n`, { mode: 0o600 });
  await rename(temporary, file);
}
