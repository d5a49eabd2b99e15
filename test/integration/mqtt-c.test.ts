// The MQTT stub written in C (stubs/mqtt-c), end to end: on its own through
// aedes and mosquitto, side by side with the TypeScript stub on one broker,
// and through refused logins, a broker that is down, and dropped connections.
import test, { type ExecutionContext } from 'ava';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Aedes } from 'aedes';
import { WebSocketServer, createWebSocketStream, type WebSocket } from 'ws';
import { serveDomain } from '../../domain/serve.ts';
import { startEmbeddedBroker } from '../../domain/broker.ts';
import type { StubRecord } from '../../kernel/types.ts';
import { builtStub } from '../helpers/built.ts';
import { listenerChurn } from '../helpers/listener-churn.ts';
import { MOSQUITTO, startMosquitto } from '../helpers/mosquitto.ts';
import { inbox, runtime } from '../helpers/runtime.ts';

const USER = { username: 'alice-and-bob', password: 's3cret' };
const users = { [USER.username]: USER.password };
const withMosquitto = existsSync(MOSQUITTO) ? test : test.skip;

type Runtime = ReturnType<typeof runtime>;

/** A domain whose default descriptor is the C stub, and `ts` the TypeScript one. */
async function domainOn(t: ExecutionContext, brokerURL: string) {
  const domain = await serveDomain({
    brokerURL,
    entries: {
      default: { component: builtStub('mqtt-c'), configuration: { url: brokerURL }, connect: [brokerURL] },
      ts: { component: builtStub('mqtt'), configuration: { url: brokerURL }, connect: [brokerURL] },
    },
  });
  t.teardown(() => domain.close());
  return domain;
}

async function embeddedBroker(t: ExecutionContext) {
  const broker = await startEmbeddedBroker({ users });
  t.teardown(() => broker.close());
  return broker;
}

/** aedes over WebSocket with a handle on each client socket, to drop one. */
async function socketBroker(t: ExecutionContext) {
  const broker = await Aedes.createBroker();
  broker.authenticate = (_client, username, password, done) => {
    if (username === USER.username && password?.toString() === USER.password) return done(null, true);
    // returnCode 4: bad user name or password, as the embedded broker answers.
    done(Object.assign(new Error('bad user name or password'), { returnCode: 4 }) as never, false);
  };
  const http = createServer((_req, res) => { res.writeHead(426).end(); });
  const wss = new WebSocketServer({ server: http, handleProtocols: (p) => (p.has('mqtt') ? 'mqtt' : false) });
  const sockets: WebSocket[] = [];
  wss.on('connection', (socket) => {
    sockets.push(socket);
    const stream = createWebSocketStream(socket);
    stream.on('error', () => socket.terminate());
    broker.handle(stream as never);
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', () => resolve()));
  t.teardown(async () => {
    for (const socket of wss.clients) socket.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    await new Promise<void>((resolve) => http.close(() => resolve()));
    await new Promise<void>((resolve) => broker.close(() => resolve()));
  });
  return { url: `ws://127.0.0.1:${(http.address() as AddressInfo).port}/mqtt`, sockets };
}

/** Every status the runtime's stubs publish, and a way to wait for the next one of a kind. */
function statuses(rt: Runtime) {
  const seen: Array<{ value: string; code?: unknown }> = [];
  const waiters: Array<{ value: string; after: number; resolve: () => void }> = [];
  rt.hooks.status.tap('test', (stub: StubRecord, value: string) => {
    seen.push({ value, code: stub.statusBody.code });
    for (const w of waiters.filter((w) => w.value === value && seen.length > w.after)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  });
  return {
    seen,
    /** Resolves on the first `value` published from now on. */
    next(value: string, ms = 15_000) {
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${value} within ${ms} ms; saw ${seen.map((s) => s.value).join(', ')}`)), ms);
        waiters.push({ value, after: seen.length, resolve: () => { clearTimeout(timer); resolve(); } });
      });
    },
  };
}

/** Two runtimes with logins for the domain, and an address on each. */
function pair(t: ExecutionContext, domainName: string) {
  const identity = { credentials: { [domainName]: USER } };
  const alpha = runtime(t, { identity });
  const beta = runtime(t, { identity });
  const alice = `hyperty://${domainName}/alice`;
  const bob = `hyperty://${domainName}/bob`;
  return { alpha, beta, alice, bob, atAlice: inbox(alpha, alice), atBob: inbox(beta, bob) };
}

/**
 * Addresses whose subscriptions travel in the same SUBSCRIBE packets as
 * alice's and bob's: once a probe crosses after a reconnect, the stub
 * behind it has subscribed again, so nothing sent later is lost.
 */
function probes(p: ReturnType<typeof pair>) {
  const toBob = `${p.bob}-probe`, toAlice = `${p.alice}-probe`;
  const atBob = inbox(p.beta, toBob), atAlice = inbox(p.alpha, toAlice);
  let n = 0;
  async function cross(from: Runtime, fromAddress: string, to: string, box: ReturnType<typeof inbox>) {
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      const want = box.messages.length + 1;
      from.bus.postMessage({ id: `probe-${n++}`, type: 'READ', from: fromAddress, to });
      try {
        return await box.waitFor(want, 250);
      } catch {
        // Not subscribed yet on the other side: try again.
      }
    }
    throw new Error(`no probe reached ${to} within 15 s`);
  }
  return {
    subscribed: () => Promise.all([p.beta.bus.whenSubscribed(toBob), p.alpha.bus.whenSubscribed(toAlice)]),
    crossBothWays: () => Promise.all([cross(p.alpha, p.alice, toBob, atBob), cross(p.beta, p.bob, toAlice, atAlice)]),
  };
}

const ids = (prefix: string, from: number, to: number) => Array.from({ length: to - from }, (_, i) => `${prefix}${from + i}`);

async function talkBothWays(t: ExecutionContext, p: ReturnType<typeof pair>, tag: string, count = 50) {
  const before = p.atBob.messages.length;
  for (let i = 0; i < count; i++) {
    p.alpha.bus.postMessage({ id: `${tag}${i}`, type: 'CREATE', from: p.alice, to: p.bob, body: { n: i } });
  }
  await p.atBob.waitFor(before + count);
  t.deepEqual(p.atBob.messages.slice(before).map((m) => m.id), ids(tag, 0, count), 'all arrive at bob, in order');
  const k = Math.min(7, count - 1);
  t.deepEqual(p.atBob.messages[before + k], { id: `${tag}${k}`, type: 'CREATE', from: p.alice, to: p.bob, body: { n: k } }, 'unchanged');

  const atAliceBefore = p.atAlice.messages.length;
  p.beta.bus.postMessage({ id: `${tag}-reply`, type: 'RESPONSE', from: p.bob, to: p.alice, body: { code: 200 } });
  await p.atAlice.waitFor(atAliceBefore + 1);
  t.like(p.atAlice.messages[atAliceBefore], { id: `${tag}-reply`, from: p.bob, to: p.alice, body: { code: 200 } });
}

async function twoCStubsTalk(t: ExecutionContext, brokerURL: string) {
  const domain = await domainOn(t, brokerURL);
  const p = pair(t, domain.catalogue.domain);
  const [a, b] = await Promise.all([p.alpha.deployStub(domain.catalogue.origin), p.beta.deployStub(domain.catalogue.origin)]);
  t.is(a.status, 'LIVE');
  t.is(b.status, 'LIVE');
  await Promise.all([p.beta.bus.whenSubscribed(p.bob), p.alpha.bus.whenSubscribed(p.alice)]);
  await talkBothWays(t, p, 'a');
  t.deepEqual(p.alpha.errors, []);
  t.deepEqual(p.beta.errors, []);
}

test('two runtimes on the C stub exchange messages in order through the embedded aedes broker', async (t) => {
  const broker = await embeddedBroker(t);
  await twoCStubsTalk(t, broker.url);
});

withMosquitto('two runtimes on the C stub exchange messages in order through a real mosquitto', async (t) => {
  const mosquitto = await startMosquitto(users);
  t.teardown(() => mosquitto.dispose());
  await twoCStubsTalk(t, mosquitto.url);
});

async function interop(t: ExecutionContext, brokerURL: string) {
  const domain = await domainOn(t, brokerURL);
  const p = pair(t, domain.catalogue.domain);
  // alpha serves the domain with the TypeScript stub, beta with the C one.
  const [a, b] = await Promise.all([
    p.alpha.deployStub(domain.catalogue.origin, { name: 'ts', route: true }),
    p.beta.deployStub(domain.catalogue.origin),
  ]);
  t.is(a.descriptor.name, 'ts');
  t.is(b.descriptor.name, 'default');
  await Promise.all([p.beta.bus.whenSubscribed(p.bob), p.alpha.bus.whenSubscribed(p.alice)]);
  await talkBothWays(t, p, 'ts-to-c-');

  // And the other way round: many from the C stub to the TypeScript one.
  for (let i = 0; i < 30; i++) p.beta.bus.postMessage({ id: `c-to-ts-${i}`, type: 'UPDATE', from: p.bob, to: p.alice, body: { n: i } });
  await p.atAlice.waitFor(31);
  t.deepEqual(p.atAlice.messages.slice(1).map((m) => m.id), ids('c-to-ts-', 0, 30));
  t.deepEqual(p.atAlice.messages[5], { id: 'c-to-ts-4', type: 'UPDATE', from: p.bob, to: p.alice, body: { n: 4 } });
  t.deepEqual(p.alpha.errors, []);
  t.deepEqual(p.beta.errors, []);
}

test('a listener removed and added back behind the C stub gets every later message, in the same turn or the next', async (t) => {
  const broker = await embeddedBroker(t);
  const domain = await domainOn(t, broker.url);
  const p = pair(t, domain.catalogue.domain);
  await Promise.all([p.alpha.deployStub(domain.catalogue.origin), p.beta.deployStub(domain.catalogue.origin)]);
  await listenerChurn(t, p.alpha, p.alice, p.beta, `hyperty://${domain.catalogue.domain}/carol`);
  t.deepEqual([...p.alpha.errors, ...p.beta.errors], []);
});

test('the C stub and the TypeScript stub of one domain interoperate on the same aedes broker', async (t) => {
  const broker = await embeddedBroker(t);
  await interop(t, broker.url);
});

withMosquitto('the C stub and the TypeScript stub of one domain interoperate on the same mosquitto', async (t) => {
  const mosquitto = await startMosquitto(users);
  t.teardown(() => mosquitto.dispose());
  await interop(t, mosquitto.url);
});

test('a wrong password fails the C stub deploy with PF_ERR_LOGIN, without retrying, and leaves no stub behind', async (t) => {
  const broker = await socketBroker(t);
  const domain = await domainOn(t, broker.url);
  const rt = runtime(t, { identity: { credentials: { [domain.catalogue.domain]: { username: USER.username, password: 'wrong' } } } });
  const seen = statuses(rt);
  const error = await t.throwsAsync(rt.deployStub(domain.catalogue.origin));
  t.is((error as { code?: string }).code, 'PF_ERR_LOGIN');
  t.regex(error!.message, /bad user name or password/);
  t.deepEqual(seen.seen.map((s) => s.value), ['DEPLOYING', 'DISCONNECTED', 'FAILED']);
  t.is(seen.seen[1].code, 'PF_ERR_LOGIN');
  t.is(rt.registry.list().length, 0);
  // A retry would come after 250 ms.
  await new Promise((r) => setTimeout(r, 700));
  t.is(broker.sockets.length, 1, 'no second attempt');
});

withMosquitto('mosquitto refusing the password fails the C stub deploy with PF_ERR_LOGIN', async (t) => {
  const mosquitto = await startMosquitto(users);
  t.teardown(() => mosquitto.dispose());
  const domain = await domainOn(t, mosquitto.url);
  const rt = runtime(t, { identity: { credentials: { [domain.catalogue.domain]: { username: USER.username, password: 'wrong' } } } });
  const error = await t.throwsAsync(rt.deployStub(domain.catalogue.origin));
  t.is((error as { code?: string }).code, 'PF_ERR_LOGIN');
});

test('a broker that is down fails the C stub deploy with PF_ERR_BACKEND_UNREACHABLE, and a later deploy works once it is up', async (t) => {
  const broker = await startEmbeddedBroker({ users });
  const url = broker.url;
  const port = Number(new URL(url).port);
  await broker.close();
  const domain = await domainOn(t, url);
  const rt = runtime(t, { identity: { credentials: { [domain.catalogue.domain]: USER } } });
  const error = await t.throwsAsync(rt.deployStub(domain.catalogue.origin));
  t.is((error as { code?: string }).code, 'PF_ERR_BACKEND_UNREACHABLE');
  t.is(rt.registry.list().length, 0);

  const revived = await startEmbeddedBroker({ users, port });
  t.teardown(() => revived.close());
  const stub = await rt.deployStub(domain.catalogue.origin);
  t.is(stub.status, 'LIVE');
});

test('when the broker drops the C stub connection it reports DISCONNECTED once, comes back LIVE, and sends what was posted meanwhile in order', async (t) => {
  const broker = await socketBroker(t);
  const domain = await domainOn(t, broker.url);
  const p = pair(t, domain.catalogue.domain);
  const probe = probes(p);
  const alphaStatus = statuses(p.alpha);
  // alpha first, so the first socket the broker saw is alpha's.
  await p.alpha.deployStub(domain.catalogue.origin);
  await p.beta.deployStub(domain.catalogue.origin);
  await Promise.all([p.beta.bus.whenSubscribed(p.bob), p.alpha.bus.whenSubscribed(p.alice), probe.subscribed()]);
  await talkBothWays(t, p, 'before-', 5);

  const disconnected = alphaStatus.next('DISCONNECTED');
  const live = alphaStatus.next('LIVE');
  // Posted the moment the stub knows it is cut off, so they wait in its queue.
  let posted = false;
  p.alpha.hooks.status.tap('meanwhile', (_stub, value) => {
    if (value !== 'DISCONNECTED' || posted) return;
    posted = true;
    for (let i = 0; i < 20; i++) p.alpha.bus.postMessage({ id: `meanwhile-${i}`, type: 'CREATE', from: p.alice, to: p.bob, body: { i } });
  });
  broker.sockets[0].terminate();
  await disconnected;
  await live;
  const after = alphaStatus.seen.slice(-2).map((s) => s.value);
  t.deepEqual(after, ['DISCONNECTED', 'LIVE']);
  t.is(alphaStatus.seen.at(-2)!.code, 'PF_ERR_CONNECT');

  await p.atBob.waitFor(5 + 20);
  t.deepEqual(p.atBob.messages.slice(5).map((m) => m.id), ids('meanwhile-', 0, 20), 'queued messages arrive once, in order');
  // alpha subscribes again after the drop, so bob reaches alice once more.
  await probe.crossBothWays();
  await talkBothWays(t, p, 'after-', 5);
  t.deepEqual(p.alpha.errors, []);
  t.deepEqual(p.beta.errors, []);
});

withMosquitto('when mosquitto stops and starts again the C stubs go DISCONNECTED then LIVE and traffic resumes', async (t) => {
  const mosquitto = await startMosquitto(users);
  t.teardown(() => mosquitto.dispose());
  const domain = await domainOn(t, mosquitto.url);
  const p = pair(t, domain.catalogue.domain);
  const probe = probes(p);
  const alphaStatus = statuses(p.alpha);
  const betaStatus = statuses(p.beta);
  await Promise.all([p.alpha.deployStub(domain.catalogue.origin), p.beta.deployStub(domain.catalogue.origin)]);
  await Promise.all([p.beta.bus.whenSubscribed(p.bob), p.alpha.bus.whenSubscribed(p.alice), probe.subscribed()]);
  await talkBothWays(t, p, 'before-', 5);

  const down = Promise.all([alphaStatus.next('DISCONNECTED'), betaStatus.next('DISCONNECTED')]);
  const up = Promise.all([alphaStatus.next('LIVE', 20_000), betaStatus.next('LIVE', 20_000)]);
  await mosquitto.stop();
  await down;
  // Long enough for several retries, which must not repeat DISCONNECTED.
  await new Promise((r) => setTimeout(r, 1_000));
  await mosquitto.start();
  await up;
  for (const s of [alphaStatus, betaStatus]) {
    t.deepEqual(s.seen.map((x) => x.value).slice(-3), ['LIVE', 'DISCONNECTED', 'LIVE'], 'one DISCONNECTED for the outage');
  }
  // Both stubs subscribe again on their own; wait until that took effect.
  await probe.crossBothWays();
  await talkBothWays(t, p, 'after-', 20);
  t.deepEqual(p.alpha.errors, []);
  t.deepEqual(p.beta.errors, []);
});
