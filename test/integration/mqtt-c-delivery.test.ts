// The C MQTT stub keeps stubs/CONTRACT.md's delivery promises against a real
// mosquitto: what is published while a receiver is away waits at the broker
// (persistent session), what the stub cannot carry is answered to its sender,
// and a DELETE control message ends the session at the broker.
import { decodeCbor } from '../../kernel/cbor.ts';
import type { Message } from '../../kernel/schemas.ts';
import {
  brokerHoldsSession, gateTo, instancesOf, isError, mosquittoFor, rawClient, statusWatch, USER, withMosquitto,
} from '../helpers/mqtt-delivery.ts';
import { freePort } from '../helpers/server-process.ts';
import { stubDomain } from '../helpers/stub-domain.ts';
import { inbox, runtime } from '../helpers/runtime.ts';
import { sleep, until } from '../helpers/until.ts';

/** The client id the C stub logs in with (stubs/mqtt-c/README.md): pf- and FNV-1a 64 of runtimeURL, "\n", stubURL. */
function clientIdOf(runtimeURL: string, stubURL: string): string {
  let h = 0xcbf29ce484222325n;
  for (const byte of new TextEncoder().encode(`${runtimeURL}\n${stubURL}`)) {
    h ^= BigInt(byte);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return `pf-${h.toString(16).padStart(16, '0')}`;
}

withMosquitto('messages sent while mosquitto is killed and restarted reach a receiver that comes back after the sender; none is lost silently', async (t) => {
  const TOTAL = 300, KILL_AT = 100, EVERY_MS = 10;
  const broker = await mosquittoFor(t);
  const domain = await stubDomain(t, 'mqtt-c', broker.url, { default: {} });
  const identity = { credentials: { [domain.name]: USER } };
  const alpha = runtime(t, { identity }), beta = runtime(t, { identity });
  const alice = `hyperty://${domain.name}/alice`, bob = `hyperty://${domain.name}/bob`;
  const atBob = inbox(beta, bob), atAlice = inbox(alpha, alice);
  const alphaStatus = statusWatch(alpha);
  const [, receiver] = await Promise.all([alpha.deployStub(domain.origin), beta.deployStub(domain.origin)]);
  await Promise.all([beta.bus.whenSubscribed(bob), alpha.bus.whenSubscribed(alice)]);
  // bob's subscription must be in what mosquitto saved before it is killed.
  await broker.savedAfter(Date.now());

  let sent = 0;
  const sending = (async () => {
    for (; sent < TOTAL; sent++) {
      alpha.bus.postMessage({ id: `m${sent}`, type: 'CREATE', from: alice, to: bob, body: { n: sent } });
      await sleep(EVERY_MS);
    }
  })();

  await until(`${KILL_AT} sent`, () => sent >= KILL_AT, 20_000);
  const beforeKill = alphaStatus.seen.length;
  await broker.stop('SIGKILL');
  // The receiver's stub goes away while the broker is down, so the sender
  // is back first and the broker must keep what it publishes for bob.
  await beta.hooks.stopInstance.promise(receiver, 'test: receiver away');
  const receivedBeforeReturn = new Set(atBob.messages.map((m) => m.id));
  await broker.start();
  await alphaStatus.reached('LIVE', beforeKill);
  await sending;

  // Publications go out in order: once a marker sent after the last message
  // reaches a witness, the broker holds all of them.
  const witnessTopic = `protofly/hyperty/${domain.name}/witness`;
  const witness = await rawClient(broker.url, `witness-${Date.now()}`, true);
  t.teardown(() => witness.client.endAsync());
  await witness.client.subscribeAsync(witnessTopic, { qos: 1 });
  let marked = false;
  witness.client.on('message', () => { marked = true; });
  alpha.bus.postMessage({ id: 'marker', type: 'CREATE', from: alice, to: `hyperty://${domain.name}/witness` });
  await until('the marker at the witness', () => marked, 30_000);

  await beta.restartStub(receiver, 'test: receiver back');
  const ids = Array.from({ length: TOTAL }, (_, i) => `m${i}`);
  const deliveries = () => {
    const count = new Map<string, number>();
    for (const m of atBob.messages) count.set(String(m.id), (count.get(String(m.id)) ?? 0) + 1);
    return count;
  };
  const refusals = () => new Map(atAlice.messages.filter(isError).map((m) => [String(m.id), m]));
  const accounted = () => ids.filter((id) => deliveries().has(id) || refusals().has(id)).length;
  await until('every message delivered or answered', () => accounted() === TOTAL, 30_000).catch(() => {});

  const delivered = deliveries(), refused = refusals();
  const once = ids.filter((id) => delivered.get(id) === 1).length;
  const twice = ids.filter((id) => (delivered.get(id) ?? 0) > 1).length;
  const answered = ids.filter((id) => !delivered.has(id) && refused.has(id));
  const lost = ids.filter((id) => !delivered.has(id) && !refused.has(id));
  const afterReturn = ids.filter((id) => delivered.has(id) && !receivedBeforeReturn.has(id)).length;
  t.log(`${TOTAL} sent: ${once} delivered once, ${twice} more than once, ${answered.length} answered with an error, ${lost.length} lost; ${afterReturn} waited at the broker for the receiver`);
  for (const id of answered) t.log(`answered ${id}: ${JSON.stringify(refused.get(id)!.body)}`);
  t.deepEqual(lost, [], 'nothing is lost silently');
  t.is(once + twice + answered.length, TOTAL, 'every message is accounted for');
  t.true(afterReturn > 0, 'messages published while the receiver was away waited for it at the broker');
  t.deepEqual(atBob.messages.filter((m) => !String(m.id).startsWith('m')), [], 'nothing else reached bob');
});

withMosquitto('a message over maxMessageBytes is answered 413 to its sender, and the next small one is delivered', async (t) => {
  const broker = await mosquittoFor(t);
  // The first broker of the list is down: the stub goes on to the next.
  const nobody = `ws://127.0.0.1:${await freePort()}`;
  const urls = [nobody, broker.url];
  const domain = await stubDomain(t, 'mqtt-c', broker.url, { default: { urls }, tight: { urls, maxMessageBytes: 65_536 } });
  const identity = { credentials: { [domain.name]: USER } };
  // The bus refuses messages over 1 MiB itself; the stub's own bound is what is tested here.
  const alpha = runtime(t, { identity, bus: { maxMessageBytes: 64 * 1024 * 1024 } }), beta = runtime(t, { identity });
  const alice = `hyperty://${domain.name}/alice`, bob = `hyperty://${domain.name}/bob`;
  const atBob = inbox(beta, bob), atAlice = inbox(alpha, alice);
  const alphaStatus = statusWatch(alpha);
  const [sender] = await Promise.all([alpha.deployStub(domain.origin, { name: 'tight', route: true }), beta.deployStub(domain.origin)]);
  t.is(sender.status, 'LIVE');
  await Promise.all([beta.bus.whenSubscribed(bob), alpha.bus.whenSubscribed(alice)]);
  const liveAt = alphaStatus.seen.length;

  const sizes = { 'just-under': 60_000, 'just-over': 70_000, '2-MiB': 2 * 1024 * 1024, '50-MB': 50_000_000 };
  for (const [label, size] of Object.entries(sizes)) {
    const before = { bob: atBob.messages.length, alice: atAlice.messages.length };
    alpha.bus.postMessage({ id: `big-${label}`, type: 'CREATE', from: alice, to: bob, body: { blob: 'x'.repeat(size) } });
    alpha.bus.postMessage({ id: `after-${label}`, type: 'CREATE', from: alice, to: bob, body: { small: true } });
    if (size < 65_536) {
      await atBob.waitFor(before.bob + 2, 15_000);
      t.deepEqual(atBob.messages.slice(before.bob).map((m) => m.id), [`big-${label}`, `after-${label}`], `${label}: both delivered`);
      continue;
    }
    await Promise.all([atAlice.waitFor(before.alice + 1, 15_000), atBob.waitFor(before.bob + 1, 15_000)]);
    const answer = atAlice.messages[before.alice];
    t.like(answer, { id: `big-${label}`, type: 'RESPONSE', from: sender.stubURL, to: alice, body: { code: 413 } }, `${label}: answered 413`);
    t.regex(String((answer.body as { reason?: unknown }).reason), /maxMessageBytes \(65536\)/);
    t.deepEqual(atBob.messages.slice(before.bob).map((m) => m.id), [`after-${label}`], `${label}: the next one is delivered`);
  }
  t.deepEqual(alphaStatus.seen.slice(liveAt), [], 'the sender stayed LIVE throughout');
  t.deepEqual(alpha.errors, []);
});

withMosquitto('on a DELETE control message the C stub ends its persistent session at the broker and answers 200', async (t) => {
  const broker = await mosquittoFor(t);
  const domain = await stubDomain(t, 'mqtt-c', broker.url, { default: {}, clean: { persistentSession: false } });
  const identity = { credentials: { [domain.name]: USER } };
  // A loaded machine must not turn a slow clean-session login into a missed answer.
  const leaving = runtime(t, { identity, bus: { undeployGraceMs: 20_000 } }), staying = runtime(t, { identity }), cleanOne = runtime(t, { identity });
  const instances = instancesOf(leaving);
  const address = (who: string) => `hyperty://${domain.name}/${who}`;
  const atAlice = inbox(leaving, address('alice'));
  inbox(staying, address('bob'));
  inbox(cleanOne, address('carol'));
  const [stub, kept, clean] = await Promise.all([
    leaving.deployStub(domain.origin), staying.deployStub(domain.origin), cleanOne.deployStub(domain.origin, { name: 'clean', route: true }),
  ]);
  await Promise.all([
    leaving.bus.whenSubscribed(address('alice')),
    staying.bus.whenSubscribed(address('bob')),
    cleanOne.bus.whenSubscribed(address('carol')),
  ]);

  // The check can see a session: a stub stopped without DELETE leaves one
  // (persistent by default), and one with persistentSession false does not.
  await staying.hooks.stopInstance.promise(kept, 'test: stopped without DELETE');
  await cleanOne.hooks.stopInstance.promise(clean, 'test: stopped without DELETE');
  t.true(await brokerHoldsSession(broker.url, clientIdOf(staying.runtimeURL, kept.stubURL)), 'a stopped persistent stub leaves its session');
  t.false(await brokerHoldsSession(broker.url, clientIdOf(cleanOne.runtimeURL, clean.stubURL)), 'a clean-session stub leaves none');

  // The runtime sends DELETE at undeploy, to a stub with an open connection,
  // and waits for its answer before stopping it.
  const answers: Message[] = [];
  const sent: Message[] = [];
  const instance = instances.get(stub.stubURL)!;
  const deliver = instance.deliver.bind(instance);
  instance.deliver = (messages, done) => {
    sent.push(...messages.filter((m) => m.type === 'DELETE'));
    deliver(messages, done);
  };
  leaving.bus.addListener(leaving.runtimeURL, (m) => { if (m.type === 'RESPONSE' && sent.some((d) => d.id === m.id)) answers.push(m); });
  await leaving.undeployStub(domain.origin);
  t.is(sent.length, 1, 'one DELETE, at undeploy');
  t.like(answers[0], { id: sent[0].id, type: 'RESPONSE', from: stub.stubURL, to: leaving.runtimeURL, body: { code: 200 } });
  t.false(await brokerHoldsSession(broker.url, clientIdOf(leaving.runtimeURL, stub.stubURL)), 'no session left for its client id');
  t.is(answers.length, 1, 'answered once');
  t.deepEqual(atAlice.messages, []);
});

withMosquitto('after a DELETE the C stub answers what it is still given with 503, not silence', async (t) => {
  const broker = await mosquittoFor(t);
  const domain = await stubDomain(t, 'mqtt-c', broker.url, { default: {} });
  const rt = runtime(t, { identity: { credentials: { [domain.name]: USER } } });
  const instances = instancesOf(rt);
  const alice = `hyperty://${domain.name}/alice`;
  const atAlice = inbox(rt, alice);
  const stub = await rt.deployStub(domain.origin);
  await rt.bus.whenSubscribed(alice);
  const answers: Message[] = [];
  rt.bus.addListener(rt.runtimeURL, (m) => { if (m.id === 'delete-1') answers.push(m); });
  instances.get(stub.stubURL)!.deliver([{ id: 'delete-1', type: 'DELETE', from: rt.runtimeURL, to: stub.stubURL, body: { reason: 'test' } }]);
  await until('the answer to DELETE', () => answers.length > 0, 10_000);
  t.like(answers[0], { body: { code: 200 } });
  rt.bus.postMessage({ id: 'too-late', type: 'CREATE', from: alice, to: `hyperty://${domain.name}/bob` });
  await atAlice.waitFor(1);
  t.like(atAlice.messages[0], { id: 'too-late', type: 'RESPONSE', from: stub.stubURL, body: { code: 503 } });
});


withMosquitto('cut off from the broker, the C stub answers 503 to messages past the 10 000 it queues, and publishes the queued ones once back', async (t) => {
  const QUEUED = 10_000, OVER = 50;
  const broker = await mosquittoFor(t);
  const gate = await gateTo(broker.url);
  t.teardown(() => gate.shut());
  const domain = await stubDomain(t, 'mqtt-c', broker.url, { gated: { urls: [gate.url] } });
  const alpha = runtime(t, { identity: { credentials: { [domain.name]: USER } } });
  const instances = instancesOf(alpha);
  const alice = `hyperty://${domain.name}/alice`, bob = `hyperty://${domain.name}/bob`;
  const atAlice = inbox(alpha, alice);
  const alphaStatus = statusWatch(alpha);
  const stub = await alpha.deployStub(domain.origin, { name: 'gated', route: true });
  await alpha.bus.whenSubscribed(alice);
  // What reaches the broker for bob, seen by a QoS 0 subscriber: mosquitto
  // queues at most 1000 QoS 1 messages for a subscriber slower than the
  // burst (max_queued_messages) and drops the rest without telling the
  // publisher, so a runtime behind a stub would measure the broker instead.
  const witness = await rawClient(broker.url, `witness-${Date.now()}`, true);
  t.teardown(() => witness.client.endAsync());
  const seen = new Map<string, number>();
  witness.client.on('message', (_topic, payload) => {
    const id = String((decodeCbor(payload) as { id?: unknown }).id);
    seen.set(id, (seen.get(id) ?? 0) + 1);
  });
  await witness.client.subscribeAsync(`protofly/hyperty/${domain.name}/bob`, { qos: 0 });

  const down = alphaStatus.seen.length;
  await gate.shut();
  await alphaStatus.reached('DISCONNECTED', down);
  // The bus holds messages for a DISCONNECTED stub itself; the stub's own
  // queue is what is tested here, so they are handed to it directly.
  const messages: Message[] = Array.from({ length: QUEUED + OVER }, (_, i) => ({ id: `q${i}`, type: 'CREATE', from: alice, to: bob, body: { i } }));
  for (let i = 0; i < messages.length; i += 500) instances.get(stub.stubURL)!.deliver(messages.slice(i, i + 500));
  await atAlice.waitFor(OVER, 30_000);
  const over = Array.from({ length: OVER }, (_, i) => `q${QUEUED + i}`);
  t.deepEqual(atAlice.messages.map((m) => m.id), over, 'the newest ones, past the limit, are refused');
  t.true(atAlice.messages.every((m) => m.type === 'RESPONSE' && (m.body as { code?: number }).code === 503));
  t.regex(String((atAlice.messages[0].body as { reason?: unknown }).reason), /queue is full/);

  const started = Date.now();
  await gate.open();
  await alphaStatus.reached('LIVE', down);
  await until('every queued message at the broker', () => seen.size >= QUEUED, 60_000).catch(() => {});
  t.log(`${[...seen.values()].reduce((a, b) => a + b, 0)} publications (${seen.size} distinct) reached the broker in ${Date.now() - started} ms after the gate opened`);
  t.is(seen.size, QUEUED, 'every queued message is published');
  t.false(over.some((id) => seen.has(id)), 'no refused message is published');
});
