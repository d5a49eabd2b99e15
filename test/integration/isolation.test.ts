// A hostile or crashing stub never hurts the runtime: each misbehaviour is a
// real C component built from source, deployed from a real HTTP catalogue.
import test, { type ExecutionContext } from 'ava';
import type { Message } from '../../kernel/schemas.ts';
import type { CreateRuntimeOptions } from '../../index.ts';
import { builtStub } from '../helpers/built.ts';
import { catalogue, inbox, runtime } from '../helpers/runtime.ts';
import { watchEventLoop } from '../helpers/responsiveness.ts';
import { statusLog } from '../helpers/statuses.ts';

type Kind = 'worker' | 'in-thread';

async function hostile(t: ExecutionContext, component: string, options: CreateRuntimeOptions = {}, limits?: Record<string, number>) {
  const bad = await catalogue(t, { default: { component: builtStub(component), limits } });
  const good = await catalogue(t, { default: { component: builtStub('echo-c') } });
  const rt = runtime(t, { restart: { firstDelayMs: 50 }, ...options });
  const me = `hyperty://${bad.domain}/tester`;
  const friend = `hyperty://${good.domain}/tester`;
  const replies = inbox(rt, me);
  const friendReplies = inbox(rt, friend);
  const log = statusLog(rt);
  const statuses = log.seen;
  const stub = await rt.deployStub(bad.origin);
  await rt.deployStub(good.origin);
  let n = 0;
  const send = (body: Record<string, unknown>, to = `hyperty://${bad.domain}/echo`) =>
    rt.bus.postMessage({ id: `m${n++}`, type: 'CREATE', from: me, to, body });
  const sendFriend = (body: Record<string, unknown>) =>
    rt.bus.postMessage({ id: `f${n++}`, type: 'CREATE', from: friend, to: `hyperty://${good.domain}/echo`, body });
  const statusReached = (value: string, after = 0) => log.reached(value, { domain: bad.domain, after });
  return { rt, stub, bad, good, me, replies, friendReplies, statuses, send, sendFriend, statusReached };
}

const bodyOf = (m: Message) => m.body as Record<string, unknown>;

for (const kind of ['worker', 'in-thread'] as Kind[]) {
  // In-thread, alone: it holds this thread for its call limit, which the
  // other tests here (the worker one's lag bound above all) would feel.
  (kind === 'in-thread' ? test.serial : test)(`a stub that loops forever is stopped within its time limit, reported FAILED, restarted, and the runtime keeps going (${kind})`, async (t) => {
    // In a worker the runtime's thread never waits for the stub: it may lag
    // half the call limit at most, loose enough for a busy 2-core machine.
    // In the runtime's thread the stub's code is metered: the thread is held
    // for the call limit, then the stub traps, and everything goes on.
    const CALL_LIMIT_MS = 1_000;
    const h = await hostile(t, 'hostile-loop', { sandbox: { kind } }, { callTimeoutMs: CALL_LIMIT_MS });
    const loop = watchEventLoop();
    t.teardown(loop.stop);
    const before = h.statuses.length;
    const triggered = performance.now();
    h.send({ attack: true });
    // The other domain's stub keeps answering, while this one spins or after.
    h.sendFriend({ during: true });
    await h.friendReplies.waitFor(1);
    const failed = await h.statusReached('FAILED', before);
    t.is(failed.code, 'PF_ERR_STUB_TIMEOUT');
    t.regex(String(failed.reason), new RegExp(`ran longer than ${CALL_LIMIT_MS} ms`));
    const stuckToFailedMs = failed.at - triggered;
    t.true(stuckToFailedMs < CALL_LIMIT_MS + 2_000, `FAILED after ${stuckToFailedMs} ms`);
    // Messages sent while it is down wait, and arrive in order after the restart.
    for (let i = 0; i < 5; i++) h.send({ queued: i });
    const live = await h.statusReached('LIVE', h.statuses.indexOf(failed));
    t.is(h.rt.registry.get(h.bad.domain)?.stubURL, h.stub.stubURL, 'the runtime URL is kept');
    await h.replies.waitFor(6);
    const error = h.replies.messages.find((m) => bodyOf(m).error);
    t.like(error, { id: 'm0', type: 'RESPONSE', body: { error: 'PF_ERR_STUB_TIMEOUT' } }, 'the message it died on is answered with an error');
    t.deepEqual(h.replies.messages.filter((m) => !bodyOf(m).error).map((m) => bodyOf(m).queued), [0, 1, 2, 3, 4]);
    const lagBound = kind === 'worker' ? CALL_LIMIT_MS / 2 : CALL_LIMIT_MS + 2_000;
    t.true(loop.worstLagMs() < lagBound, `event loop lag ${loop.worstLagMs()} ms`);
    if (kind === 'in-thread') t.true(loop.worstLagMs() >= CALL_LIMIT_MS * 0.9, 'the metered stub held the thread until its limit, no longer');
    t.is(h.stub.counters.restarts, 1);
    t.log(`stuck call → FAILED: ${stuckToFailedMs.toFixed(0)} ms; FAILED → LIVE: ${(live.at - failed.at).toFixed(0)} ms`);
  });
}

for (const kind of ['worker', 'in-thread'] as Kind[]) {
  test(`a stub that traps is reported FAILED with PF_ERR_STUB_TRAP and restarted (${kind})`, async (t) => {
    const h = await hostile(t, 'hostile-trap', { sandbox: { kind } });
    const before = h.statuses.length;
    h.send({ attack: true });
    const failed = await h.statusReached('FAILED', before);
    t.is(failed.code, 'PF_ERR_STUB_TRAP');
    await h.statusReached('LIVE', before);
    h.send({ after: 'restart' });
    await h.replies.waitFor(2);
    t.like(h.replies.messages[1], { type: 'RESPONSE', body: { after: 'restart' } });
    t.is(h.stub.status, 'LIVE');
  });

  test(`a stub that grows its memory without bound fails with PF_ERR_STUB_MEMORY at its limit (${kind})`, async (t) => {
    const h = await hostile(t, 'hostile-grow', { sandbox: { kind } }, { memoryMiB: 8 });
    const loop = watchEventLoop();
    t.teardown(loop.stop);
    const before = h.statuses.length;
    h.send({ attack: true });
    const failed = await h.statusReached('FAILED', before);
    t.is(failed.code, 'PF_ERR_STUB_MEMORY');
    t.regex(String(h.rt.errors.find((e) => e.code === 'PF_ERR_STUB_MEMORY')?.message), /8 MiB/);
    await h.statusReached('LIVE', before);
  });

  test(`a stub that floods the bus is cut off with PF_ERR_STUB_FLOOD while others keep being served (${kind})`, async (t) => {
    const h = await hostile(t, 'hostile-flood', { sandbox: { kind, maxPostsPerSecond: 2_000 } });
    const before = h.statuses.length;
    h.send({ attack: true });
    const failed = await h.statusReached('FAILED', before);
    t.is(failed.code, 'PF_ERR_STUB_FLOOD');
    // 100 000 attempted; what got through is bounded by the rate (a second's
    // burst plus the refill while it was being cut off).
    const flooded = h.replies.messages.filter((m) => m.from.endsWith('/flood')).length;
    t.true(flooded < 10_000, `${flooded} flood messages got through`);
    h.sendFriend({ still: 'served' });
    await h.friendReplies.waitFor(1);
    t.like(h.friendReplies.messages[0], { body: { still: 'served' } });
  });
}

test('a stub cannot send as someone else: spoofed messages are rejected and reported, and the stub keeps running', async (t) => {
  const h = await hostile(t, 'hostile-spoof');
  const victim = inbox(h.rt, 'hyperty://victim.example/alice');
  h.send({ attack: true });
  h.send({ after: 'spoof' });
  await h.replies.waitFor(1);
  t.like(h.replies.messages[0], { body: { after: 'spoof' } });
  const spoofed = h.rt.errors.filter((e) => e.code === 'PF_ERR_SPOOFED');
  t.is(spoofed.length, 2);
  t.is(h.stub.counters.rejected, 2);
  t.deepEqual(victim.messages, []);
  t.false(h.replies.messages.some((m) => bodyOf(m).spoofed), 'nothing spoofed was delivered');
  t.is(h.stub.status, 'LIVE');
});

test('a stub cannot open a URL outside its connect list: it gets an err it can read', async (t) => {
  const h = await hostile(t, 'hostile-open');
  h.send({ attack: true });
  await h.replies.waitFor(1);
  t.like(h.replies.messages[0], { type: 'RESPONSE', body: { opened: false } });
  t.regex(String(bodyOf(h.replies.messages[0]).error), /outside the descriptor's connect list/);
});

test('garbage a stub posts is dropped with an error and a counter, and the stub keeps running', async (t) => {
  const h = await hostile(t, 'hostile-garbage');
  h.send({ attack: true });
  await h.replies.waitFor(1);
  h.send({ after: 'garbage' });
  await h.replies.waitFor(2);
  t.like(h.replies.messages[1], { body: { after: 'garbage' } });
  const codes = h.rt.errors.map((e) => e.code);
  t.true(codes.filter((c) => c === 'PF_ERR_CBOR').length >= 2, codes.join());
  t.true(codes.includes('PF_ERR_MESSAGE_INVALID'), codes.join());
  t.true(h.stub.counters.rejected >= 4);
  t.is(h.stub.status, 'LIVE');
});

test('a stub that keeps failing is given up on: FAILED with PF_ERR_GAVE_UP, and waiting senders get error responses', async (t) => {
  const h = await hostile(t, 'hostile-trap', { restart: { firstDelayMs: 300, maxRestarts: 1 } });
  h.send({ attack: true });
  await h.statusReached('LIVE', 2);
  h.send({ attack: true });
  for (let i = 0; i < 3; i++) h.send({ waiting: i });
  const gaveUp = await new Promise<unknown>((resolve) => {
    const check = () => {
      const found = h.statuses.find((s) => s.code === 'PF_ERR_GAVE_UP');
      if (found) resolve(found); else setTimeout(check, 5);
    };
    check();
  });
  t.truthy(gaveUp);
  await h.replies.waitFor(5);
  t.true(h.replies.messages.every((m) => typeof bodyOf(m).error === 'string'), 'every message got an error response');
  t.is(h.rt.registry.get(h.bad.domain), undefined);
  const again = await h.rt.deployStub(h.bad.origin);
  t.is(again.status, 'LIVE', 'a later deploy starts afresh');
});

test("in the runtime's thread a stub's code is metered before it is compiled, unless the runtime is told it need not be", async (t) => {
  // A stub no other test in this file deploys: what was compiled once is kept for the process.
  const domain = await catalogue(t, { default: { component: builtStub('echo-as') } });
  for (const meterInThread of [undefined, false]) {
    const rt = runtime(t, { cacheDir: false, sandbox: { kind: 'in-thread', meterInThread } });
    const steps: string[] = [];
    rt.hooks.step.tap('test', (e) => { if (e.parent && e.phase === 'end') steps.push(`${e.parent}/${e.hook}`); });
    const me = `hyperty://${domain.domain}/me`;
    const replies = inbox(rt, me);
    await rt.deployStub(domain.origin);
    t.is(steps.includes('instantiate/meter'), meterInThread !== false, `meterInThread: ${meterInThread}`);
    // Metered or not, it answers as before.
    rt.bus.postMessage({ id: 'x', type: 'CREATE', from: me, to: `hyperty://${domain.domain}/echo`, body: { n: 1 } });
    await replies.waitFor(1);
    t.like(replies.messages[0], { id: 'x', type: 'RESPONSE', body: { n: 1 } });
  }
});
