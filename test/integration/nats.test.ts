// Two runtimes deploy the NATS stub (a Rust component) and talk through a
// real nats-server (Debian package) over its WebSocket listener.
import test, { type ExecutionContext } from 'ava';
import { existsSync } from 'node:fs';
import { createServer, connect, type Socket } from 'node:net';
import { serveDomain } from '../../domain/serve.ts';
import type { Message } from '../../kernel/schemas.ts';
import { builtStub } from '../helpers/built.ts';
import { listenerChurn } from '../helpers/listener-churn.ts';
import { NATS_SERVER, startNatsServer, type NatsAuth } from '../helpers/nats-server.ts';
import { deployedPair, inbox, runtime } from '../helpers/runtime.ts';

const USER = { username: 'alice-and-bob', password: 's3cret' };
const TOKEN = 'a-long-shared-token';
const WELL_KNOWN = '/.well-known/protocolstub/default';

const withNats = existsSync(NATS_SERVER) ? test : test.skip;

async function natsServer(t: ExecutionContext, auth: NatsAuth = { users: { [USER.username]: USER.password } }) {
  const server = await startNatsServer(auth);
  t.teardown(() => server.dispose());
  return server;
}

// The domain serves the NATS stub as its default, pointed at `natsURL`.
async function natsDomain(t: ExecutionContext, natsURL: string) {
  const domain = await serveDomain({
    brokerURL: natsURL,
    entries: { default: { component: builtStub('nats-rust'), configuration: { url: natsURL }, connect: [natsURL] } },
  });
  t.teardown(() => domain.close());
  return domain;
}

type Runtime = ReturnType<typeof runtime>;

/** Every status the runtime reports for its stubs, and a way to wait for one. */
function statusLog(rt: Runtime) {
  const seen: Array<{ value: string; code?: unknown }> = [];
  const waiters: Array<{ value: string; after: number; resolve: () => void }> = [];
  rt.hooks.status.tap('test', (stub, value) => {
    seen.push({ value, code: stub.statusBody.code });
    for (const w of waiters.filter((w) => w.value === value && seen.length > w.after)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  });
  return {
    seen,
    /** Resolves on the next `value` reported from now on. */
    next(value: string, ms = 20_000): Promise<void> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${value} status within ${ms} ms (saw ${seen.map((s) => s.value).join(', ')})`)), ms);
        waiters.push({ value, after: seen.length, resolve: () => { clearTimeout(timer); resolve(); } });
      });
    },
  };
}

function ids(messages: Message[]): string[] {
  return messages.map((m) => String(m.id));
}

withNats('a listener removed and added back behind the NATS stub gets every later message, in the same turn or the next', async (t) => {
  const nats = await natsServer(t);
  const domain = await natsDomain(t, nats.url);
  const { alpha, beta, alice, bob } = await deployedPair(t, domain.catalogue.origin, domain.catalogue.domain, USER);
  await listenerChurn(t, alpha, alice, beta, bob);
  t.deepEqual([...alpha.errors, ...beta.errors], []);
});

withNats('two runtimes deploy the NATS stub and messages cross both ways, in order, through a real nats-server with user and password', async (t) => {
  const nats = await natsServer(t);
  const domain = await natsDomain(t, nats.url);
  const name = domain.catalogue.domain;
  const identity = { credentials: { [name]: USER } };
  const alpha = runtime(t, { identity });
  const beta = runtime(t, { identity });
  const alice = `hyperty://${name}/alice`;
  const bob = `hyperty://${name}/bob`;
  const atBob = inbox(beta, bob);
  const atAlice = inbox(alpha, alice);
  const [stubA, stubB] = await Promise.all([alpha.deployStub(domain.catalogue.origin), beta.deployStub(domain.catalogue.origin)]);
  t.is(stubA.status, 'LIVE');
  t.is(stubB.status, 'LIVE');
  await Promise.all([beta.bus.whenSubscribed(bob), alpha.bus.whenSubscribed(alice)]);

  for (let i = 0; i < 50; i++) alpha.bus.postMessage({ id: `a${i}`, type: 'CREATE', from: alice, to: bob, body: { n: i } });
  for (let i = 0; i < 50; i++) beta.bus.postMessage({ id: `b${i}`, type: 'UPDATE', from: bob, to: alice, body: { n: i, bytes: new Uint8Array([i, 0, 255]) } });
  await Promise.all([atBob.waitFor(50), atAlice.waitFor(50)]);
  t.deepEqual(ids(atBob.messages), Array.from({ length: 50 }, (_, i) => `a${i}`), 'alice to bob: all arrive, in order');
  t.deepEqual(ids(atAlice.messages), Array.from({ length: 50 }, (_, i) => `b${i}`), 'bob to alice: all arrive, in order');
  t.deepEqual(atBob.messages[7], { id: 'a7', type: 'CREATE', from: alice, to: bob, body: { n: 7 } }, 'unchanged');
  t.deepEqual(atAlice.messages[9], { id: 'b9', type: 'UPDATE', from: bob, to: alice, body: { n: 9, bytes: new Uint8Array([9, 0, 255]) } }, 'unchanged, bytes too');
  t.deepEqual(alpha.errors, []);
  t.deepEqual(beta.errors, []);
});

withNats('a nats-server that wants a token accepts the stub logging in with one', async (t) => {
  const nats = await natsServer(t, { token: TOKEN });
  const domain = await natsDomain(t, nats.url);
  const name = domain.catalogue.domain;
  const identity = { credentials: { [name]: { token: TOKEN } } };
  const alpha = runtime(t, { identity });
  const beta = runtime(t, { identity });
  const bob = `hyperty://${name}/bob`;
  const atBob = inbox(beta, bob);
  await Promise.all([alpha.deployStub(domain.catalogue.origin), beta.deployStub(domain.catalogue.origin)]);
  await beta.bus.whenSubscribed(bob);
  alpha.bus.postMessage({ id: 't1', type: 'CREATE', from: `hyperty://${name}/alice`, to: bob });
  await atBob.waitFor(1);
  t.is(atBob.messages[0].id, 't1');
  t.deepEqual(alpha.errors, []);
});

withNats('a wrong password fails the deploy with PF_ERR_LOGIN, reported as the stub status, and leaves no stub behind', async (t) => {
  const nats = await natsServer(t);
  const domain = await natsDomain(t, nats.url);
  const rt = runtime(t, { identity: { credentials: { [domain.catalogue.domain]: { username: USER.username, password: 'wrong' } } } });
  const statuses = statusLog(rt);
  const error = await t.throwsAsync(rt.deployStub(domain.catalogue.origin));
  t.is((error as { code?: string }).code, 'PF_ERR_LOGIN');
  t.regex(error!.message, /Authorization Violation/);
  t.deepEqual(statuses.seen.map((s) => s.value), ['DEPLOYING', 'DISCONNECTED', 'FAILED']);
  t.is(statuses.seen[1].code, 'PF_ERR_LOGIN');
  t.is(rt.registry.list().length, 0);
});

withNats('a nats-server that is down fails the deploy with PF_ERR_BACKEND_UNREACHABLE and leaves no stub behind', async (t) => {
  const nats = await natsServer(t);
  await nats.stop();
  const domain = await natsDomain(t, nats.url);
  const rt = runtime(t, { identity: { credentials: { [domain.catalogue.domain]: USER } } });
  const error = await t.throwsAsync(rt.deployStub(domain.catalogue.origin));
  t.is((error as { code?: string }).code, 'PF_ERR_BACKEND_UNREACHABLE');
  t.is(rt.registry.list().length, 0);
});

// Core NATS keeps nothing for a subject nobody listens to, so the receiving
// stub must be subscribed again before the sender flushes its queue. The
// sender reaches the server through a gate the test opens only once the
// receiver is LIVE again; both still lose the server itself.
withNats('a stopped and restarted nats-server makes the stub report DISCONNECTED then LIVE, and what was posted meanwhile arrives after, in order', async (t) => {
  const nats = await natsServer(t);
  const gate = await tcpGate(t, Number(new URL(nats.url).port));
  const domain = await natsDomain(t, nats.url);
  const name = domain.catalogue.domain;
  const identity = { credentials: { [name]: USER } };
  const alice = `hyperty://${name}/alice`;
  const bob = `hyperty://${name}/bob`;

  const beta = runtime(t, { identity });
  const atBob = inbox(beta, bob);
  await beta.deployStub(domain.catalogue.origin);
  const descriptor = domain.catalogue.descriptor('default');
  descriptor.configuration = { url: gate.url };
  descriptor.connect = [gate.url];
  domain.catalogue.override(WELL_KNOWN, { body: descriptor });
  const alpha = runtime(t, { identity });
  await alpha.deployStub(domain.catalogue.origin);
  await beta.bus.whenSubscribed(bob);
  const alphaStatus = statusLog(alpha);
  const betaStatus = statusLog(beta);

  alpha.bus.postMessage({ id: 'before', type: 'CREATE', from: alice, to: bob });
  await atBob.waitFor(1);

  gate.hold();
  const down = Promise.all([alphaStatus.next('DISCONNECTED'), betaStatus.next('DISCONNECTED')]);
  await nats.stop();
  await down;
  for (let i = 0; i < 20; i++) alpha.bus.postMessage({ id: `d${i}`, type: 'CREATE', from: alice, to: bob, body: { n: i } });

  const betaBack = betaStatus.next('LIVE');
  await nats.start();
  await betaBack;
  const alphaBack = alphaStatus.next('LIVE');
  gate.release();
  await alphaBack;
  await atBob.waitFor(21, 20_000);
  t.deepEqual(ids(atBob.messages), ['before', ...Array.from({ length: 20 }, (_, i) => `d${i}`)], 'all arrive, in order');
  t.deepEqual(alphaStatus.seen, [{ value: 'DISCONNECTED', code: 'PF_ERR_CONNECT' }, { value: 'LIVE', code: undefined }]);
  t.deepEqual(alpha.errors, []);
  t.deepEqual(beta.errors, []);
});

/** A TCP pass-through to a local port that can refuse new connections for a while. */
async function tcpGate(t: ExecutionContext, target: number) {
  let holding = false;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    if (holding) {
      client.destroy();
      return;
    }
    const upstream = connect(target, '127.0.0.1');
    sockets.add(upstream);
    upstream.on('close', () => { sockets.delete(upstream); client.destroy(); });
    client.on('close', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => {
    for (const socket of sockets) socket.destroy();
    server.close(() => resolve());
  }));
  const { port } = server.address() as { port: number };
  return {
    url: `ws://127.0.0.1:${port}`,
    hold() { holding = true; },
    release() { holding = false; },
  };
}
