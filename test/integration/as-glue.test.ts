// The AssemblyScript glue (stubs/as) keeps the canonical ABI in both
// directions: a fixture stub built here from source calls every host
// function and gets every callback, through the direct path and through
// jco's glue, and both see the same thing.
import test from 'ava';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeBatch, encodeBatch, encodeCbor } from '../../kernel/cbor.ts';
import { recognise } from '../../plugins/direct/component-shape.ts';
import type { PreparedComponent } from '../../plugins/sandbox/component-instance.ts';
import { compileComponent, transpileComponent } from '../../plugins/sandbox/component-loader.ts';
import { startGuest, type Guest, type GuestHost } from '../../plugins/sandbox/guest.ts';
import { pagesFor } from '../../plugins/sandbox/memory-limit.ts';
import { newStub } from '../../kit/new-stub.ts';
import { buildStubDir } from '../../stubs/toolchain/build-dir.ts';
import { sleep, until } from '../helpers/until.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/as-host-calls/', import.meta.url));
const STUB_URL = 'hyperty-runtime://d.example/protostub/1';
const URL_ALLOWED = 'ws://127.0.0.1:9/mqtt';

const built = buildStubDir(FIXTURE).then(({ component }) => component);

async function prepare(path: 'direct' | 'jco'): Promise<PreparedComponent> {
  const component = await built;
  if (path === 'jco') return compileComponent(await transpileComponent(component), pagesFor(64));
  const shape = recognise(component);
  if (!shape.ok) throw new Error(shape.reason);
  return { kind: 'direct', module: await WebAssembly.compile(shape.core as Uint8Array<ArrayBuffer>), postReturn: shape.postReturn };
}

interface Run { events: string[]; guest: Guest; congest(on: boolean): void }

async function start(path: 'direct' | 'jco'): Promise<Run> {
  const events: string[] = [];
  let waiting = 0;
  const host: GuestHost = {
    post: (batch) => events.push(`post ${JSON.stringify(decodeBatch(batch))}`),
    open: (conn, url, protocols) => events.push(`open ${conn} ${url} [${protocols.join(', ')}]`),
    send: (conn, frame) => events.push(`send ${conn} ${Buffer.from(frame).toString('hex')}`),
    outbound: () => waiting,
    close: (conn) => events.push(`close ${conn}`),
    // Where AssemblyScript's standard library aborted, less its line and column.
    log: (level, text) => events.push(`log ${level} ${text.replace(/(~lib\/[\w/.]+):\d+:\d+$/, '$1')}`),
    // The stub's own log line says what it was refused (the trace compared below).
    refused: () => {},
    fault: (code) => events.push(`fault ${code}`),
  };
  const guest = await startGuest(await prepare(path), host, {
    connect: [URL_ALLOWED], maxConnections: 1, maxTimers: 8, maxPostsPerSecond: 1e6, maxMessagesPerSecond: 1e6, maxBytesPerSecond: 1e12, maxPostBytes: 1 << 20, maxMemoryBytes: 64 << 20, maxOutboundBytes: 1 << 20,
  }, encodeCbor({ runtimeURL: 'hyperty-runtime://r', stubURL: STUB_URL, domain: 'd.example', configuration: { url: URL_ALLOWED }, credentials: null }));
  return { events, guest, congest: (on) => { waiting = on ? 1 << 30 : 0; } };
}

const command = (resource: string) => new Uint8Array(encodeBatch([{ id: resource, type: 'EXECUTE', from: 'hyperty://d.example/test', to: STUB_URL, resource }]));

async function script({ events, guest, congest }: Run): Promise<void> {
  guest.deliver(command('open'));
  guest.onOpen(1);
  guest.deliver(command('open'));  // one connection at most: refused
  guest.deliver(command('send'));
  congest(true);
  guest.deliver(command('send'));
  congest(false);
  guest.onFrame(1, Uint8Array.of(1, 2, 3));
  guest.deliver(command('log'));
  guest.deliver(command('timer'));
  await until('the first timer', () => events.includes('log 2 timer fired 1'));
  guest.deliver(command('timer'));
  guest.deliver(command('cancel'));
  await sleep(50);  // the cancelled timer would have fired by now
  guest.onClose(1, 'bye ✓');
  guest.deliver(command('open'));
  guest.deliver(command('close'));
  guest.deliver(command('abort'));
}

test('the AssemblyScript glue lowers and lifts lists, strings and results both ways, the same on the direct path and through jco', async (t) => {
  t.timeout(120_000);
  const runs = { direct: await start('direct'), jco: await start('jco') };
  t.teardown(() => { runs.direct.guest.stop(); runs.jco.guest.stop(); });
  for (const run of Object.values(runs)) await script(run);
  t.deepEqual(runs.direct.events, [
    `post ${JSON.stringify([{ id: `${STUB_URL}/status#1`, type: 'UPDATE', from: STUB_URL, resource: `${STUB_URL}/status`, body: { value: 'LIVE' } }])}`,
    `open 1 ${URL_ALLOWED} [mqtt, é]`,
    'log 2 open 1',
    'log 2 opened 1',
    'log 2 open refused: no more than 1 connections',
    'send 1 6672616d65',
    'log 2 sent',
    'log 2 send refused (congested): congested: 1073741824 bytes wait to be sent on connection 1 (limits.maxOutboundBytes 1048576)',
    'send 1 010203',
    'log 2 frame of 3 bytes: echoed',
    // A lone surrogate becomes U+FFFD; bytes that are not UTF-8 become '?'.
    'log 2 é ✓ 𝄞 \uFFFD!',
    'log 2 ok ?é?(',
    'log 2 timer 1',
    'log 2 timer fired 1',
    'log 2 timer 2',
    'log 2 closed 1: bye ✓',
    `open 2 ${URL_ALLOWED} [mqtt, é]`,
    'log 2 open 2',
    'close 2',
    // The glue's abort: the message logged, then a trap, which kills the stub.
    'log 4 abort: Index out of range at ~lib/array.ts',
    'fault PF_ERR_STUB_TRAP',
  ]);
  t.deepEqual(runs.jco.events, runs.direct.events);
});

test('an AssemblyScript stub that imports what the host does not give is refused at build time, naming the import', async (t) => {
  t.timeout(120_000);
  const parent = await mkdtemp(join(tmpdir(), 'protofly-as-'));
  t.teardown(() => rm(parent, { recursive: true, force: true }));
  const dir = await newStub({ name: 'dice', lang: 'as', parent });
  const source = join(dir, 'stub.ts');
  const original = await readFile(source, 'utf8');
  const changed = original.replace('@global function stub_on_timer(id: u32): void {}', '@global function stub_on_timer(id: u32): void { log(WARN, Math.random().toString()); }');
  t.not(changed, original);
  await writeFile(source, changed);
  const error = await t.throwsAsync(buildStubDir(dir));
  t.regex(error!.message, /dice: the core module imports env\.seed: Math\.random needs a seed no stub is given/);
});

test('an AssemblyScript stub\'s own garbage is collected: memory stops growing however many messages make strings', async (t) => {
  t.timeout(120_000);
  const run = await start('direct');
  t.teardown(() => run.guest.stop());
  // Each 'log' command builds strings (concatenations) that nothing keeps.
  const batch = new Uint8Array(encodeBatch(Array.from({ length: 50 }, () => ({ id: 'l', type: 'EXECUTE', from: 'hyperty://d.example/test', to: STUB_URL, resource: 'log' }))));
  for (let i = 0; i < 100; i++) run.guest.deliver(batch);
  const settled = run.guest.memoryBytes();
  for (let i = 0; i < 1000; i++) run.guest.deliver(batch);
  t.is(run.guest.memoryBytes(), settled, '50,000 more messages later');
  t.false(run.events.some((e) => e.startsWith('fault')));
});
