// The stub's URL is an address (seed steps 14–15): a message to a stub's
// runtime URL, or to an address below it, reaches that stub through its
// queue, from an application as from the runtime; a stub URL that does not
// exist is PF_ERR_NO_ROUTE. Real components from a real HTTP catalogue.
import test, { type ExecutionContext } from 'ava';
import { startEmbeddedBroker } from '../../domain/broker.ts';
import type { Message } from '../../kernel/schemas.ts';
import { builtStub } from '../helpers/built.ts';
import { catalogue, inbox, runtime } from '../helpers/runtime.ts';
import { stubDomain } from '../helpers/stub-domain.ts';
import { sleep } from '../helpers/until.ts';

type Kind = 'in-thread' | 'worker';
const KINDS: Kind[] = ['in-thread', 'worker'];

async function deployed(t: ExecutionContext, component: string, kind: Kind) {
  const domain = await catalogue(t, { default: { component: builtStub(component) } });
  const rt = runtime(t, { sandbox: { kind }, restart: { firstDelayMs: 20 } });
  // Outside the stub's domain: listening on it asks the stub for nothing, so
  // what the stub is handed is exactly what a test sends it.
  const me = 'hyperty://app.test/me';
  const replies = inbox(rt, me);
  const stub = await rt.deployStub(domain.origin);
  return { rt, stub, me, replies, domain: domain.domain };
}

const bodyOf = (m: Message) => (m.body ?? {}) as { code?: number; error?: string; reason?: string; value?: unknown };

/**
 * What became of each message sent, at its sender: answered by the stub
 * (once, or more), answered with an error (by the runtime or the stub), or
 * nothing at all.
 */
function account(sent: string[], replies: Message[], stubURL: string) {
  const answered = new Map<string, number>();
  const failed: Record<string, string> = {};
  for (const m of replies) {
    const id = String(m.id);
    const body = bodyOf(m);
    if (m.type === 'RESPONSE' && m.from === stubURL && body.code === 200) answered.set(id, (answered.get(id) ?? 0) + 1);
    else failed[id] = body.error ?? `${String(body.code)} from ${m.from}`;
  }
  return {
    once: sent.filter((id) => answered.get(id) === 1).length,
    twice: sent.filter((id) => (answered.get(id) ?? 0) > 1),
    failed,
    lost: sent.filter((id) => !answered.has(id) && !(id in failed)),
  };
}

for (const kind of KINDS) {
  test(`every READ an application sends to a C echo stub's own URL is answered by the stub, once (${kind})`, async (t) => {
    const { rt, stub, me, replies } = await deployed(t, 'echo-c', kind);
    const sent: string[] = [];
    // In several turns, so several batches reach the stub.
    for (let turn = 0; turn < 10; turn++) {
      for (let i = 0; i < 50; i++) {
        const id = `read-${turn}-${i}`;
        sent.push(id);
        rt.bus.postMessage({ id, type: 'READ', from: me, to: stub.stubURL, body: { n: sent.length } });
      }
      await sleep(0);
    }
    await replies.waitFor(sent.length);
    await sleep(50); // room for a repeat, were there one
    t.deepEqual(account(sent, replies.messages, stub.stubURL), { once: sent.length, twice: [], failed: {}, lost: [] });
    t.like(replies.messages[0], { id: sent[0], type: 'RESPONSE', from: stub.stubURL, to: me, body: { code: 200, value: { n: 1 } } });
    t.is(stub.counters.messagesIn, sent.length);
    t.deepEqual(rt.errors.map((e) => e.code), []);
  });

  test(`a message to a stub URL that does not exist, or to one that no longer does, is answered PF_ERR_NO_ROUTE (${kind})`, async (t) => {
    const { rt, stub, me, replies, domain } = await deployed(t, 'echo-c', kind);
    const nobody = `hyperty-runtime://${domain}/protostub/00000000`;
    rt.bus.postMessage({ id: 'nobody', type: 'READ', from: me, to: nobody });
    rt.bus.postMessage({ id: 'below-nobody', type: 'READ', from: me, to: `${nobody}/x` });
    await replies.waitFor(2);
    await rt.undeployStub(domain);
    rt.bus.postMessage({ id: 'gone', type: 'READ', from: me, to: stub.stubURL });
    await replies.waitFor(3);
    for (const [i, id] of ['nobody', 'below-nobody', 'gone'].entries()) {
      t.like(replies.messages[i], { id, type: 'RESPONSE', from: rt.runtimeURL, to: me, body: { code: 404, error: 'PF_ERR_NO_ROUTE' } }, id);
    }
    t.is(rt.errors.filter((e) => e.code === 'PF_ERR_NO_ROUTE').length, 3);
  });

  test(`a message to its own URL the C echo does not understand is answered 400 with a reason, and one below its URL reaches it too (${kind})`, async (t) => {
    const { rt, stub, me, replies } = await deployed(t, 'echo-c', kind);
    rt.bus.postMessage({ id: 'exec', type: 'EXECUTE', from: me, to: stub.stubURL, body: { method: 'frobnicate' } });
    rt.bus.postMessage({ id: 'below', type: 'READ', from: me, to: `${stub.stubURL}/config` });
    await replies.waitFor(2);
    t.like(replies.messages[0], { id: 'exec', type: 'RESPONSE', from: stub.stubURL, to: me, body: { code: 400 } });
    t.regex(String(bodyOf(replies.messages[0]).reason), /READ/);
    t.like(replies.messages[1], { id: 'below', type: 'RESPONSE', from: `${stub.stubURL}/config`, body: { code: 200 } });
  });

  test(`READs sent to a stub's URL while it restarts wait for it and are each answered once (${kind})`, async (t) => {
    const { rt, stub, me, replies } = await deployed(t, 'echo-c', kind);
    const restarted = rt.restartStub(stub);
    const sent = Array.from({ length: 20 }, (_, i) => `during-${i}`);
    for (const id of sent) rt.bus.postMessage({ id, type: 'READ', from: me, to: stub.stubURL });
    await restarted;
    await replies.waitFor(sent.length);
    await sleep(50);
    t.deepEqual(account(sent, replies.messages, stub.stubURL), { once: sent.length, twice: [], failed: {}, lost: [] });
  });

  test(`a stub that dies on a message to its own URL takes only that one: it is answered with the fault, the others are answered once (${kind})`, async (t) => {
    // hostile-trap is the echo until a body says { attack: true }.
    const { stub, rt, me, replies } = await deployed(t, 'hostile-trap', kind);
    const sent = ['r0', 'r1', 'poison', 'r3', 'r4'];
    // One turn: one batch, one call into the stub.
    for (const id of sent) rt.bus.postMessage({ id, type: 'READ', from: me, to: stub.stubURL, body: id === 'poison' ? { attack: true } : { id } });
    await replies.waitFor(sent.length);
    await sleep(50);
    const result = account(sent, replies.messages, stub.stubURL);
    t.deepEqual(result, { once: 4, twice: [], failed: { poison: 'PF_ERR_STUB_TRAP' }, lost: [] });
    t.is(stub.counters.poisoned, 1);
    // r0 and r1 were answered before it trapped; their replays' answers are repeats, dropped.
    t.true(stub.counters.duplicates >= 2, `${stub.counters.duplicates} repeats dropped`);
    t.is(stub.status, 'LIVE');
  });
}

test('the statuses a stub publishes on <stubURL>/status reach the registry and never the stub itself', async (t) => {
  const { rt, stub } = await deployed(t, 'echo-c', 'in-thread');
  const before = stub.counters.messagesIn;
  const seen: string[] = [];
  rt.hooks.status.tap('test', (record, value) => { if (record === stub) seen.push(value); });
  // A restart: the stub publishes LIVE again.
  await rt.restartStub(stub);
  t.deepEqual(seen, ['LIVE']);
  t.is(stub.status, 'LIVE');
  t.is(stub.counters.messagesIn, before, 'nothing was handed to the stub');
  t.deepEqual(rt.errors.map((e) => e.code), []);
});

test('the C MQTT stub answers 400 to what it does not understand at its own URL or below it, a SUBSCRIBE from an application included, and still confirms the runtime\'s own', async (t) => {
  const users = { user: 'pw' };
  const broker = await startEmbeddedBroker({ users });
  t.teardown(() => broker.close());
  const domain = await stubDomain(t, 'mqtt-c', broker.url);
  const rt = runtime(t, { identity: { credentials: { [domain.name]: { username: 'user', password: 'pw' } } } });
  const me = `hyperty://${domain.name}/app`;
  const replies = inbox(rt, me);
  const stub = await rt.deployStub(domain.origin);
  // The listener makes the runtime SUBSCRIBE; the stub confirms once the broker has.
  await rt.bus.whenSubscribed(me);
  rt.bus.postMessage({ id: 'read', type: 'READ', from: me, to: stub.stubURL });
  rt.bus.postMessage({ id: 'sub', type: 'SUBSCRIBE', from: me, to: stub.stubURL, body: { resources: [`hyperty://${domain.name}/x`] } });
  rt.bus.postMessage({ id: 'below', type: 'UPDATE', from: me, to: `${stub.stubURL}/settings`, body: {} });
  await replies.waitFor(3);
  for (const [i, id] of ['read', 'sub', 'below'].entries()) {
    t.like(replies.messages[i], { id, type: 'RESPONSE', from: stub.stubURL, to: me, body: { code: 400 } }, id);
    t.truthy(bodyOf(replies.messages[i]).reason, id);
  }
  t.is(stub.status, 'LIVE');
  t.deepEqual(rt.errors.map((e) => e.code), []);
});
