// Transpiled components are kept by source hash: a later deploy skips the
// download and the transpile; a changed hash never uses a stale entry.
import test from 'ava';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { clearComponentCache } from '../../api.ts';
import type { StepEvent } from '../../kernel/types.ts';
import type { ComponentCache } from '../../plugins/sandbox/cache/component-cache.ts';
import { fileCache } from '../../plugins/sandbox/cache/file-cache.ts';
import { freshCopy } from '../helpers/built.ts';
import { catalogue, runtime } from '../helpers/runtime.ts';
import { until } from '../helpers/until.ts';

function substeps(rt: ReturnType<typeof runtime>): string[] {
  const seen: string[] = [];
  rt.hooks.step.tap('test', (event: StepEvent) => { if (event.parent && event.phase === 'end') seen.push(`${event.parent}:${event.hook}`); });
  return seen;
}

for (const [path, prepare] of [['jco', 'instantiate:transpile'], ['direct', 'instantiate:recognise']] as const) {
  test(`a deploy in a new process finds the component in the cache directory: no download, no ${prepare.split(':')[1]} (${path} path)`, async (t) => {
    const component = await freshCopy('echo-c');
    const domain = await catalogue(t, { default: { component } }, { inlineMaxBytes: 0 });
    const cacheDir = await mkdtemp(join(tmpdir(), 'protofly-cache-'));
    const source = `/stubs/${basename(component)}`;
    const directPath = path === 'jco' ? false as const : undefined;

    const cold = runtime(t, { cacheDir, directPath });
    const coldSteps = substeps(cold);
    await cold.deployStub(domain.origin);
    t.deepEqual(coldSteps, ['loadSource:download', 'loadSource:integrity', prepare, 'instantiate:compile']);

    clearComponentCache(); // what a new process would start with
    const warm = runtime(t, { cacheDir, directPath });
    const warmSteps = substeps(warm);
    const stub = await warm.deployStub(domain.origin);
    t.is(stub.status, 'LIVE');
    t.deepEqual(warmSteps, ['loadSource:cached', 'instantiate:compile']);
    t.is(domain.hits(source), 1, 'the source was downloaded once');
  });
}

test('a changed source hash never uses a stale cache entry', async (t) => {
  const first = await freshCopy('echo-c');
  const domain = await catalogue(t, { default: { component: first } }, { inlineMaxBytes: 0 });
  const cacheDir = await mkdtemp(join(tmpdir(), 'protofly-cache-'));
  await runtime(t, { cacheDir }).deployStub(domain.origin);

  const second = await catalogue(t, { default: { component: await freshCopy('echo-c') } }, { inlineMaxBytes: 0 });
  const rt = runtime(t, { cacheDir });
  const steps = substeps(rt);
  await rt.deployStub(second.origin);
  t.true(steps.includes('loadSource:download'));
  t.true(steps.includes('instantiate:recognise'));
});

for (const [path, directPath] of [['jco', false], ['direct', undefined]] as const) {
  test(`a deploy does not wait for its cache write: with the write held back it goes LIVE, and the entry is kept once the write goes on (${path} path)`, async (t) => {
    const component = await freshCopy('echo-c');
    const domain = await catalogue(t, { default: { component } }, { inlineMaxBytes: 0 });
    const disk = fileCache(await mkdtemp(join(tmpdir(), 'protofly-cache-')));
    let goOn!: () => void;
    const held = new Promise<void>((resolve) => { goOn = resolve; });
    const writes: Array<Promise<void>> = [];
    const slowDisk: ComponentCache = {
      has: (key) => disk.has(key),
      get: (key) => disk.get(key),
      put: (key, entry) => {
        const write = held.then(() => disk.put(key, entry));
        writes.push(write);
        return write;
      },
    };

    const stub = await runtime(t, { directPath, sandbox: { cache: slowDisk } }).deployStub(domain.origin);
    t.is(stub.status, 'LIVE');
    t.is(writes.length, 1, 'the write was started, and is still held');

    goOn();
    await Promise.all(writes);
    clearComponentCache(); // what a new process would start with
    const later = runtime(t, { directPath, sandbox: { cache: slowDisk } });
    const steps = substeps(later);
    await later.deployStub(domain.origin);
    t.true(steps.includes('loadSource:cached'), steps.join(', '));
  });
}

test('a cache write that fails is reported (PF_ERR_CACHE_WRITE), and the deploy goes LIVE all the same', async (t) => {
  const component = await freshCopy('echo-c');
  const domain = await catalogue(t, { default: { component } }, { inlineMaxBytes: 0 });
  // The cache directory is a file: nothing can be written under it.
  const cacheDir = join(await mkdtemp(join(tmpdir(), 'protofly-cache-')), 'cache');
  await writeFile(cacheDir, '');
  const rt = runtime(t, { cacheDir });
  const stub = await rt.deployStub(domain.origin);
  t.is(stub.status, 'LIVE');
  await until('the failed write is reported', () => rt.errors.some((e) => e.code === 'PF_ERR_CACHE_WRITE'));
  t.like(rt.errors.find((e) => e.code === 'PF_ERR_CACHE_WRITE'), { domain: domain.domain, stubURL: stub.stubURL });
});

test('a component inside its descriptor is checked again rather than read from the disk cache, and is not written there (direct path)', async (t) => {
  const component = await freshCopy('echo-c');
  const domain = await catalogue(t, { default: { component } }); // 18 KiB: inside the descriptor
  const disk = fileCache(await mkdtemp(join(tmpdir(), 'protofly-cache-')));
  const used: string[] = [];
  const watched: ComponentCache = {
    has: (key) => { used.push(`has ${key}`); return disk.has(key); },
    get: (key) => { used.push(`get ${key}`); return disk.get(key); },
    put: (key, entry) => { used.push(`put ${key}`); return disk.put(key, entry); },
  };
  for (const run of ['first', 'in a new process']) {
    if (run !== 'first') clearComponentCache();
    const rt = runtime(t, { directPath: undefined, sandbox: { cache: watched } });
    const steps = substeps(rt);
    t.is((await rt.deployStub(domain.origin)).status, 'LIVE');
    t.deepEqual(steps, ['loadSource:inline', 'loadSource:integrity', 'instantiate:recognise', 'instantiate:compile'], run);
  }
  t.deepEqual(used, []);
});
