// The file cache is written while deploys go on: what reads an entry being
// written waits for it, and a second write of it joins the first.
import test from 'ava';
import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileCache } from '../../plugins/sandbox/cache/file-cache.ts';

const entry = { glue: 'export {}', cores: { 'core.wasm': new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]) } };

test('a read of an entry still being written waits for the write, in this cache and any other of the same directory', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'protofly-file-cache-'));
  const cache = fileCache(dir);
  const writing = cache.put('sha256-abc+/=', entry);
  t.true(await fileCache(dir).has('sha256-abc+/='));
  t.deepEqual(await cache.get('sha256-abc+/='), entry);
  await writing;
});

test('a second write of an entry being written joins the first instead of writing it again', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'protofly-file-cache-'));
  const first = fileCache(dir).put('sha256-abc', entry);
  t.is(fileCache(dir).put('sha256-abc', entry), first);
  await first;
  t.deepEqual(await readdir(dir), ['abc'], 'one entry, no temporary left');
});

test('a write that cannot be made rejects, so it can be reported', async (t) => {
  // The cache directory is a file: nothing can be made under it.
  const file = join(await mkdtemp(join(tmpdir(), 'protofly-file-cache-')), 'cache');
  await writeFile(file, '');
  const cache = fileCache(file);
  await t.throwsAsync(cache.put('sha256-abc', entry));
  t.false(await cache.has('sha256-abc'));
});
