// Poison, not collateral: a stub that dies on one message of a batch takes
// only that message with it. The others are replayed into the restarted stub,
// one per call, and delivered once, in order. Real C components (hostile
// fixtures built from source) from a real HTTP catalogue.
import test from 'ava';
import type { CreateRuntimeOptions } from '../../index.ts';
import type { Message } from '../../kernel/schemas.ts';
import { builtStub } from '../helpers/built.ts';
import { catalogue, inbox, runtime } from '../helpers/runtime.ts';
import { statusLog } from '../helpers/statuses.ts';
import { until } from '../helpers/until.ts';

type Kind = 'worker' | 'in-thread';

async function echoing(t: Parameters<typeof catalogue>[0], component: string, options: CreateRuntimeOptions = {}, limits?: Record<string, number>) {
  const domain = await catalogue(t, { default: { component: builtStub(component), limits } });
  const rt = runtime(t, { restart: { firstDelayMs: 20 }, ...options });
  const me = `hyperty://${domain.domain}/tester`;
  const replies = inbox(rt, me);
  const log = statusLog(rt);
  const stub = await rt.deployStub(domain.origin);
  const send = (id: string, body: Record<string, unknown>) =>
    rt.bus.postMessage({ id, type: 'CREATE', from: me, to: `hyperty://${domain.domain}/echo`, body });
  return { rt, stub, replies, log, send, domain: domain.domain };
}

const errorOf = (m: Message) => (m.body as { error?: string } | undefined)?.error;

/** Every message sent, by what became of it at the sender: answered (echoed), answered with an error, or nothing. */
function account(sent: string[], replies: Message[]) {
  const echoed = new Map<string, number>();
  const failed = new Map<string, string>();
  for (const m of replies) {
    const code = errorOf(m);
    if (code) failed.set(String(m.id), code);
    else echoed.set(String(m.id), (echoed.get(String(m.id)) ?? 0) + 1);
  }
  return {
    once: sent.filter((id) => echoed.get(id) === 1),
    twice: sent.filter((id) => (echoed.get(id) ?? 0) > 1),
    failed: Object.fromEntries(failed),
    lost: sent.filter((id) => !echoed.has(id) && !failed.has(id)),
    order: replies.filter((m) => !errorOf(m)).map((m) => String(m.id)),
  };
}

for (const kind of ['in-thread', 'worker'] as Kind[]) {
  test(`a stub that traps on one message of a batch: that message is answered PF_ERR_STUB_TRAP and counted, the rest are delivered once and in order (${kind})`, async (t) => {
    const h = await echoing(t, 'hostile-trap', { sandbox: { kind } });
    const sent = ['m0', 'm1', 'poison', 'm3', 'm4', 'm5'];
    // One turn: one batch, one call into the stub.
    for (const id of sent) h.send(id, id === 'poison' ? { attack: true } : { n: id });
    await h.replies.waitFor(sent.length);
    const result = account(sent, h.replies.messages);
    t.deepEqual(result.failed, { poison: 'PF_ERR_STUB_TRAP' });
    t.deepEqual(result.lost, []);
    t.deepEqual(result.twice, []);
    t.deepEqual(result.order, ['m0', 'm1', 'm3', 'm4', 'm5']);
    t.is(h.stub.counters.poisoned, 1);
    // It answered m0 and m1 before it trapped; their replays were answered
    // again and dropped as repeats (after each death, what it had returned
    // from is in doubt and handed again).
    t.true(h.stub.counters.duplicates >= 2, `${h.stub.counters.duplicates} repeats dropped`);
    t.is(h.stub.status, 'LIVE');
    // Two restarts: one for the batch, one for the poison alone.
    t.is(h.stub.counters.restarts, 2);
    h.send('after', { n: 'after' });
    await h.replies.waitFor(sent.length + 1);
    t.like(h.replies.messages.at(-1), { id: 'after', body: { n: 'after' } });
  });
}

test('a stub stuck on one message of a batch is cut off at its time limit; the others are delivered after the restart, the stuck one answered PF_ERR_STUB_TIMEOUT (worker)', async (t) => {
  const h = await echoing(t, 'hostile-loop', {}, { callTimeoutMs: 300 });
  const sent = ['a', 'b', 'stuck', 'c'];
  for (const id of sent) h.send(id, id === 'stuck' ? { attack: true } : { n: id });
  await h.replies.waitFor(sent.length, 20_000);
  const result = account(sent, h.replies.messages);
  t.deepEqual(result.failed, { stuck: 'PF_ERR_STUB_TIMEOUT' });
  t.deepEqual(result.lost, []);
  t.deepEqual(result.twice, []);
  t.deepEqual(result.order, ['a', 'b', 'c']);
  t.is(h.stub.counters.poisoned, 1);
});

test('a stub stuck in a timer callback is cut off at its time limit and restarted; no message is blamed for a call that held none (worker)', async (t) => {
  const h = await echoing(t, 'hostile-loop', {}, { callTimeoutMs: 300 });
  // It takes this one and returns; the timer it sets then never returns.
  h.send('arm', { attack: true, where: 'timer' });
  await until('a restart after the stuck timer', () => h.stub.counters.restarts >= 1, 20_000);
  t.true(h.rt.errors.some((e) => e.code === 'PF_ERR_STUB_TIMEOUT'));
  t.is(h.stub.counters.poisoned, 0);
  h.send('after', { n: 'after' });
  await h.replies.waitFor(1, 20_000);
  t.like(h.replies.messages.at(-1), { id: 'after', body: { n: 'after' } });
  t.is(h.stub.status, 'LIVE');
});

test('two poisons in one batch are both found; every innocent message is delivered, and the stub is not given up', async (t) => {
  const h = await echoing(t, 'hostile-trap', { sandbox: { kind: 'in-thread' } });
  const sent = Array.from({ length: 12 }, (_, i) => (i === 3 || i === 8 ? `poison${i}` : `m${i}`));
  for (const id of sent) h.send(id, id.startsWith('poison') ? { attack: true } : { n: id });
  await h.replies.waitFor(sent.length);
  const result = account(sent, h.replies.messages);
  t.deepEqual(result.failed, { poison3: 'PF_ERR_STUB_TRAP', poison8: 'PF_ERR_STUB_TRAP' });
  t.deepEqual(result.lost, []);
  t.deepEqual(result.twice, []);
  t.deepEqual(result.order, sent.filter((id) => !id.startsWith('poison')));
  t.is(h.stub.counters.poisoned, 2);
  t.false(h.rt.errors.some((e) => e.code === 'PF_ERR_GAVE_UP'));
});

test('messages posted while suspects are replayed wait behind them and keep their order', async (t) => {
  const h = await echoing(t, 'hostile-trap', { sandbox: { kind: 'worker' } });
  for (const id of ['x0', 'poison', 'x2']) h.send(id, id === 'poison' ? { attack: true } : { n: id });
  await h.log.reached('FAILED', { domain: h.domain });
  for (let i = 0; i < 5; i++) h.send(`later${i}`, { n: i });
  await h.replies.waitFor(8);
  const result = account(['x0', 'poison', 'x2', ...Array.from({ length: 5 }, (_, i) => `later${i}`)], h.replies.messages);
  t.deepEqual(result.order, ['x0', 'x2', 'later0', 'later1', 'later2', 'later3', 'later4']);
  t.deepEqual(result.failed, { poison: 'PF_ERR_STUB_TRAP' });
  t.deepEqual(result.lost, []);
});

test('a stub given up on answers every message it still held, suspects included', async (t) => {
  // No restart allowed: the first fault gives it up.
  const h = await echoing(t, 'hostile-trap', { sandbox: { kind: 'in-thread' }, restart: { firstDelayMs: 20, maxRestarts: 0 } });
  const sent = ['s0', 'poison', 's2', 's3'];
  for (const id of sent) h.send(id, id === 'poison' ? { attack: true } : { n: id });
  // s0 was answered before the trap, but the runtime cannot know: held when
  // the stub went, it is answered PF_ERR_GAVE_UP too (at least once, never silence).
  await h.replies.waitFor(sent.length + 1);
  const result = account(sent, h.replies.messages);
  t.deepEqual(result.lost, []);
  t.deepEqual(result.twice, []);
  t.deepEqual(result.order, ['s0']);
  t.deepEqual(result.failed, { s0: 'PF_ERR_GAVE_UP', poison: 'PF_ERR_GAVE_UP', s2: 'PF_ERR_GAVE_UP', s3: 'PF_ERR_GAVE_UP' });
});

for (const kind of ['in-thread', 'worker'] as Kind[]) {
  test(`a stub that dies on one address of the runtime's own SUBSCRIBE is not given up: the piece is replayed address by address, that address alone is refused with the fault, the others reach the stub (${kind})`, async (t) => {
    const h = await echoing(t, 'hostile-trap', { sandbox: { kind } });
    const handed: Message[] = [];
    h.rt.hooks.attach.tapPromise({ name: 'test', stage: -10 }, async (context) => {
      const instance = context.instance!;
      const deliver = instance.deliver.bind(instance);
      instance.deliver = (messages, done) => { handed.push(...messages); deliver(messages, done); };
      return undefined as never;
    });
    const addresses = ['alice', 'attack', 'bob', 'carol'].map((name) => `hyperty://${h.domain}/${name}`);
    // One turn: one SUBSCRIBE piece with all four.
    for (const address of addresses) h.rt.bus.addListener(address, () => {});
    const refused = await t.throwsAsync(h.rt.bus.whenSubscribed(addresses[1], 20_000));
    t.is((refused as { code?: string }).code, 'PF_ERR_STUB_TRAP');
    // It is back, and not for nothing: it answers.
    await h.log.reached('LIVE', { domain: h.domain, after: 1 });
    h.send('after', { n: 1 });
    await h.replies.waitFor(1);
    t.like(h.replies.messages[0], { id: 'after', type: 'RESPONSE' });
    t.is(h.stub.status, 'LIVE');
    t.is(h.stub.counters.poisoned, 1);
    t.is(h.stub.counters.restarts, 2, 'one death on the piece, one on the address alone');
    // What the last instance was handed: every address but the one it died on.
    await until('the others handed again', () => handed.filter((m) => m.type === 'SUBSCRIBE').length >= 3);
    const asked = handed.filter((m) => m.type === 'SUBSCRIBE' && m.to === h.stub.stubURL).flatMap((m) => (m.body as { resources: string[] }).resources);
    const lastAttack = asked.lastIndexOf(addresses[1]);
    for (const other of [addresses[0], addresses[2], addresses[3]]) t.true(asked.lastIndexOf(other) > lastAttack, `${other} asked for after the poison was found`);
    // The restarted instances (the first was deployed before the tap) were
    // asked for it once, alone, and never again once it was found.
    t.is(asked.filter((a) => a === addresses[1]).length, 1, 'alone, once');
    t.deepEqual(h.rt.errors.filter((e) => e.code !== 'PF_ERR_STUB_TRAP').map((e) => e.code), []);
  });
}
