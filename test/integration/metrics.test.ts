// runtime.metrics(): per stub and in total, the numbers are what the test
// did — messages and their bytes each way, nothing left queued, the deploy's
// steps, time in each status, refused messages by code, restarts and what
// was handed again — and the OpenMetrics text says the same. Real C
// components (the echo and hostile fixtures) from a real HTTP catalogue.
import test, { type ExecutionContext } from 'ava';
import { Encoder } from 'cbor-x';
import type { CreateRuntimeOptions } from '../../index.ts';
import { DEPLOY_STEPS } from '../../kernel/hooks.ts';
import type { MetricCounts, StubMetrics } from '../../kernel/metrics.ts';
import type { Message } from '../../kernel/schemas.ts';
import { builtStub } from '../helpers/built.ts';
import { parseOpenMetrics, valueOf } from '../helpers/openmetrics.ts';
import { catalogue, inbox, runtime } from '../helpers/runtime.ts';
import { sleep, until } from '../helpers/until.ts';

type Kind = 'in-thread' | 'worker';

// What crosses the boundary, measured with cbor-x as each side writes it:
// the runtime's batches are cbor-x's (a map's head always 3 bytes); the C
// stubs write the shortest heads, which is cbor-x's variableMapSize. (A body
// the echo copies byte for byte is a string here, whose head is the shortest
// either way.)
const asRuntimeWrites = new Encoder({ useRecords: false, tagUint8Array: false });
const asStubWrites = new Encoder({ useRecords: false, tagUint8Array: false, variableMapSize: true });
const bytesOf = (encoder: Encoder, messages: readonly Message[]) =>
  messages.reduce((sum, message) => sum + encoder.encode(message).byteLength, 0);

/** Outside every stub's domain: listening on it asks no stub for anything, so what a stub is handed is exactly what a test sends. */
const ME = 'hyperty://app.test/me';

async function deployed(t: ExecutionContext, component: string, options: CreateRuntimeOptions = {}) {
  const domain = await catalogue(t, { default: { component: builtStub(component) } });
  const rt = runtime(t, { restart: { firstDelayMs: 20 }, ...options });
  const replies = inbox(rt, ME);
  const stub = await rt.deployStub(domain.origin);
  const metricsOf = () => rt.metrics().stubs.find((s) => s.stubURL === stub.stubURL)!;
  return { rt, stub, replies, domain, metricsOf };
}

/** Each count's change from `before` to `after` (rejected aside). */
function grown(before: StubMetrics, after: StubMetrics) {
  const keys = ['messagesIn', 'bytesIn', 'messagesOut', 'bytesOut', 'redelivered', 'duplicates', 'poisoned', 'restarts'] as const;
  return Object.fromEntries(keys.map((key) => [key, after[key] - before[key]])) as Record<(typeof keys)[number], number>;
}

for (const kind of ['in-thread', 'worker'] as Kind[]) {
  test(`N READs to a C echo stub are counted in and out exactly, with the CBOR bytes sent and received, and none stays queued (${kind})`, async (t) => {
    const { rt, stub, replies, metricsOf } = await deployed(t, 'echo-c', { sandbox: { kind } });
    const before = metricsOf();
    t.is(before.messagesIn, 0, 'nothing was handed to it before the test sent anything');
    const sent: Message[] = [];
    // In several turns, so several batches reach the stub; bodies of 0 to
    // 390 bytes, some characters of several UTF-8 bytes.
    for (let turn = 0; turn < 4; turn++) {
      for (let i = 0; i < 10; i++) {
        const message: Message = { id: `read-${turn}-${i}`, type: 'READ', from: ME, to: stub.stubURL, body: 'héllo ✓ '.repeat(turn * 10 + i) };
        sent.push(message);
        rt.bus.postMessage(message);
      }
      await sleep(0);
    }
    await replies.waitFor(sent.length);
    await sleep(50); // room for anything more, were there any
    const after = metricsOf();
    t.deepEqual(grown(before, after), {
      messagesIn: sent.length,
      bytesIn: bytesOf(asRuntimeWrites, sent),
      messagesOut: sent.length,
      bytesOut: bytesOf(asStubWrites, replies.messages),
      redelivered: 0, duplicates: 0, poisoned: 0, restarts: 0,
    });
    t.is(replies.messages.length, sent.length);
    t.is(after.queued, 0);
    t.deepEqual(after.rejected, {});
    // One stub: the runtime's total is its counts.
    const { total } = rt.metrics();
    t.like(total, { messagesIn: after.messagesIn, bytesIn: after.bytesIn, messagesOut: after.messagesOut, bytesOut: after.bytesOut, queued: 0, deploys: 1, deployFailures: 0 });
  });
}

test('a deployed stub reports each deploy step with its time, its time in each status, growing in LIVE; deploys and failed deploys are counted', async (t) => {
  const { rt, domain, metricsOf } = await deployed(t, 'echo-c');
  const failing = await catalogue(t, { default: { component: builtStub('echo-c'), configuration: { failInit: true } } });
  await t.throwsAsync(rt.deployStub(failing.origin), { code: 'PF_ERR_STUB_INIT' } as never);
  const first = metricsOf();
  t.like(first, { domain: domain.domain, name: 'default', status: 'LIVE' });
  t.deepEqual(first.deploySteps.map((s) => s.hook), [...DEPLOY_STEPS]);
  t.true(first.deploySteps.every((s) => s.ms >= 0));
  t.true(first.statusSeconds.DEPLOYING! > 0, 'it was DEPLOYING for a while');
  t.true(first.statusSeconds.LIVE! > 0, 'and LIVE since');
  t.deepEqual(Object.keys(first.statusSeconds).sort(), ['DEPLOYING', 'LIVE']);
  await sleep(200);
  const later = metricsOf();
  t.true(later.statusSeconds.LIVE! - first.statusSeconds.LIVE! >= 0.15, `LIVE grew from ${first.statusSeconds.LIVE} s to ${later.statusSeconds.LIVE} s`);
  t.is(later.statusSeconds.DEPLOYING, first.statusSeconds.DEPLOYING, 'a past status no longer grows');
  // The failed deploy's stub is gone; the good one is the only one left.
  const snapshot = rt.metrics();
  t.deepEqual(snapshot.stubs.map((s) => s.domain), [domain.domain]);
  t.like(snapshot.total, { deploys: 1, deployFailures: 1 });
  t.is(snapshot.runtimeURL, rt.runtimeURL);
});

test('messages a hostile stub sends as someone else are counted under rejected PF_ERR_SPOOFED, not as messages out', async (t) => {
  const { rt, replies, domain, metricsOf } = await deployed(t, 'hostile-spoof');
  const before = metricsOf();
  // It answers the attack with two forged messages (as a victim hyperty and
  // as another stub), then echoes the next message.
  rt.bus.postMessage({ id: 'attack', type: 'CREATE', from: ME, to: `hyperty://${domain.domain}/echo`, body: { attack: true } });
  rt.bus.postMessage({ id: 'after', type: 'CREATE', from: ME, to: `hyperty://${domain.domain}/echo`, body: { after: 'spoof' } });
  await replies.waitFor(1);
  await sleep(50);
  t.deepEqual(replies.messages.map((m) => m.id), ['after']);
  const after = metricsOf();
  t.like(grown(before, after), { messagesIn: 2, messagesOut: 1 });
  t.deepEqual(after.rejected, { PF_ERR_SPOOFED: 2 });
  t.is(after.status, 'LIVE');
  t.deepEqual(rt.metrics().total.rejected, { PF_ERR_SPOOFED: 2 });
  t.deepEqual(rt.errors.map((e) => e.code), ['PF_ERR_SPOOFED', 'PF_ERR_SPOOFED']);
});

test('a stub that dies on a message is restarted, each fault counted once under its code, and what it held handed again counted as redelivered: messagesIn − redelivered is what was sent', async (t) => {
  // hostile-trap is the echo until a body says { attack: true }. In the
  // runtime's thread a call's messages are known exactly: all three are
  // suspects after the first trap, replayed one per call; the poison traps
  // it again alone (answered with the fault, not retried) and the two it had
  // answered again are in doubt, handed once more after the second restart.
  const { rt, stub, replies, metricsOf } = await deployed(t, 'hostile-trap', { sandbox: { kind: 'in-thread' } });
  const sent = ['a', 'b', 'poison'];
  for (const id of sent) rt.bus.postMessage({ id, type: 'READ', from: ME, to: stub.stubURL, body: id === 'poison' ? { attack: true } : id });
  await replies.waitFor(3);
  // The two it answered, answered again three times over: dropped repeats show each hand-over.
  await until('a and b handed again after both restarts', () => metricsOf().duplicates >= 4);
  await sleep(50);
  const after = metricsOf();
  t.deepEqual(replies.messages.map((m) => [m.id, (m.body as { error?: string }).error]), [['a', undefined], ['b', undefined], ['poison', 'PF_ERR_STUB_TRAP']]);
  t.like(after, { status: 'LIVE', restarts: 2, poisoned: 1, redelivered: 5, messagesIn: 8, duplicates: 4, queued: 0 });
  t.is(after.messagesIn - after.redelivered, sent.length);
  // Each death once, though the second one's error also answered the poison;
  // a trap is the stub's own failure, not something it was refused.
  t.deepEqual(after.faults, { PF_ERR_STUB_TRAP: 2 });
  t.deepEqual(after.rejected, {});
  t.true(after.statusSeconds.FAILED! > 0, 'it was FAILED for a while, twice');
  // The last restart's steps: the launch again, from a new sandbox to LIVE.
  t.deepEqual(after.deploySteps.map((s) => s.hook), DEPLOY_STEPS.slice(DEPLOY_STEPS.indexOf('createSandbox')));
  t.like(rt.metrics().total, { restarts: 2, redelivered: 5, poisoned: 1, deploys: 1 });
});

test('undeploying stubs folds their counts into the runtime total, which keeps them as other stubs come', async (t) => {
  const { rt, stub, replies, domain, metricsOf } = await deployed(t, 'echo-c');
  const spoofing = await catalogue(t, { default: { component: builtStub('hostile-spoof') } });
  await rt.deployStub(spoofing.origin);
  for (let i = 0; i < 5; i++) rt.bus.postMessage({ id: `r${i}`, type: 'READ', from: ME, to: stub.stubURL, body: `${i}` });
  rt.bus.postMessage({ id: 'attack', type: 'CREATE', from: ME, to: `hyperty://${spoofing.domain}/echo`, body: { attack: true } });
  await replies.waitFor(5);
  await until('both forgeries refused', () => rt.errors.length === 2);
  const echoed = metricsOf();
  const before = rt.metrics().total;
  t.is(before.messagesIn, 5 + 1);
  t.deepEqual(before.rejected, { PF_ERR_SPOOFED: 2 });

  await rt.undeployStub(domain.domain);
  await rt.undeployStub(spoofing.domain);
  const gone = rt.metrics();
  t.deepEqual(gone.stubs, []);
  t.deepEqual(gone.total, before, 'nothing lost, nothing counted twice');

  // The domain deployed again is a new stub, counted from zero; the total goes on.
  const again = await rt.deployStub(domain.origin);
  rt.bus.postMessage({ id: 'again', type: 'READ', from: ME, to: again.stubURL, body: 'again' });
  await replies.waitFor(6);
  const now = rt.metrics();
  t.is(now.stubs.length, 1);
  t.like(now.stubs[0], { stubURL: again.stubURL, messagesIn: 1, messagesOut: 2 /* LIVE, the answer */ });
  t.like(now.total, {
    messagesIn: before.messagesIn + 1,
    messagesOut: before.messagesOut + now.stubs[0].messagesOut,
    bytesIn: before.bytesIn + now.stubs[0].bytesIn,
    deploys: 3,
    rejected: { PF_ERR_SPOOFED: 2 },
  });
  t.true(echoed.messagesIn === 5 && echoed.messagesOut === 6, 'the first echo answered the five, after its LIVE');
});

test("runtime.metrics({ format: 'openmetrics' }) is strict OpenMetrics text that says what the JSON snapshot says", async (t) => {
  const { rt, stub, replies, metricsOf } = await deployed(t, 'echo-c');
  const spoofing = await catalogue(t, { default: { component: builtStub('hostile-spoof') } });
  await rt.deployStub(spoofing.origin);
  for (let i = 0; i < 7; i++) rt.bus.postMessage({ id: `r${i}`, type: 'READ', from: ME, to: stub.stubURL, body: `${i}` });
  rt.bus.postMessage({ id: 'attack', type: 'CREATE', from: ME, to: `hyperty://${spoofing.domain}/echo`, body: { attack: true } });
  await replies.waitFor(7);
  await until('both forgeries refused', () => rt.errors.length === 2);
  t.is(metricsOf().messagesIn, 7);

  const json = rt.metrics();
  const text = rt.metrics({ format: 'openmetrics' });
  const families = parseOpenMetrics(text);
  t.true([...families.keys()].every((name) => name.startsWith('protofly_')));

  // The names, as README's "Metrics" lists them.
  const counts: Record<Exclude<keyof MetricCounts, 'rejected' | 'faults'>, string> = {
    messagesIn: 'messages_in_total', bytesIn: 'messages_in_bytes_total', messagesOut: 'messages_out_total', bytesOut: 'messages_out_bytes_total',
    queued: 'queued_messages', redelivered: 'redelivered_total', duplicates: 'duplicates_total', poisoned: 'poisoned_total', restarts: 'restarts_total',
  };
  t.is(families.get('protofly_messages_in_bytes')?.unit, 'bytes');
  t.is(families.get('protofly_stub_status_seconds')?.unit, 'seconds');
  t.is(families.get('protofly_queued_messages')?.type, 'gauge');
  t.is(valueOf(families, 'protofly_runtime_info', { runtime_url: rt.runtimeURL }), 1);
  t.is(valueOf(families, 'protofly_deploys_total'), json.total.deploys);
  t.is(valueOf(families, 'protofly_deploy_failures_total'), json.total.deployFailures);
  for (const [key, name] of Object.entries(counts) as Array<[keyof typeof counts, string]>) {
    t.is(valueOf(families, `protofly_${name}`), json.total[key], `total ${key}`);
  }
  t.is(valueOf(families, 'protofly_rejected_total', { code: 'PF_ERR_SPOOFED' }), 2);

  t.is(json.stubs.length, 2);
  for (const s of json.stubs) {
    const labels = { stub_url: s.stubURL, domain: s.domain, name: s.name };
    for (const [key, name] of Object.entries(counts) as Array<[keyof typeof counts, string]>) {
      t.is(valueOf(families, `protofly_stub_${name}`, labels), s[key], `${s.domain} ${key}`);
    }
    for (const [code, n] of Object.entries(s.rejected)) t.is(valueOf(families, 'protofly_stub_rejected_total', { ...labels, code }), n);
    t.is(families.get('protofly_stub_rejected')!.samples.filter((x) => x.labels.stub_url === s.stubURL).length, Object.keys(s.rejected).length);
    t.is(valueOf(families, 'protofly_stub_status', { ...labels, protofly_stub_status: 'LIVE' }), 1);
    t.is(valueOf(families, 'protofly_stub_status', { ...labels, protofly_stub_status: 'FAILED' }), 0);
    for (const [status, seconds] of Object.entries(s.statusSeconds)) {
      // Read a moment after the snapshot: the current status a little more.
      const read = valueOf(families, 'protofly_stub_status_seconds_total', { ...labels, status })!;
      t.true(read >= seconds! && read < seconds! + 1, `${status}: ${read} s in the text, ${seconds} s in the snapshot`);
    }
    for (const { hook, ms } of s.deploySteps) t.is(valueOf(families, 'protofly_stub_deploy_step_seconds', { ...labels, step: hook }), ms / 1000);
    t.is(valueOf(families, 'protofly_stub_memory_bytes', labels), s.memoryBytes);
  }
  t.is(valueOf(families, 'protofly_stub_rejected_total', { stub_url: json.stubs[1].stubURL, domain: spoofing.domain, name: 'default', code: 'PF_ERR_SPOOFED' }), 2);
});
