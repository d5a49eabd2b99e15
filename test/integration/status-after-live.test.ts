// The runtime follows what a stub says after it was LIVE: a login refused
// later asks the Identity Module again; a back-end that stays away has its
// waiting messages answered. Real mosquitto, the C MQTT stub, real HTTP.
import test, { type ExecutionContext } from 'ava';
import { existsSync } from 'node:fs';
import type { Message } from '../../kernel/schemas.ts';
import { changingIdentity } from '../helpers/identity.ts';
import { MOSQUITTO, startMosquitto, type Mosquitto } from '../helpers/mosquitto.ts';
import { inbox, runtime } from '../helpers/runtime.ts';
import { statusLog, type SeenStatus } from '../helpers/statuses.ts';
import { stubDomain } from '../helpers/stub-domain.ts';
import { until } from '../helpers/until.ts';

const USER = 'status';
const withMosquitto = (title: string, body: (t: ExecutionContext) => Promise<void>) => (existsSync(MOSQUITTO)
  ? test(title, body)
  : test.skip(`${title} — skipped: needs mosquitto at ${MOSQUITTO}`, body));

async function setUp(t: ExecutionContext, options: { disconnectedMs?: number } = {}) {
  const mosquitto = await startMosquitto({ [USER]: 'first' });
  t.teardown(() => mosquitto.dispose());
  const domain = await stubDomain(t, 'mqtt-c', mosquitto.url);
  const password = { current: 'first' };
  const alphaId = changingIdentity(USER, password);
  const betaId = changingIdentity(USER, password);
  const bus = options.disconnectedMs ? { disconnectedMs: options.disconnectedMs } : undefined;
  const alpha = runtime(t, { plugins: [alphaId.plugin], bus, restart: { firstDelayMs: 50 } });
  const beta = runtime(t, { plugins: [betaId.plugin], restart: { firstDelayMs: 50 } });
  const name = domain.name;
  const alice = `hyperty://${name}/alice`, bob = `hyperty://${name}/bob`;
  const atAlice = inbox(alpha, alice), atBob = inbox(beta, bob);
  const log = statusLog(alpha);
  const betaLog = statusLog(beta);
  const [stub] = await Promise.all([alpha.deployStub(domain.origin), beta.deployStub(domain.origin)]);
  await beta.bus.whenSubscribed(bob);
  await alpha.bus.whenSubscribed(alice);
  return { mosquitto, password, alpha, beta, alphaId, stub, alice, bob, atAlice, atBob, log, betaLog, name };
}

async function restartWithPassword(mosquitto: Mosquitto, password: string) {
  await mosquitto.setPassword(USER, password);
  await mosquitto.stop();
  await mosquitto.start();
}

/** Resolves once the stub says DISCONNECTED with PF_ERR_LOGIN (after a DISCONNECTED for the broker going away). */
function loginRefused(seen: SeenStatus[], after: number) {
  return until('DISCONNECTED with PF_ERR_LOGIN', () => seen.slice(after).some((s) => s.value === 'DISCONNECTED' && s.code === 'PF_ERR_LOGIN'), 20_000);
}

const isError = (m: Message) => m.type === 'RESPONSE' && ((m.body as { code?: number })?.code ?? 0) >= 400;

withMosquitto('a login refused after LIVE asks the Identity Module again; with the new password the stub is LIVE again and nothing sent meanwhile is lost', async (t) => {
  const h = await setUp(t);
  const asked = h.alphaId.asked.count;
  h.password.current = 'second';
  const before = h.log.seen.length;
  const betaBefore = h.betaLog.seen.length;
  await restartWithPassword(h.mosquitto, 'second');
  await loginRefused(h.log.seen, before);
  const ids = Array.from({ length: 20 }, (_, i) => `after-${i}`);
  for (const id of ids) h.alpha.bus.postMessage({ id, type: 'CREATE', from: h.alice, to: h.bob, body: {} });
  await h.log.reached('LIVE', { after: before, ms: 20_000 });
  t.true(h.alphaId.asked.count > asked, 'the credentials step ran again');
  // Each of the 20 is delivered or answered with an error; none vanishes.
  const accounted = () => ids.filter((id) => h.atBob.messages.some((m) => m.id === id) || h.atAlice.messages.some((m) => m.id === id && isError(m)));
  await until('every message delivered or answered', () => accounted().length === ids.length, 20_000).catch(() => {});
  t.deepEqual(accounted(), ids);
  t.log(`${h.atBob.messages.filter((m) => ids.includes(String(m.id))).length} of 20 delivered, ${h.atAlice.messages.filter(isError).length} answered with an error`);
  t.is(h.stub.status, 'LIVE');
  await h.betaLog.reached('LIVE', { after: betaBefore, ms: 20_000 });
  // And what is sent now is delivered.
  h.alpha.bus.postMessage({ id: 'later', type: 'CREATE', from: h.alice, to: h.bob, body: {} });
  await h.atBob.waitFor(h.atBob.messages.length + 1, 20_000);
  t.true(h.atBob.messages.some((m) => m.id === 'later'));
});

withMosquitto('a login still refused after asking again leaves the stub FAILED with PF_ERR_LOGIN, and every message sent to it is answered', async (t) => {
  const h = await setUp(t);
  const before = h.log.seen.length;
  // The broker's password changes; the Identity Module still hands out the old one.
  await restartWithPassword(h.mosquitto, 'changed');
  await loginRefused(h.log.seen, before);
  const ids = Array.from({ length: 20 }, (_, i) => `after-${i}`);
  for (const id of ids) h.alpha.bus.postMessage({ id, type: 'CREATE', from: h.alice, to: h.bob, body: {} });
  t.like(await h.log.reached('FAILED', { after: before, ms: 20_000 }), { code: 'PF_ERR_LOGIN' });
  await h.atAlice.waitFor(ids.length, 20_000);
  const answered = h.atAlice.messages.filter(isError);
  t.deepEqual(answered.map((m) => m.id).sort(), [...ids].sort());
  t.deepEqual(h.atBob.messages.filter((m) => ids.includes(String(m.id))), []);
  t.log(`answers: ${JSON.stringify([...new Set(answered.map((m) => `${(m.body as { code?: number }).code} ${(m.body as { error?: string }).error ?? ''}`))])}`);
  // Undeployed after FAILED: the registry lets it go.
  await until('the stub undeployed', () => !h.alpha.registry.get(h.name)).catch(() => {});
  t.is(h.alpha.registry.get(h.name), undefined, 'the stub is gone');
});

withMosquitto('a stub DISCONNECTED past disconnectedMs has what waits answered PF_ERR_BACKEND_UNREACHABLE, and carries messages again once LIVE', async (t) => {
  const h = await setUp(t, { disconnectedMs: 500 });
  const before = h.log.seen.length;
  await h.mosquitto.stop();
  await h.log.reached('DISCONNECTED', { after: before, ms: 20_000 });
  for (let i = 0; i < 5; i++) h.alpha.bus.postMessage({ id: `waiting-${i}`, type: 'CREATE', from: h.alice, to: h.bob, body: {} });
  await h.atAlice.waitFor(5, 20_000);
  t.deepEqual(h.atAlice.messages.map((m) => [m.id, (m.body as { error?: string }).error]),
    Array.from({ length: 5 }, (_, i) => [`waiting-${i}`, 'PF_ERR_BACKEND_UNREACHABLE']));
  // Still away: a new message is answered at once.
  h.alpha.bus.postMessage({ id: 'still-away', type: 'CREATE', from: h.alice, to: h.bob, body: {} });
  await h.atAlice.waitFor(6, 5_000);
  t.like(h.atAlice.messages[5], { id: 'still-away', body: { error: 'PF_ERR_BACKEND_UNREACHABLE' } });
  const betaBefore = h.betaLog.seen.length;
  await h.mosquitto.start();
  await h.log.reached('LIVE', { after: before, ms: 30_000 });
  await h.betaLog.reached('LIVE', { after: betaBefore, ms: 30_000 });
  h.alpha.bus.postMessage({ id: 'back', type: 'CREATE', from: h.alice, to: h.bob, body: {} });
  await h.atBob.waitFor(1, 20_000);
  t.like(h.atBob.messages.at(-1), { id: 'back' });
});
