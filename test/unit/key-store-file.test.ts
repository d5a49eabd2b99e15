import test from 'ava';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileKeyStore } from '../../plugins/trust/key-store-file.ts';

const file = async () => join(await mkdtemp(join(tmpdir(), 'protofly-keystore-')), 'sub', 'trusted-keys.json');

test('remembered keys survive the process: a new store on the same file reads them back', async (t) => {
  const path = await file();
  await fileKeyStore(path).set('example.com', ['ed25519:AAAA']);
  await fileKeyStore(path).set('example.com', ['ed25519:BBBB']);
  t.deepEqual(await fileKeyStore(path).get('example.com'), ['ed25519:BBBB']);
  t.is(await fileKeyStore(path).get('other.example'), undefined);
  t.deepEqual(JSON.parse(await readFile(path, 'utf8')), { 'example.com': ['ed25519:BBBB'] });
});

test('a damaged file is an error, never an empty list that would make any key the first one again', async (t) => {
  const path = await file();
  await fileKeyStore(path).set('example.com', ['ed25519:AAAA']);
  await writeFile(path, '{"example.com": ["ed25519:AAAA"');
  await t.throwsAsync(fileKeyStore(path).get('example.com'), { code: 'PF_ERR_SIGNATURE_KEY_INVALID' } as never);
  await writeFile(path, '{"example.com": "ed25519:AAAA"}');
  await t.throwsAsync(fileKeyStore(path).get('example.com'), { code: 'PF_ERR_SIGNATURE_KEY_INVALID' } as never);
});
