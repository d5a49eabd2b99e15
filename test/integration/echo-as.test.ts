// The AssemblyScript echo (stubs/echo-as): the direct path runs it, it
// answers exactly as the C echo does, and its memory stays bounded.
import test from 'ava';
import fc from 'fast-check';
import { readFile } from 'node:fs/promises';
import { decodeBatch, encodeBatch, encodeCbor } from '../../kernel/cbor.ts';
import { recognise } from '../../plugins/direct/component-shape.ts';
import { startGuest, type Guest, type GuestHost } from '../../plugins/sandbox/guest.ts';
import { anyBytes } from '../helpers/arbitraries.ts';
import { builtStub } from '../helpers/built.ts';
import { catalogue, inbox, runtime } from '../helpers/runtime.ts';

const STUB_URL = 'hyperty-runtime://d.example/protostub/1';
const config = (configuration: unknown = {}) => encodeCbor({
  runtimeURL: 'hyperty-runtime://r', stubURL: STUB_URL, domain: 'd.example', configuration, credentials: null,
});
const LIMITS = {
  connect: [], maxConnections: 4, maxTimers: 64, maxPostsPerSecond: 1e9, maxMessagesPerSecond: 1e9, maxBytesPerSecond: 1e12, maxPostBytes: 1 << 20, maxMemoryBytes: 64 << 20, maxOutboundBytes: 1 << 22,
};

// Serial, so they run before the tests below, which hold this process's
// event loop for seconds at a time (thousands of synchronous calls): the
// catalogue these deploy from is served from this process too.
for (const kind of ['in-thread', 'worker'] as const) {
  test.serial(`echo-as deploys through the direct path and echoes, ${kind}`, async (t) => {
    const domain = await catalogue(t, { default: { component: builtStub('echo-as') } });
    const rt = runtime(t, { cacheDir: false, sandbox: { kind } });
    const me = `hyperty://${domain.domain}/me`;
    const replies = inbox(rt, me);
    const stub = await rt.deployStub(domain.origin);
    t.is(stub.status, 'LIVE');
    t.is(stub.path?.kind, 'direct', 'the direct path took it, not jco');
    rt.bus.postMessage({ id: 'x', type: 'CREATE', from: me, to: `hyperty://${domain.domain}/echo`, body: { text: 'é ✓ 𝄞', n: [1, 2.5, null] } });
    await replies.waitFor(1);
    t.like(replies.messages[0], { id: 'x', type: 'RESPONSE', from: `hyperty://${domain.domain}/echo`, body: { text: 'é ✓ 𝄞', n: [1, 2.5, null] } });
  });
}

interface Trace { events: string[]; guest?: Guest; refused?: string }

async function start(name: string, initConfig: Uint8Array): Promise<Trace> {
  const shape = recognise(new Uint8Array(await readFile(builtStub(name))));
  if (!shape.ok) throw new Error(`${name}: ${shape.reason}`);
  const module = await WebAssembly.compile(shape.core as Uint8Array<ArrayBuffer>);
  const events: string[] = [];
  // The two echoes differ only in the name they give in log lines.
  const host: GuestHost = {
    post: (batch) => events.push(`post ${Buffer.from(batch).toString('hex')}`),
    open: (conn, url) => events.push(`open ${conn} ${url}`),
    send: (conn, frame) => events.push(`send ${conn} ${Buffer.from(frame).toString('hex')}`),
    outbound: () => 0,
    close: (conn) => events.push(`close ${conn}`),
    log: (level, text) => events.push(`log ${level} ${text.replaceAll(name, 'echo')}`),
    refused: (code) => events.push(`refused ${code}`),
    fault: (code, reason) => events.push(`fault ${code} ${reason}`),
  };
  try {
    return { events, guest: await startGuest({ kind: 'direct', module, postReturn: shape.postReturn }, host, LIMITS, initConfig) };
  } catch (error) {
    return { events, refused: (error as Error).message };
  }
}

test('echo-as answers every batch byte for byte as echo-c does, malformed ones included', async (t) => {
  const [c, as] = await Promise.all([start('echo-c', config()), start('echo-as', config())]);
  t.teardown(() => { c.guest?.stop(); as.guest?.stop(); });
  t.deepEqual(as.events, c.events, 'init: the same LIVE status and log line');
  t.true(c.events.some((e) => e.startsWith('post ')));
  // What random bytes seldom make: tags (one with the largest tag number),
  // indefinite containers, a 64-bit integer, nesting past what skip follows.
  const message = (id: string, body: string) => `a5 6269 64${id} 6474797065 66555044415445 6466726f6d 6166 62746f 6174 64626f6479 ${body}`;
  const cases = [
    `81 ${message('d9d9f7 6178', 'bf 6161 9f 01 1bffffffffffffffff ff ff')}`,
    `82 ${message('dbffffffffffffffff 00', 'a0')} ${message('01', 'c1 1a5f5e1000')}`,
    `81 ${message('02', `${'9f'.repeat(20)}${'ff'.repeat(20)}`)}`,
    `9f ${message('03', 'f6')} ff`,
  ];
  for (const hex of cases) {
    const batch = Uint8Array.from(Buffer.from(hex.replaceAll(' ', ''), 'hex'));
    const before = [c.events.length, as.events.length];
    c.guest!.deliver(batch);
    as.guest!.deliver(batch);
    t.deepEqual(as.events.slice(before[1]), c.events.slice(before[0]), hex);
    t.true(c.events.length > before[0], `${hex}: echo-c answered or logged`);
  }
  fc.assert(fc.property(fc.array(anyBytes('d.example'), { maxLength: 4 }), (batches) => {
    const before = [c.events.length, as.events.length];
    for (const batch of batches) {
      c.guest!.deliver(batch);
      as.guest!.deliver(batch);
    }
    return JSON.stringify(as.events.slice(before[1])) === JSON.stringify(c.events.slice(before[0]));
  }), { numRuns: 300 });
  t.false(as.events.some((e) => e.startsWith('fault')), 'no fault');
});

test('both echoes answer a READ to their own address with 200, anything else there with 400, and take the runtime\'s control messages silently', async (t) => {
  const [c, as] = await Promise.all([start('echo-c', config()), start('echo-as', config())]);
  t.teardown(() => { c.guest?.stop(); as.guest?.stop(); });
  const app = 'hyperty://d.example/app';
  const runtimeURL = 'hyperty-runtime://r';
  const cases: Array<[Record<string, unknown>, unknown]> = [
    [{ id: 'r1', type: 'READ', from: app, to: STUB_URL, body: { what: 'x' } }, { code: 200, value: { what: 'x' } }],
    [{ id: 'r2', type: 'READ', from: app, to: STUB_URL }, { code: 200 }],
    [{ id: 'r3', type: 'READ', from: app, to: `${STUB_URL}/below` }, { code: 200 }],
    [{ id: 'u1', type: 'EXECUTE', from: app, to: STUB_URL, body: { x: 1 } }, { code: 400 }],
    [{ id: 'u2', type: 'SUBSCRIBE', from: app, to: STUB_URL, body: { resources: ['hyperty://d.example/a'] } }, { code: 400 }],
    [{ id: 'u3', type: 7, from: app, to: STUB_URL }, { code: 400 }],
    [{ id: 'c1', type: 'SUBSCRIBE', from: runtimeURL, to: STUB_URL, body: { resources: ['hyperty://d.example/a'] } }, undefined],
    [{ id: 'c2', type: 'UNSUBSCRIBE', from: runtimeURL, to: STUB_URL, body: { resources: ['hyperty://d.example/a'] } }, undefined],
    [{ id: 'n1', type: 'RESPONSE', from: app, to: STUB_URL, body: { code: 200 } }, undefined],
    // Not below it: a longer id that starts the same.
    [{ id: 'e1', type: 'READ', from: app, to: `${STUB_URL}0`, body: 'b' }, 'b'],
  ];
  for (const [message, body] of cases) {
    const before = [c.events.length, as.events.length];
    const batch = encodeCbor([message]);
    c.guest!.deliver(batch);
    as.guest!.deliver(batch);
    const posted = c.events.slice(before[0]);
    t.deepEqual(as.events.slice(before[1]), posted, String(message.id));
    if (body === undefined) {
      t.deepEqual(posted, [], `${String(message.id)}: no answer`);
      continue;
    }
    t.is(posted.length, 1, String(message.id));
    const [reply] = decodeBatch(Buffer.from(posted[0].slice('post '.length), 'hex')) as Array<Record<string, unknown>>;
    t.like(reply, { id: message.id, type: 'RESPONSE', from: message.to, to: app }, String(message.id));
    if (typeof body === 'object' && (body as { code: number }).code === 400) {
      t.like(reply.body, { code: 400 });
      t.regex(String((reply.body as { reason?: unknown }).reason), /READ/);
    } else {
      t.deepEqual(reply.body, body, String(message.id));
    }
  }
});

test('echo-as refuses the configs echo-c refuses, with the same reasons', async (t) => {
  const configs: Array<[string, Uint8Array]> = [
    ['failInit', config({ failInit: true })],
    ['failInit false', config({ failInit: false })],
    ['no stubURL', encodeCbor({ domain: 'd.example' })],
    ['not a map', encodeCbor(['stubURL', STUB_URL])],
    ['trailing bytes', Uint8Array.from([...config(), 0])],
    ['truncated', config().subarray(0, 20)],
    ['no bytes', new Uint8Array(0)],
  ];
  for (const [what, bytes] of configs) {
    const [c, as] = await Promise.all([start('echo-c', bytes), start('echo-as', bytes)]);
    c.guest?.stop();
    as.guest?.stop();
    t.is(as.refused, c.refused, what);
    t.deepEqual(as.events, c.events, what);
  }
});

test('echo-as keeps its memory bounded: thousands of batches later it has not grown', async (t) => {
  const as = await start('echo-as', config());
  t.teardown(() => as.guest?.stop());
  const guest = as.guest!;
  const batchOf = (n: number, text: string) => new Uint8Array(encodeBatch(Array.from({ length: n }, (_, i) => ({
    id: i, type: 'UPDATE', from: 'hyperty://d.example/a', to: 'hyperty://d.example/b', body: { text },
  }))));
  // Every size once, so the allocator and the reply buffer have grown to fit.
  const batches = [batchOf(1, 'x'), batchOf(256, 'y'.repeat(100)), batchOf(16, 'é'.repeat(1000)), encodeCbor('not a batch')];
  for (const batch of batches) guest.deliver(batch);
  const grown = guest.memoryBytes();
  for (let round = 0; round < 2000; round++) guest.deliver(batches[round % batches.length]);
  t.is(guest.memoryBytes(), grown);
  t.false(as.events.some((e) => e.startsWith('fault')));
});
