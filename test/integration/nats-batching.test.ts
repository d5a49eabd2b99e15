// How the NATS stub writes and reads in bulk, seen from a WebSocket proxy in
// front of a real nats-server: a burst goes out as a few frames of many PUBs
// with a PING per run of them, not one frame and one PING a message; a frame
// of many MSGs comes in as one post, not one a message.
import test, { type ExecutionContext } from 'ava';
import { existsSync } from 'node:fs';
import { serveDomain } from '../../domain/serve.ts';
import type { Message } from '../../kernel/schemas.ts';
import { builtStub } from '../helpers/built.ts';
import { NATS_SERVER, startNatsServer } from '../helpers/nats-server.ts';
import { natsProxy } from '../helpers/nats-proxy.ts';
import { inbox, runtime } from '../helpers/runtime.ts';

const USER = { username: 'batching', password: 's3cret' };
const WELL_KNOWN = '/.well-known/protocolstub/default';
const BURST = 200;

const withNats = existsSync(NATS_SERVER) ? test : test.skip;

/**
 * A domain whose NATS stub reaches nats-server directly for `direct` and
 * through a proxy for `proxied` (deployed second, once the descriptor points
 * at the proxy); alice lives in alpha, bob in beta.
 */
async function pairWithProxy(t: ExecutionContext, proxied: 'alpha' | 'beta', betaOptions = {}) {
  const nats = await startNatsServer({ users: { [USER.username]: USER.password } });
  t.teardown(() => nats.dispose());
  const proxy = await natsProxy(t, nats.url);
  const domain = await serveDomain({
    brokerURL: nats.url,
    entries: { default: { component: builtStub('nats-rust'), configuration: { url: nats.url }, connect: [nats.url] } },
  });
  t.teardown(() => domain.close());
  const name = domain.catalogue.domain;
  const identity = { credentials: { [name]: USER } };
  const alpha = runtime(t, { identity });
  const beta = runtime(t, { identity, ...betaOptions });
  const [first, second] = proxied === 'alpha' ? [beta, alpha] : [alpha, beta];
  await first.deployStub(domain.catalogue.origin);
  const descriptor = domain.catalogue.descriptor('default');
  descriptor.configuration = { url: proxy.url };
  descriptor.connect = [proxy.url];
  domain.catalogue.override(WELL_KNOWN, { body: descriptor });
  await second.deployStub(domain.catalogue.origin);
  const bob = `hyperty://${name}/bob`;
  const atBob = inbox(beta, bob);
  await beta.bus.whenSubscribed(bob);
  return { alpha, beta, proxy, alice: `hyperty://${name}/alice`, bob, atBob };
}

function burst(alice: string, bob: string): Message[] {
  return Array.from({ length: BURST }, (_, i) => ({ id: `m${i}`, type: 'UPDATE', from: alice, to: bob, body: { n: i } }));
}

withNats(`a burst of ${BURST} messages posted in one turn reaches nats-server as a few frames of PUBs, each PUB once, with a PING per run of them rather than per message`, async (t) => {
  const { alpha, beta, proxy, alice, bob, atBob } = await pairWithProxy(t, 'alpha');
  const before = { frames: proxy.fromStub.framesWith('PUB'), pings: proxy.fromStub.ops.PING ?? 0 };
  for (const message of burst(alice, bob)) alpha.bus.postMessage(message);
  await atBob.waitFor(BURST);
  t.deepEqual(atBob.messages.map((m) => m.id), burst(alice, bob).map((m) => m.id), 'all arrive, in order');
  t.is(proxy.fromStub.ops.PUB, BURST, 'each message published once');
  // The runtime hands a stub at most 64 messages a call, and the stub sends
  // what a call wrote as one frame: four frames; ten times fewer than the
  // messages leaves room for a runtime that splits batches further.
  const frames = proxy.fromStub.framesWith('PUB') - before.frames;
  t.true(frames <= BURST / 10, `${frames} frames carried the PUBs`);
  // A PING after every 64 PUBs, or a few ms after the first unconfirmed one.
  const pings = (proxy.fromStub.ops.PING ?? 0) - before.pings;
  t.true(pings >= 1 && pings <= BURST / 25, `${pings} PINGs confirmed them`);
  t.deepEqual([...alpha.errors, ...beta.errors], []);
});

// A receiver allowed 10 posts a second takes a frame of 200 MSGs only if it
// posts them together (the flood guard cuts off a stub past its posts).
withNats(`a frame of ${BURST} MSGs reaches the bus as one post: a receiver allowed 10 posts a second takes them all`, async (t) => {
  const { alpha, beta, proxy, alice, bob, atBob } = await pairWithProxy(t, 'beta', { sandbox: { maxPostsPerSecond: 10 } });
  const gathered = proxy.gather(BURST);
  for (const message of burst(alice, bob)) alpha.bus.postMessage(message);
  await gathered;
  await atBob.waitFor(BURST);
  t.deepEqual(atBob.messages.map((m) => m.id), burst(alice, bob).map((m) => m.id), 'all arrive, in order');
  t.is(beta.registry.list()[0]?.counters.restarts, 0, 'the stub was never cut off');
  t.deepEqual([...alpha.errors, ...beta.errors], []);
});
