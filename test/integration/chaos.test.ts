// The chaos test: a steady stream between two runtimes while faults come in
// turn — the broker killed and restarted, a cluster node killed, a stub
// trapping on a poison message mid-batch, a shared worker stopped with a
// neighbour's messages in flight, the broker's password changed, one message
// too large to carry. Every message sent is accounted for: delivered once,
// delivered twice (must be 0), answered with an error (only what the faults
// really refuse), silently lost (must be 0). Real brokers, real components.
import test, { type ExecutionContext } from 'ava';
import { existsSync } from 'node:fs';
import { startEmbeddedBroker } from '../../domain/broker.ts';
import { serveDomain } from '../../domain/serve.ts';
import type { Message } from '../../kernel/schemas.ts';
import { spawnNodeWorker } from '../../plugins/sandbox/worker/node-spawn.ts';
import { builtStub } from '../helpers/built.ts';
import { changingIdentity } from '../helpers/identity.ts';
import { MOSQUITTO, startMosquitto } from '../helpers/mosquitto.ts';
import { isError } from '../helpers/mqtt-delivery.ts';
import { NATS_SERVER, startNatsCluster } from '../helpers/nats-cluster.ts';
import { catalogue, inbox, runtime } from '../helpers/runtime.ts';
import { statusLog } from '../helpers/statuses.ts';
import { stubDomain } from '../helpers/stub-domain.ts';
import { sleep, until } from '../helpers/until.ts';

const USER = 'chaos';
const EVERY_MS = 10;
const BIG_BYTES = 50_000_000;

const when = (present: boolean, what: string) => (title: string, body: (t: ExecutionContext) => Promise<void>) =>
  (present ? test.serial(title, body) : test.skip(`${title} — skipped: needs ${what}`, body));

interface Backend {
  origin: string;
  name: string;
  /** Serves the domain again with another configuration (the receiver's own server order). */
  forReceiver?(): Promise<void>;
  killBroker?(): Promise<void>;
  /** The stubs go DISCONNECTED and LIVE again when the broker is killed (a cluster fails over without). */
  killIsOutage?: boolean;
  changePassword?(password: string): Promise<void>;
  /** Waits until the subscriptions made so far would survive a crash of the broker. */
  persisted?(): Promise<void>;
}


const codeOf = (m: Message) => (m.body as { code?: unknown } | undefined)?.code;
/** Recovery after each fault is given this long: a loaded CI machine, a broker restart. */
const RECOVERY_MS = 30_000;

async function chaos(t: ExecutionContext, backend: Backend, password: { current: string }) {
  // The sender's stream stub shares its worker with a stub that gets stuck:
  // stopping the worker for the stuck one stops the stream's stub with
  // messages in flight. A third stub traps on poison.
  const trap = await catalogue(t, { default: { component: builtStub('hostile-trap') } });
  const stuck = await catalogue(t, { default: { component: builtStub('hostile-loop'), limits: { callTimeoutMs: 500 } } });
  const alphaId = changingIdentity(USER, password);
  const betaId = changingIdentity(USER, password);
  // A spawn function of its own: workers are shared per spawn function, so
  // no other runtime in this process takes a seat beside the stream's stub.
  const alpha = runtime(t, {
    plugins: [alphaId.plugin], restart: { firstDelayMs: 50, maxRestarts: 20 },
    sandbox: { kind: 'worker', stubsPerWorker: 2, spawnWorker: (options) => spawnNodeWorker(options) },
  });
  const beta = runtime(t, { plugins: [betaId.plugin], restart: { firstDelayMs: 50, maxRestarts: 20 } });
  const alice = `hyperty://${backend.name}/alice`, bob = `hyperty://${backend.name}/bob`;
  const atAlice = inbox(alpha, alice), atBob = inbox(beta, bob);
  const alphaLog = statusLog(alpha), betaLog = statusLog(beta);
  const story: string[] = [];
  for (const [who, rt] of [['alpha', alpha], ['beta', beta]] as const) {
    rt.hooks.status.tap('chaos', (stub, value) => story.push(`${who} ${stub.domain.name} ${value} ${stub.statusBody.code ?? ''}`));
  }
  t.teardown(() => { if (!t.passed) t.log(story.join('\n')); });

  const stream = await alpha.deployStub(backend.origin);
  await alpha.deployStub(stuck.origin);
  await alpha.deployStub(trap.origin);
  await backend.forReceiver?.();
  await beta.deployStub(backend.origin);
  await Promise.all([beta.bus.whenSubscribed(bob), alpha.bus.whenSubscribed(alice)]);
  await backend.persisted?.();

  // The stream: one message every EVERY_MS, each noted with the fault under way.
  const sent: string[] = [];
  const phaseOf = new Map<string, string>();
  let phase = 'steady';
  let streaming = true;
  const streamer = (async () => {
    for (let n = 0; streaming; n++) {
      const id = `c${n}`;
      sent.push(id);
      phaseOf.set(id, phase);
      alpha.bus.postMessage({ id, type: 'CREATE', from: alice, to: bob, body: { n } });
      await sleep(EVERY_MS);
    }
  })();
  const flowing = async (more = 30) => {
    const target = sent.length + more;
    await until(`${more} more messages delivered`, () => sent.length >= target && atBob.messages.some((m) => m.id === `c${target - 1}`), RECOVERY_MS);
  };
  const liveAgain = async (after: { alpha: number; beta?: number }) => {
    await alphaLog.reached('LIVE', { domain: backend.name, after: after.alpha, ms: 30_000 });
    if (after.beta !== undefined) await betaLog.reached('LIVE', { domain: backend.name, after: after.beta, ms: 30_000 });
  };
  const faults: string[] = [];
  await flowing();

  if (backend.killBroker) {
    phase = 'broker killed';
    faults.push(phase);
    const mark = { alpha: alphaLog.seen.length, beta: betaLog.seen.length };
    await backend.killBroker();
    if (backend.killIsOutage) await liveAgain(mark);
    phase = 'steady';
    await flowing();
  }

  // A poison message in the middle of a batch to the trapping stub.
  phase = 'poison';
  faults.push(phase);
  const tester = `hyperty://${trap.domain}/tester`;
  const poisonReplies = inbox(alpha, tester);
  const poisonIds = ['p0', 'p1', 'poison', 'p3', 'p4'];
  for (const id of poisonIds) {
    alpha.bus.postMessage({ id, type: 'CREATE', from: tester, to: `hyperty://${trap.domain}/echo`, body: id === 'poison' ? { attack: true } : { id } });
  }
  await poisonReplies.waitFor(poisonIds.length, 20_000);
  phase = 'steady';
  await flowing();

  // The stuck stub takes the shared worker down, the stream's stub with it.
  phase = 'worker stopped';
  faults.push(phase);
  const beforeStop = alphaLog.seen.length;
  alpha.bus.postMessage({ id: 'stuck', type: 'CREATE', from: `hyperty://${stuck.domain}/tester`, to: `hyperty://${stuck.domain}/loop`, body: { attack: true } });
  t.like(await alphaLog.reached('FAILED', { domain: backend.name, after: beforeStop, ms: 20_000 }), { code: 'PF_ERR_WORKER_LOST' });
  await liveAgain({ alpha: beforeStop });
  phase = 'steady';
  await flowing();

  if (backend.changePassword) {
    phase = 'password changed';
    faults.push(phase);
    const mark = { alpha: alphaLog.seen.length, beta: betaLog.seen.length };
    const asked = alphaId.asked.count;
    password.current = 'changed';
    await backend.changePassword('changed');
    await liveAgain(mark);
    t.true(alphaId.asked.count > asked, 'the sender asked the Identity Module again');
    phase = 'steady';
    await flowing();
  }

  // Once: a message larger than the stub can carry.
  faults.push('50 MB message');
  alpha.bus.postMessage({ id: 'big', type: 'CREATE', from: alice, to: bob, body: { blob: new Uint8Array(BIG_BYTES) } });
  await until('the 50 MB message answered', () => atAlice.messages.some((m) => m.id === 'big'), RECOVERY_MS);
  await flowing();
  streaming = false;
  await streamer;

  // The account.
  await until('every message delivered or answered', () => sent.every((id) => atBob.messages.some((m) => m.id === id)
    || atAlice.messages.some((m) => m.id === id && isError(m))), 30_000).catch(() => {});
  const deliveries = new Map<string, number>();
  for (const m of atBob.messages) deliveries.set(String(m.id), (deliveries.get(String(m.id)) ?? 0) + 1);
  const answered = new Map(atAlice.messages.filter(isError).map((m) => [String(m.id), m]));
  const once = sent.filter((id) => deliveries.get(id) === 1);
  const twice = sent.filter((id) => (deliveries.get(id) ?? 0) > 1);
  const refused = sent.filter((id) => !deliveries.has(id) && answered.has(id));
  const lost = sent.filter((id) => !deliveries.has(id) && !answered.has(id));
  const poison = new Map(poisonReplies.messages.map((m) => [String(m.id), m]));
  t.log(`${backend.name}: faults ${faults.join(', ')}; ${sent.length} sent: ${once.length} delivered once, ${twice.length} twice, `
    + `${refused.length} answered with an error (${[...new Set(refused.map((id) => `${phaseOf.get(id)}: ${codeOf(answered.get(id)!)}`))].join('; ') || 'none'}), ${lost.length} lost; `
    + `poison batch: ${poisonIds.map((id) => `${id} ${isError(poison.get(id)!) ? (poison.get(id)!.body as { error?: string }).error : 'delivered'}`).join(', ')}; `
    + `50 MB: ${codeOf(atAlice.messages.find((m) => m.id === 'big')!)}; dropped repeats ${beta.registry.get(backend.name)?.counters.duplicates ?? '?'}`);
  t.deepEqual(lost, [], 'nothing silently lost');
  t.deepEqual(twice, [], 'nothing delivered twice');
  // Only a refused login makes the stub answer what it held (503): the back-end really refused it.
  for (const id of refused) t.is(phaseOf.get(id), 'password changed', `${id} answered ${JSON.stringify(answered.get(id)!.body)}`);
  t.deepEqual(poisonIds.filter((id) => !isError(poison.get(id)!)), ['p0', 'p1', 'p3', 'p4']);
  t.like(poison.get('poison'), { body: { error: 'PF_ERR_STUB_TRAP' } });
  t.is(poisonReplies.messages.length, poisonIds.length, 'the poison batch: each answered once');
  t.is(codeOf(atAlice.messages.find((m) => m.id === 'big')!), 413);
  t.false(atBob.messages.some((m) => m.id === 'big'));
  t.is(stream.status, 'LIVE');
}

when(existsSync(MOSQUITTO), `mosquitto at ${MOSQUITTO}`)('chaos on mosquitto and the C MQTT stub: nothing lost, nothing twice', async (t) => {
  const mosquitto = await startMosquitto({ [USER]: 'first' });
  t.teardown(() => mosquitto.dispose());
  const domain = await stubDomain(t, 'mqtt-c', mosquitto.url);
  await chaos(t, {
    ...domain,
    persisted: () => mosquitto.savedAfter(Date.now()),
    killIsOutage: true,
    killBroker: async () => {
      await mosquitto.stop('SIGKILL');
      await mosquitto.start();
    },
    changePassword: async (password) => {
      await mosquitto.setPassword(USER, password);
      await mosquitto.stop();
      await mosquitto.start();
    },
  }, { current: 'first' });
});

test.serial('chaos on the embedded aedes broker and the C MQTT stub (no broker restart: aedes keeps sessions in memory): nothing lost, nothing twice', async (t) => {
  const broker = await startEmbeddedBroker({ users: { [USER]: 'first' } });
  t.teardown(() => broker.close());
  await chaos(t, await stubDomain(t, 'mqtt-c', broker.url), { current: 'first' });
});

when(existsSync(NATS_SERVER), `nats-server at ${NATS_SERVER}`)('chaos on a three-node nats-server cluster and the NATS stub (the sender\'s node killed): nothing lost, nothing twice', async (t) => {
  const cluster = await startNatsCluster({ users: { [USER]: 'first' } });
  t.teardown(() => cluster.dispose());
  const [a, b, c] = cluster.nodes;
  const entry = (servers: string[]) => ({ component: builtStub('nats-rust'), configuration: { servers }, connect: cluster.urls });
  const domain = await serveDomain({ brokerURL: a.url, entries: { default: entry([a.url, b.url, c.url]) } });
  t.teardown(() => domain.close());
  await chaos(t, {
    origin: domain.catalogue.origin,
    name: domain.catalogue.domain,
    // The receiver on node B: killing A (the sender's) leaves its subscription where it is.
    forReceiver: async () => {
      domain.catalogue.override('/.well-known/protocolstub/default', { body: { ...domain.catalogue.descriptor('default'), configuration: { servers: [b.url, c.url, a.url] } } });
    },
    killBroker: () => a.stop('SIGKILL'),
  }, { current: 'first' });
});
