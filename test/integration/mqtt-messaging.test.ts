// Two runtimes deploy the same domain's MQTT stub (a real componentize-js
// component) and talk through a real broker: embedded aedes, and mosquitto.
// One test runs the stub alone in the guest harness the runtime uses, to see
// the exact bytes it hands the broker and the bus.
import test, { type ExecutionContext } from 'ava';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import mqtt from 'mqtt';
import { WebSocket } from 'ws';
import { serveDomain } from '../../domain/serve.ts';
import { startEmbeddedBroker } from '../../domain/broker.ts';
import { decodeBatch, decodeCbor, encodeBatch, encodeCbor } from '../../kernel/cbor.ts';
import { recognise } from '../../plugins/direct/component-shape.ts';
import type { PreparedComponent } from '../../plugins/sandbox/component-instance.ts';
import { compileComponent, transpileComponent } from '../../plugins/sandbox/component-loader.ts';
import { startGuest, type Guest } from '../../plugins/sandbox/guest.ts';
import { pagesFor } from '../../plugins/sandbox/memory-limit.ts';
import { builtStub } from '../helpers/built.ts';
import { listenerChurn } from '../helpers/listener-churn.ts';
import { MOSQUITTO, startMosquitto } from '../helpers/mosquitto.ts';
import { deployedPair, inbox, runtime } from '../helpers/runtime.ts';
import { until } from '../helpers/until.ts';

const USER = { username: 'alice-and-bob', password: 's3cret' };
const users = { [USER.username]: USER.password };

// This file is the TypeScript stub's: the C one, the domain's default, has mqtt-c.test.ts.
async function localDomain(t: ExecutionContext, brokerURL?: string) {
  const domain = await serveDomain({ brokerURL, users, stub: 'mqtt-ts' });
  t.teardown(() => domain.close());
  return domain;
}

async function twoRuntimesTalk(t: ExecutionContext, brokerURL?: string, kind: 'worker' | 'in-thread' = 'worker') {
  const domain = await localDomain(t, brokerURL);
  const name = domain.catalogue.domain;
  const identity = { credentials: { [name]: USER } };
  const alpha = runtime(t, { identity, sandbox: { kind } });
  const beta = runtime(t, { identity, sandbox: { kind } });
  const alice = `hyperty://${name}/alice`;
  const bob = `hyperty://${name}/bob`;
  const atBob = inbox(beta, bob);
  const atAlice = inbox(alpha, alice);
  await Promise.all([alpha.deployStub(domain.catalogue.origin), beta.deployStub(domain.catalogue.origin)]);
  await Promise.all([beta.bus.whenSubscribed(bob), alpha.bus.whenSubscribed(alice)]);

  for (let i = 0; i < 50; i++) alpha.bus.postMessage({ id: `a${i}`, type: 'CREATE', from: alice, to: bob, body: { n: i } });
  await atBob.waitFor(50);
  t.deepEqual(atBob.messages.map((m) => m.id), Array.from({ length: 50 }, (_, i) => `a${i}`), 'all arrive, in order');
  t.deepEqual(atBob.messages[7], { id: 'a7', type: 'CREATE', from: alice, to: bob, body: { n: 7 } }, 'unchanged');

  beta.bus.postMessage({ id: 'r1', type: 'RESPONSE', from: bob, to: alice, body: { code: 200 } });
  await atAlice.waitFor(1);
  t.like(atAlice.messages[0], { id: 'r1', from: bob, to: alice });
  t.deepEqual(alpha.errors, []);
  t.deepEqual(beta.errors, []);
}

test('a message crosses from one runtime to another through the embedded aedes broker', async (t) => {
  await twoRuntimesTalk(t);
});

test('the MQTT stub works the same in the in-thread sandbox (it opens its connection during init)', async (t) => {
  await twoRuntimesTalk(t, undefined, 'in-thread');
});

test('a listener removed and added back gets every later message, whether it comes back in the same turn or the next', async (t) => {
  const domain = await localDomain(t);
  const { alpha, beta, alice, bob } = await deployedPair(t, domain.catalogue.origin, domain.catalogue.domain, USER);
  await listenerChurn(t, alpha, alice, beta, bob);
  t.deepEqual([...alpha.errors, ...beta.errors], []);
});

const withMosquitto = existsSync(MOSQUITTO) ? test : test.skip;
withMosquitto('a message crosses from one runtime to another through a real mosquitto', async (t) => {
  const mosquitto = await startMosquitto(users);
  t.teardown(() => mosquitto.dispose());
  await twoRuntimesTalk(t, mosquitto.url);
});

test('wrong credentials surface as the stub status and a PF_ERR_LOGIN deploy error, and leave no stub behind', async (t) => {
  const domain = await localDomain(t);
  const rt = runtime(t, { identity: { credentials: { [domain.catalogue.domain]: { username: USER.username, password: 'wrong' } } } });
  const statuses: Array<{ value: string; code?: unknown }> = [];
  rt.hooks.status.tap('test', (stub) => { statuses.push({ value: stub.status, code: stub.statusBody.code }); });
  const error = await t.throwsAsync(rt.deployStub(domain.catalogue.origin));
  t.is((error as { code?: string }).code, 'PF_ERR_LOGIN');
  t.regex(error!.message, /bad user name or password/);
  t.deepEqual(statuses.map((s) => s.value), ['DEPLOYING', 'DISCONNECTED', 'FAILED']);
  t.is(statuses[1].code, 'PF_ERR_LOGIN');
  t.is(rt.registry.list().length, 0);
});

test('no credentials at all are refused by a broker that wants them', async (t) => {
  const domain = await localDomain(t);
  const rt = runtime(t);
  const error = await t.throwsAsync(rt.deployStub(domain.catalogue.origin));
  t.is((error as { code?: string }).code, 'PF_ERR_LOGIN');
});

test('a broker that is down fails the deploy with PF_ERR_BACKEND_UNREACHABLE, and a later deploy works once it is up', async (t) => {
  const broker = await startEmbeddedBroker({ users });
  const url = broker.url;
  const port = Number(new URL(url).port);
  await broker.close();
  const domain = await localDomain(t, url);
  const rt = runtime(t, { identity: { credentials: { [domain.catalogue.domain]: USER } } });
  const error = await t.throwsAsync(rt.deployStub(domain.catalogue.origin));
  t.is((error as { code?: string }).code, 'PF_ERR_BACKEND_UNREACHABLE');
  t.is(rt.registry.list().length, 0);

  const revived = await startEmbeddedBroker({ users, port });
  t.teardown(() => revived.close());
  const stub = await rt.deployStub(domain.catalogue.origin);
  t.is(stub.status, 'LIVE');
});

test('a stub cannot open a connection outside its descriptor connect list', async (t) => {
  const domain = await serveDomain({
    users,
    entries: {},
  });
  t.teardown(() => domain.close());
  const elsewhere = await startEmbeddedBroker({ users });
  t.teardown(() => elsewhere.close());
  // A descriptor that points the stub at a broker its connect list does not name.
  const descriptor = domain.catalogue.descriptor('default');
  descriptor.configuration = { url: elsewhere.url };
  domain.catalogue.override('/.well-known/protocolstub/default', { body: descriptor });
  const rt = runtime(t, { identity: { credentials: { [domain.catalogue.domain]: USER } } });
  const error = await t.throwsAsync(rt.deployStub(domain.catalogue.origin));
  t.is((error as { code?: string }).code, 'PF_ERR_BACKEND_UNREACHABLE');
  t.regex(error!.message, /connect list/);
  t.is(elsewhere.clients(), 0);
});

// CBOR written by hand, as cbor-x never writes it: a head of `major` with
// the argument `n` in `extra` bytes (0: in the head itself when it fits).
function head(major: number, n: number, extra = 0): number[] {
  if (extra === 0 && n < 24) return [(major << 5) | n];
  const size = extra || (n < 0x100 ? 1 : n < 0x10000 ? 2 : n < 2 ** 32 ? 4 : 8);
  const bytes = [(major << 5) | { 1: 24, 2: 25, 4: 26, 8: 27 }[size]!];
  for (let i = size - 1; i >= 0; i--) bytes.push(Math.floor(n / 2 ** (8 * i)) & 0xff);
  return bytes;
}
const text = (s: string) => { const b = new TextEncoder().encode(s); return [...head(3, b.length), ...b]; };

/** A message whose body no stub should read into: what a decode and re-encode would change. */
function unusualMessage(id: string, from: string, to: string): Uint8Array {
  const blob = new Uint8Array(300 * 1024).map((_, i) => (i * 7) & 0xff);
  return Uint8Array.from([
    ...head(5, 5),
    ...text('id'), ...text(id),
    ...text('type'), ...text('UPDATE'),
    ...text('from'), ...text(from),
    ...text('to'), ...text(to),
    ...text('body'), 0xbf, // an indefinite-length map
    ...text('half'), 0xf9, 0x3e, 0x00, // 1.5 as a float16
    ...text('tagged'), ...head(6, 40000), 0x43, 1, 2, 3, // an unknown tag on a byte string
    ...text('wide'), ...head(0, 5, 8), // 5 in eight bytes
    ...text('blob'), ...head(2, blob.length), ...blob,
    0xff,
  ]);
}

/** The built TypeScript stub alone, on the path the runtime would take, connected to `brokerURL`; what it posts is kept. */
async function stubAlone(t: ExecutionContext, brokerURL: string, stubURL: string) {
  const bytes = new Uint8Array(await readFile(builtStub('mqtt')));
  let prepared: PreparedComponent;
  const shape = recognise(bytes);
  if (process.env.PROTOFLY_TEST_PATH === 'jco' || !shape.ok) {
    prepared = await compileComponent(await transpileComponent(bytes), pagesFor(128));
  } else {
    prepared = { kind: 'direct', module: await WebAssembly.compile(shape.core as Uint8Array<ArrayBuffer>), postReturn: shape.postReturn };
  }
  const posted: Uint8Array[] = [];
  const logs: string[] = [];
  const sockets = new Map<number, WebSocket>();
  let guest: Guest | undefined;
  guest = await startGuest(prepared, {
    post(batch) { posted.push(batch.slice()); },
    open(conn, url, protocols) {
      const socket = new WebSocket(url, protocols);
      sockets.set(conn, socket);
      socket.on('open', () => guest?.onOpen(conn));
      socket.on('message', (data: Buffer) => guest?.onFrame(conn, new Uint8Array(data)));
      socket.on('close', () => guest?.onClose(conn, 'closed'));
    },
    send(conn, frame) { sockets.get(conn)?.send(frame); },
    outbound: () => 0,
    close(conn) { sockets.get(conn)?.close(); },
    log(level, line) { if (level >= 3) logs.push(line); },
    refused(code) { t.fail(`refused: ${code}`); },
    fault(code, reason) { t.fail(`${code}: ${reason}`); },
  }, {
    connect: [brokerURL], maxConnections: 4, maxTimers: 64, maxPostsPerSecond: 1e9, maxMessagesPerSecond: 1e9, maxBytesPerSecond: 1e12, maxPostBytes: 4 << 20, maxMemoryBytes: 128 << 20, maxOutboundBytes: 4 << 20,
  }, encodeCbor({ runtimeURL: 'hyperty-runtime://r', stubURL, domain: 'd.example', configuration: { url: brokerURL }, credentials: USER }));
  t.teardown(() => {
    guest?.stop();
    for (const socket of sockets.values()) socket.terminate();
  });
  const messages = () => posted.flatMap((batch) => decodeBatch(batch) as Array<{ id: string; type: string; body?: { value?: string; code?: number } }>);
  await until('LIVE', () => messages().some((m) => m.body?.value === 'LIVE'));
  return { guest, posted, logs, messages };
}

test('the stub carries a message byte for byte both ways, CBOR it cannot read included: a float16, an unknown tag, an indefinite-length map, a 300 KiB byte string', async (t) => {
  const broker = await startEmbeddedBroker({ users });
  t.teardown(() => broker.close());
  const stubURL = 'hyperty-runtime://r/protostub/1';
  const alice = 'hyperty://d.example/alice', bob = 'hyperty://d.example/bob';
  const { guest, posted, messages } = await stubAlone(t, broker.url, stubURL);
  const peer = await mqtt.connectAsync(broker.url, { ...USER, protocolVersion: 4, reconnectPeriod: 0 });
  t.teardown(() => peer.end(true));
  const published: Buffer[] = [];
  peer.on('message', (_topic, payload) => published.push(payload));
  await peer.subscribeAsync('protofly/hyperty/d.example/bob', { qos: 1 });

  // Out: the message as the runtime hands it over, in a batch.
  const out = unusualMessage('out-1', alice, bob);
  t.false(Buffer.from(encodeCbor(decodeCbor(out))).equals(out), 'a decode and re-encode would change it');
  guest.deliver(Uint8Array.from([0x81, ...out]));
  await until('the publication at the broker', () => published.length > 0);
  t.true(Buffer.from(out).equals(published[0]!), 'published as it came in the batch');

  // In: the stub subscribes for alice, and a publication for her is posted as it came.
  guest.deliver(encodeBatch([{ id: 'sub-1', type: 'SUBSCRIBE', from: 'hyperty-runtime://r', to: stubURL, body: { resources: [alice] } }]));
  await until('the subscription confirmed', () => messages().some((m) => m.id === 'sub-1' && m.body?.code === 200));
  const into = unusualMessage('in-1', bob, alice);
  posted.length = 0;
  await peer.publishAsync('protofly/hyperty/d.example/alice', Buffer.from(into), { qos: 1 });
  await until('the publication on the bus', () => posted.length > 0);
  t.true(Buffer.from(Uint8Array.from([0x81, ...into])).equals(Buffer.from(posted[0]!)), 'posted as a batch of the bytes published');
  const [arrived] = decodeBatch(posted[0]!) as Array<{ id: string; body: Record<string, unknown> }>;
  t.like(arrived, { id: 'in-1', type: 'UPDATE', from: bob, to: alice, body: { half: 1.5, wide: 5n } }, 'which the runtime reads');
  t.is((arrived!.body.blob as Uint8Array).length, 300 * 1024);
});

test('a publication that is not one well-formed message is skipped with a log line saying why; the stub posts the next one', async (t) => {
  const broker = await startEmbeddedBroker({ users });
  t.teardown(() => broker.close());
  const stubURL = 'hyperty-runtime://r/protostub/1';
  const alice = 'hyperty://d.example/alice', bob = 'hyperty://d.example/bob';
  const { guest, posted, logs, messages } = await stubAlone(t, broker.url, stubURL);
  guest.deliver(encodeBatch([{ id: 'sub-1', type: 'SUBSCRIBE', from: 'hyperty-runtime://r', to: stubURL, body: { resources: [alice] } }]));
  await until('the subscription confirmed', () => messages().some((m) => m.id === 'sub-1' && m.body?.code === 200));
  const peer = await mqtt.connectAsync(broker.url, { ...USER, protocolVersion: 4, reconnectPeriod: 0 });
  t.teardown(() => peer.end(true));
  const good = encodeCbor({ id: 'ok', type: 'UPDATE', from: bob, to: alice });
  // Each with the reason the stub gives.
  const wrong: Array<[Uint8Array, RegExp]> = [
    [good.subarray(0, good.length - 3), /not one CBOR item \(string runs past the end\)/],
    [good.subarray(0, 1), /not one CBOR item \(truncated\)/],
    [Uint8Array.from([...good, 0x00]), /not one CBOR item \(bytes after it\)/],
    [encodeCbor(['a', 'list']), /not a message \(needs string type and from\)/],
    [encodeCbor({ id: 'x', type: 'UPDATE', from: 7, to: alice }), /not a message \(needs string type and from\)/],
    [Uint8Array.from([0xa1, 0x61, 0x61, 0x1c]), /not one CBOR item \(reserved additional information 28\)/],
    [Uint8Array.from([0x82, 0x01, 0xff]), /not one CBOR item \(a break outside an indefinite-length item\)/],
    [Uint8Array.from([...new Array(300).fill(0x81), 0x00]), /not one CBOR item \(nested deeper than 256\)/],
  ];
  posted.length = 0;
  for (const [payload] of wrong) await peer.publishAsync('protofly/hyperty/d.example/alice', Buffer.from(payload), { qos: 1 });
  await peer.publishAsync('protofly/hyperty/d.example/alice', Buffer.from(good), { qos: 1 });
  await until('the good one on the bus', () => posted.length > 0);
  t.deepEqual(posted.flatMap((batch) => decodeBatch(batch) as Array<{ id: string }>).map((m) => m.id), ['ok'], 'only the message');
  const skipped = logs.filter((line) => line.includes('skipping publication on protofly/hyperty/d.example/alice: '));
  t.is(skipped.length, wrong.length, 'each wrong one said once, in order');
  wrong.forEach(([, why], i) => t.regex(skipped[i] ?? '', why));
});
