// Security events are visible: what the runtime refuses a stub — an `open`
// outside its connect list or past its connection limit, a spoofed `from`,
// an oversized post, a lie through the canonical ABI, a flood of messages or
// bytes — is one error event carrying the code, the stub's URL and domain,
// and a count by code on the stub's record; in the runtime's thread and in a
// worker alike. Real C components, served from a real HTTP catalogue.
import test, { type ExecutionContext } from 'ava';
import type { CreateRuntimeOptions } from '../../index.ts';
import type { ErrorCode } from '../../kernel/errors.ts';
import type { Message } from '../../kernel/schemas.ts';
import { REFUSAL_EVENTS_PER_SECOND } from '../../plugins/sandbox/refusals.ts';
import { builtStub } from '../helpers/built.ts';
import { catalogue, inbox, runtime } from '../helpers/runtime.ts';
import { statusLog } from '../helpers/statuses.ts';
import { until } from '../helpers/until.ts';

/** Where the stub runs, and where its sockets are. */
const PLACES = [
  { name: 'in-thread', options: { sandbox: { kind: 'in-thread' } } },
  { name: 'worker, sockets in the worker', options: { sandbox: { kind: 'worker' }, transport: { socketsInWorker: true } } },
  { name: 'worker, sockets in the runtime\'s thread', options: { sandbox: { kind: 'worker' }, transport: { socketsInWorker: false } } },
] as const satisfies ReadonlyArray<{ name: string; options: CreateRuntimeOptions }>;
/** Where the stub runs, for events that do not involve sockets. */
const SANDBOXES = PLACES.slice(0, 2);

interface Setup {
  sandbox?: CreateRuntimeOptions['sandbox'];
  transport?: CreateRuntimeOptions['transport'];
  connect?: string[];
}

async function hostile(t: ExecutionContext, component: string, setup: Setup = {}) {
  const bad = await catalogue(t, { default: { component: builtStub(component), connect: setup.connect } });
  const good = await catalogue(t, { default: { component: builtStub('echo-c') } });
  const rt = runtime(t, { restart: { firstDelayMs: 50 }, sandbox: setup.sandbox, transport: setup.transport });
  const me = `hyperty://${bad.domain}/tester`;
  const friend = `hyperty://${good.domain}/tester`;
  const replies = inbox(rt, me);
  const friendReplies = inbox(rt, friend);
  const log = statusLog(rt);
  const stub = await rt.deployStub(bad.origin);
  await rt.deployStub(good.origin);
  let n = 0;
  /** The trigger: `to`'s last segment picks the fixture's attack. */
  const attack = (segment = 'echo', from = me) =>
    rt.bus.postMessage({ id: `a${n++}`, type: 'CREATE', from, to: `hyperty://${bad.domain}/${segment}`, body: { attack: true } });
  /** Resolves once both stubs answer an ordinary message: nothing was crashed. */
  const stillServing = async () => {
    const [mine, friends] = [replies.messages.length, friendReplies.messages.length];
    rt.bus.postMessage({ id: `e${n++}`, type: 'CREATE', from: me, to: `hyperty://${bad.domain}/echo`, body: { still: 'served' } });
    rt.bus.postMessage({ id: `f${n++}`, type: 'CREATE', from: friend, to: `hyperty://${good.domain}/echo`, body: { still: 'served' } });
    await replies.waitFor(mine + 1);
    await friendReplies.waitFor(friends + 1);
    t.like(replies.messages.at(-1), { type: 'RESPONSE', body: { still: 'served' } });
  };
  /** Error events of this code so far. */
  const events = (code: ErrorCode) => rt.errors.filter((e) => e.code === code);
  const failed = (after = 0) => log.reached('FAILED', { domain: bad.domain, after });
  return { rt, stub, bad, good, me, replies, attack, stillServing, events, failed, statuses: log.seen };
}

const bodyOf = (m: Message | undefined) => (m?.body ?? {}) as Record<string, unknown>;

/** The one event of `code`, checked to name the stub; and its count on the record. */
function assertOneEvent(t: ExecutionContext, h: Awaited<ReturnType<typeof hostile>>, code: ErrorCode) {
  const seen = h.events(code);
  t.is(seen.length, 1, `one ${code} event: ${seen.map((e) => e.message).join(' | ')}`);
  t.like(seen[0], { code, stubURL: h.stub.stubURL, domain: h.bad.domain });
  t.is(h.stub.counters.rejectedByCode[code], 1);
  return seen[0];
}

for (const { name, options } of PLACES) {
  test(`a refused open is an error event with the stub's URL and domain and a counter, and the stub still gets its err (${name})`, async (t) => {
    const h = await hostile(t, 'hostile-open', options);
    h.attack();
    await h.replies.waitFor(1);
    t.like(h.replies.messages[0], { type: 'RESPONSE', body: { opened: false, refused: 1, granted: 0 } });
    t.regex(String(bodyOf(h.replies.messages[0]).error), /ws:\/\/127\.0\.0\.1:1\/not-allowed is outside the descriptor's connect list/);
    await until('the refusal counted', () => h.stub.counters.rejectedByCode.PF_ERR_CONNECT_REFUSED === 1);
    const event = assertOneEvent(t, h, 'PF_ERR_CONNECT_REFUSED');
    t.regex(event.message, /may not open ws:\/\/127\.0\.0\.1:1\/not-allowed/);
    t.is(h.stub.counters.rejected, 1);
    await h.stillServing();
    t.is(h.stub.status, 'LIVE');
  });

  test(`a stub opening in a loop is reported a few times a second, and every refusal is counted (${name})`, async (t) => {
    const h = await hostile(t, 'hostile-open', options);
    h.attack('loop');
    await h.replies.waitFor(1);
    t.like(h.replies.messages[0], { body: { opened: false, refused: 1_000, granted: 0 } });
    // What was held back is counted within a second.
    await until('every refusal counted', () => h.stub.counters.rejectedByCode.PF_ERR_CONNECT_REFUSED === 1_000, 5_000);
    const reported = h.events('PF_ERR_CONNECT_REFUSED');
    // A burst of REFUSAL_EVENTS_PER_SECOND, and what refilled while the loop ran.
    t.true(reported.length >= REFUSAL_EVENTS_PER_SECOND && reported.length <= REFUSAL_EVENTS_PER_SECOND + 2, `${reported.length} events for 1,000 refusals`);
    t.true(reported.every((e) => e.stubURL === h.stub.stubURL && e.domain === h.bad.domain));
    t.is(h.stub.counters.rejected, 1_000);
    await h.stillServing();
    t.is(h.stub.status, 'LIVE');
  });

  test(`an open past the connection limit is PF_ERR_CONNECTION_LIMIT, reported and counted, and the stub gets its err (${name})`, async (t) => {
    const h = await hostile(t, 'hostile-open', { ...options, connect: ['ws://127.0.0.1:1/allowed'] });
    h.attack('limit');
    await h.replies.waitFor(1);
    t.like(h.replies.messages[0], { body: { opened: false, refused: 1, granted: 8 } });
    t.regex(String(bodyOf(h.replies.messages[0]).error), /no more than 8 connections/);
    await until('the refusal counted', () => h.stub.counters.rejectedByCode.PF_ERR_CONNECTION_LIMIT === 1);
    const event = assertOneEvent(t, h, 'PF_ERR_CONNECTION_LIMIT');
    t.regex(event.message, /holds 8 connections already/);
    await h.stillServing();
  });

  test(`the transport's own connection limit, behind the guest's, reports and counts its refusals the same way (${name})`, async (t) => {
    // The guest lets 12 through; the transport (8 by default) refuses 4 of
    // them, which the stub hears of as closes; the 13th the guest refuses.
    const h = await hostile(t, 'hostile-open', { ...options, sandbox: { ...options.sandbox, maxConnections: 12 }, connect: ['ws://127.0.0.1:1/allowed'] });
    h.attack('limit');
    await h.replies.waitFor(1);
    t.like(h.replies.messages[0], { body: { opened: false, refused: 1, granted: 12 } });
    await until('every refusal counted', () => h.stub.counters.rejectedByCode.PF_ERR_CONNECTION_LIMIT === 5);
    const reported = h.events('PF_ERR_CONNECTION_LIMIT');
    t.is(reported.length, 5);
    t.true(reported.every((e) => e.stubURL === h.stub.stubURL && e.domain === h.bad.domain));
    await h.stillServing();
  });
}

for (const { name, options } of SANDBOXES) {
  test(`a spoofed from is one error event per message with the stub's URL and domain, and counted (${name})`, async (t) => {
    const h = await hostile(t, 'hostile-spoof', options);
    h.attack();
    await h.stillServing();
    const spoofed = h.events('PF_ERR_SPOOFED');
    t.is(spoofed.length, 2);
    t.true(spoofed.every((e) => e.stubURL === h.stub.stubURL && e.domain === h.bad.domain));
    t.is(h.stub.counters.rejectedByCode.PF_ERR_SPOOFED, 2);
    t.is(h.stub.status, 'LIVE');
  });

  test(`a batch over maxPostBytes cuts the stub off: one PF_ERR_STUB_FLOOD event naming the limit, with its URL and domain, and a counter (${name})`, async (t) => {
    const h = await hostile(t, 'hostile-flood', { sandbox: { ...options.sandbox, maxPostBytes: 1024 * 1024 } });
    h.attack('big');
    const failed = await h.failed();
    t.is(failed.code, 'PF_ERR_STUB_FLOOD');
    const event = assertOneEvent(t, h, 'PF_ERR_STUB_FLOOD');
    t.regex(event.message, /over the 1048576-byte limit \(maxPostBytes\)/);
    await until('LIVE again', () => h.stub.status === 'LIVE');
    await h.stillServing();
    t.is(h.stub.counters.rejectedByCode.PF_ERR_STUB_FLOOD, 1, 'counted once, across the restart');
  });

  test(`a message from a stub over the bus's largest is one PF_ERR_TOO_LARGE event naming the sending stub, and counted; the stub goes on (${name})`, async (t) => {
    const h = await hostile(t, 'hostile-flood', options);
    // Its 2 MiB message goes to the other domain's stub: the bus refuses it.
    h.attack('big', `hyperty://${h.good.domain}/nobody`);
    await until('the refusal', () => h.events('PF_ERR_TOO_LARGE').length > 0);
    assertOneEvent(t, h, 'PF_ERR_TOO_LARGE');
    await h.stillServing();
    t.is(h.stub.status, 'LIVE');
  });

  test(`a stub that breaks the canonical ABI is one PF_ERR_ABI event with its URL and domain, and counted (${name})`, async (t) => {
    // The direct path checks every pointer and length the stub hands over.
    const h = await hostile(t, 'hostile-abi', { sandbox: options.sandbox });
    t.is(h.stub.path?.kind, 'direct');
    h.attack('pointer');
    const failed = await h.failed();
    t.is(failed.code, 'PF_ERR_ABI');
    await until('LIVE again', () => h.stub.status === 'LIVE');
    assertOneEvent(t, h, 'PF_ERR_ABI');
    await h.stillServing();
  });

  test(`a stub posting many messages in few batches is cut off by maxMessagesPerSecond (${name})`, async (t) => {
    const h = await hostile(t, 'hostile-flood', { sandbox: { ...options.sandbox, maxMessagesPerSecond: 20_000 } });
    // 20 posts of 5,000 messages: far under the posts limit, 100,000 messages.
    h.attack('messages');
    const failed = await h.failed();
    t.is(failed.code, 'PF_ERR_STUB_FLOOD');
    const event = assertOneEvent(t, h, 'PF_ERR_STUB_FLOOD');
    t.regex(event.message, /more than 20000 messages per second \(maxMessagesPerSecond\)/);
    // 100,000 attempted; what got through is bounded by the limit (a burst
    // of up to two seconds' worth, guest.ts) and one batch.
    const flooded = h.replies.messages.filter((m) => m.from.endsWith('/flood')).length;
    t.true(flooded <= 2 * 20_000 + 5_000, `${flooded} flood messages got through`);
    await until('LIVE again', () => h.stub.status === 'LIVE');
    await h.stillServing();
  });

  test(`a stub posting big batches is cut off by maxBytesPerSecond (${name})`, async (t) => {
    const h = await hostile(t, 'hostile-flood', { sandbox: { ...options.sandbox, maxBytesPerSecond: 16 * 1024 * 1024 } });
    // 32 posts of one 2 MiB message: few posts, few messages, 64 MiB.
    h.attack('bytes');
    const failed = await h.failed();
    t.is(failed.code, 'PF_ERR_STUB_FLOOD');
    const event = assertOneEvent(t, h, 'PF_ERR_STUB_FLOOD');
    t.regex(event.message, /more than 16777216 bytes per second \(maxBytesPerSecond\)/);
    const flooded = h.replies.messages.filter((m) => m.from.endsWith('/flood')).length;
    t.true(flooded <= 16, `${flooded} of 32 heavy messages got through`);
    await until('LIVE again', () => h.stub.status === 'LIVE');
    await h.stillServing();
  });

  test(`an echo exchange of 5,000-message bursts is not cut off under the default flood limits (${name})`, async (t) => {
    const domain = await catalogue(t, { default: { component: builtStub('echo-c') } });
    const rt = runtime(t, { sandbox: options.sandbox });
    const me = `hyperty://${domain.domain}/tester`;
    const replies = inbox(rt, me);
    const stub = await rt.deployStub(domain.origin);
    const BURST = 5_000;
    const BURSTS = 4;
    for (let burst = 0; burst < BURSTS; burst++) {
      for (let i = 0; i < BURST; i++) {
        rt.bus.postMessage({ id: `m${burst}-${i}`, type: 'CREATE', from: me, to: `hyperty://${domain.domain}/echo`, body: { burst, i } });
      }
      await replies.waitFor((burst + 1) * BURST, 20_000);
    }
    t.is(replies.messages.length, BURST * BURSTS);
    t.deepEqual(rt.errors.map((e) => e.code), []);
    t.deepEqual(stub.counters.rejectedByCode, {});
    t.is(stub.status, 'LIVE');
  });
}

for (const { name, options } of SANDBOXES) {
  test(`a stub cut off for flooding during its init fails the deploy with PF_ERR_STUB_FLOOD, and the operator sees it as one error event with its URL, counted (${name})`, async (t) => {
    // Its LIVE status is more than a 16-byte post may carry.
    const domain = await catalogue(t, { default: { component: builtStub('echo-c') } });
    const rt = runtime(t, { sandbox: { ...options.sandbox, maxPostBytes: 16 } });
    const error = await t.throwsAsync(rt.deployStub(domain.origin));
    t.is((error as { code?: string }).code, 'PF_ERR_STUB_FLOOD');
    const events = rt.errors.filter((e) => e.code === 'PF_ERR_STUB_FLOOD');
    t.is(events.length, 1, rt.errors.map((e) => e.code).join(', '));
    t.regex(events[0].stubURL ?? '', new RegExp(`^hyperty-runtime://${domain.domain.replace(/\./g, '\\.')}/protostub/`));
    t.is(events[0].domain, domain.domain);
    t.deepEqual(rt.metrics().total.rejected, { PF_ERR_STUB_FLOOD: 1 });
    t.is(rt.registry.list().length, 0, 'nothing stays registered');
  });
}
