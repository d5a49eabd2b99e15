// Several stubs per domain: `deployStub(domain, { name })` deploys the
// descriptor at `/.well-known/protocolstub/<name>` as a stub of its own, with
// its own runtime URL and status, reused by name. The domain's remote
// addresses go to its `default` stub unless `runtime.route(domain, name)`
// names another. Real components, a real HTTP catalogue, a real broker.
import test from 'ava';
import { startEmbeddedBroker } from '../../domain/broker.ts';
import { builtStub } from '../helpers/built.ts';
import { catalogue, inbox, runtime } from '../helpers/runtime.ts';
import { stubDomain } from '../helpers/stub-domain.ts';
import { sleep } from '../helpers/until.ts';

const WELL_KNOWN = '/.well-known/protocolstub/';

async function twoNamed(t: Parameters<typeof runtime>[0]) {
  const echo = { component: builtStub('echo-c') };
  const domain = await catalogue(t, { default: { ...echo, version: '1.0.0' }, other: { ...echo, version: '2.0.0' } });
  const rt = runtime(t);
  const me = 'hyperty://app.test/me';
  return { domain, rt, me, replies: inbox(rt, me) };
}

test('two named stubs of one domain run side by side, each with its own runtime URL, status and descriptor', async (t) => {
  const { domain, rt, me, replies } = await twoNamed(t);
  const [first, other] = await Promise.all([rt.deployStub(domain.origin), rt.deployStub(domain.origin, { name: 'other' })]);
  t.not(first.stubURL, other.stubURL);
  t.like(first, { name: 'default', status: 'LIVE', descriptor: { version: '1.0.0' } });
  t.like(other, { name: 'other', status: 'LIVE', descriptor: { version: '2.0.0' } });
  t.is(other.descriptorURL, `${domain.origin}${WELL_KNOWN}other`);
  t.is(rt.registry.get(domain.domain), first);
  t.is(rt.registry.get(domain.domain, 'other'), other);
  t.is(rt.registry.list().length, 2);
  // Reused by name: no second fetch, the same record.
  t.is(await rt.deployStub(domain.origin, { name: 'other' }), other);
  t.is(await rt.deployStub(domain.origin), first);
  t.is(domain.hits(`${WELL_KNOWN}other`), 1);
  t.is(domain.hits(`${WELL_KNOWN}default`), 1);
  // Each answers at its own URL.
  rt.bus.postMessage({ id: 'to-first', type: 'READ', from: me, to: first.stubURL, body: 1 });
  rt.bus.postMessage({ id: 'to-other', type: 'READ', from: me, to: other.stubURL, body: 2 });
  await replies.waitFor(2);
  const byId = new Map(replies.messages.map((m) => [m.id, m]));
  t.like(byId.get('to-first'), { from: first.stubURL, body: { code: 200, value: 1 } });
  t.like(byId.get('to-other'), { from: other.stubURL, body: { code: 200, value: 2 } });
  t.deepEqual(rt.errors.map((e) => e.code), []);
});

test('undeploying or updating one named stub leaves the other running, its URL and version unchanged', async (t) => {
  const { domain, rt, me, replies } = await twoNamed(t);
  const first = await rt.deployStub(domain.origin);
  const other = await rt.deployStub(domain.origin, { name: 'other' });
  // The catalogue publishes a new version of `other` only.
  domain.override(`${WELL_KNOWN}other`, { body: { ...domain.descriptor('other'), version: '2.1.0' } });
  const updated = await rt.updateStub(domain.origin, { name: 'other' });
  t.is(updated, other);
  t.is(other.descriptor.version, '2.1.0');
  t.is(first.descriptor.version, '1.0.0', 'the default stub was not touched');
  t.is(domain.hits(`${WELL_KNOWN}default`), 1, 'nor its descriptor fetched again');

  await rt.undeployStub(domain.origin, { name: 'other' });
  t.is(rt.registry.get(domain.domain, 'other'), undefined);
  t.is(rt.registry.get(domain.domain), first);
  t.is(first.status, 'LIVE');
  rt.bus.postMessage({ id: 'gone', type: 'READ', from: me, to: other.stubURL });
  rt.bus.postMessage({ id: 'still', type: 'READ', from: me, to: first.stubURL });
  await replies.waitFor(2);
  const byId = new Map(replies.messages.map((m) => [m.id, m]));
  t.like(byId.get('gone'), { type: 'RESPONSE', body: { error: 'PF_ERR_NO_ROUTE' } });
  t.like(byId.get('still'), { from: first.stubURL, body: { code: 200 } });
});

test('a name that is not a path segment is refused with PF_ERR_STUB_NAME before anything is fetched', async (t) => {
  const { domain, rt } = await twoNamed(t);
  for (const name of ['../default', '', 'a/b', 'x'.repeat(65)]) {
    const error = await t.throwsAsync(rt.deployStub(domain.origin, { name }));
    t.is((error as { code?: string }).code, 'PF_ERR_STUB_NAME', name);
  }
  t.throws(() => rt.route(domain.origin, '..'), { code: 'PF_ERR_STUB_NAME' } as never);
  t.is(rt.registry.list().length, 0);
});

test('remote addresses of a domain go to its default stub until route() names another, and move back with it', async (t) => {
  const { domain, rt, me, replies } = await twoNamed(t);
  const remote = `hyperty://${domain.domain}/bob`;
  const send = (id: string) => rt.bus.postMessage({ id, type: 'UPDATE', from: me, to: remote, body: id });
  // The first message deploys the default stub.
  send('one');
  await replies.waitFor(1);
  const first = rt.registry.get(domain.domain)!;
  t.is(first.counters.messagesIn, 1);
  t.is(rt.registry.get(domain.domain, 'other'), undefined, 'the other stub is deployed only when routed to');

  // Routed to `other`: the next message deploys it and goes through it.
  rt.route(domain.origin, 'other');
  send('two');
  await replies.waitFor(2);
  const other = rt.registry.get(domain.domain, 'other')!;
  t.like(other, { status: 'LIVE' });
  t.is(other.counters.messagesIn, 1);
  t.is(first.counters.messagesIn, 1, 'the default stub carried nothing more');

  rt.route(domain.origin, 'default');
  send('three');
  await replies.waitFor(3);
  t.is(first.counters.messagesIn, 2);
  t.is(other.counters.messagesIn, 1);
  t.deepEqual(replies.messages.map((m) => [m.id, m.type, m.body]), [['one', 'RESPONSE', 'one'], ['two', 'RESPONSE', 'two'], ['three', 'RESPONSE', 'three']]);
  t.deepEqual(rt.errors.map((e) => e.code), []);
});

test('a runtime routed to a named MQTT stub carries its hyperties\' messages through it alone, and its listeners move with the route', async (t) => {
  const broker = await startEmbeddedBroker({ users: { user: 'pw' } });
  t.teardown(() => broker.close());
  // Two descriptors of one domain, the C MQTT stub on the same broker.
  const domain = await stubDomain(t, 'mqtt-c', broker.url, { default: {}, other: {} });
  const identity = { identity: { credentials: { [domain.name]: { username: 'user', password: 'pw' } } } };
  const alpha = runtime(t, identity);
  const beta = runtime(t, identity);
  const alice = `hyperty://${domain.name}/alice`;
  const bob = `hyperty://${domain.name}/bob`;
  const atAlice = inbox(alpha, alice);
  // beta serves bob through `other`: its default stub is never deployed.
  beta.route(domain.origin, 'other');
  const atBob = inbox(beta, bob);
  const viaOther = await beta.deployStub(domain.origin, { name: 'other' });
  await beta.bus.whenSubscribed(bob);
  const viaDefault = await alpha.deployStub(domain.origin);
  await alpha.bus.whenSubscribed(alice);

  // Counted from here: the stubs also carried their statuses and the broker's confirmations.
  const otherOut = viaOther.counters.messagesOut;
  const defaultIn = viaDefault.counters.messagesIn;
  const count = 50;
  for (let i = 0; i < count; i++) alpha.bus.postMessage({ id: `m${i}`, type: 'UPDATE', from: alice, to: bob, body: { i } });
  await atBob.waitFor(count);
  t.deepEqual(atBob.messages.map((m) => m.id), Array.from({ length: count }, (_, i) => `m${i}`));
  t.is(viaOther.counters.messagesOut - otherOut, count, 'what bob got came through the named stub');
  t.is(viaDefault.counters.messagesIn - defaultIn, count);
  t.is(beta.registry.get(domain.name), undefined, 'beta never deployed the default stub');

  // Bob's answers go back through `other` as well.
  const handed = viaOther.counters.messagesIn;
  beta.bus.postMessage({ id: 'back', type: 'UPDATE', from: bob, to: alice, body: {} });
  await atAlice.waitFor(1);
  t.is(viaOther.counters.messagesIn, handed + 1);
  t.is(beta.bus.routeOf(domain.name), 'other');

  // Routed back to default: bob's address moves to beta's default stub,
  // which confirms it with the broker before anything is sent.
  beta.route(domain.origin, 'default');
  const back = await beta.deployStub(domain.origin);
  await beta.bus.whenSubscribed(bob);
  const backOut = back.counters.messagesOut;
  alpha.bus.postMessage({ id: 'after', type: 'UPDATE', from: alice, to: bob, body: {} });
  await atBob.waitFor(count + 1);
  await sleep(100); // room for a second copy through the old route, were there one
  t.is(atBob.messages.filter((m) => m.id === 'after').length, 1, 'delivered once, not through both stubs');
  t.is(back.counters.messagesOut - backOut, 1);
  t.is(viaOther.counters.messagesOut - otherOut, count, 'the named stub let go of bob');
  t.deepEqual([...alpha.errors, ...beta.errors].map((e) => e.code), []);
});
