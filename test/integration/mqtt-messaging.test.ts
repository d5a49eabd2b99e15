// Two runtimes deploy the same domain's MQTT stub (a real componentize-js
// component) and talk through a real broker: embedded aedes, and mosquitto.
import test, { type ExecutionContext } from 'ava';
import { existsSync } from 'node:fs';
import { serveDomain } from '../../domain/serve.ts';
import { startEmbeddedBroker } from '../../domain/broker.ts';
import { listenerChurn } from '../helpers/listener-churn.ts';
import { MOSQUITTO, startMosquitto } from '../helpers/mosquitto.ts';
import { deployedPair, inbox, runtime } from '../helpers/runtime.ts';

const USER = { username: 'alice-and-bob', password: 's3cret' };
const users = { [USER.username]: USER.password };

// This file is the TypeScript stub's: the C one, the domain's default, has mqtt-c.test.ts.
async function localDomain(t: ExecutionContext, brokerURL?: string) {
  const domain = await serveDomain({ brokerURL, users, stub: 'mqtt-ts' });
  t.teardown(() => domain.close());
  return domain;
}

async function twoRuntimesTalk(t: ExecutionContext, brokerURL?: string, kind: 'worker' | 'in-thread' = 'worker') {
  const domain = await localDomain(t, brokerURL);
  const name = domain.catalogue.domain;
  const identity = { credentials: { [name]: USER } };
  const alpha = runtime(t, { identity, sandbox: { kind } });
  const beta = runtime(t, { identity, sandbox: { kind } });
  const alice = `hyperty://${name}/alice`;
  const bob = `hyperty://${name}/bob`;
  const atBob = inbox(beta, bob);
  const atAlice = inbox(alpha, alice);
  await Promise.all([alpha.deployStub(domain.catalogue.origin), beta.deployStub(domain.catalogue.origin)]);
  await Promise.all([beta.bus.whenSubscribed(bob), alpha.bus.whenSubscribed(alice)]);

  for (let i = 0; i < 50; i++) alpha.bus.postMessage({ id: `a${i}`, type: 'CREATE', from: alice, to: bob, body: { n: i } });
  await atBob.waitFor(50);
  t.deepEqual(atBob.messages.map((m) => m.id), Array.from({ length: 50 }, (_, i) => `a${i}`), 'all arrive, in order');
  t.deepEqual(atBob.messages[7], { id: 'a7', type: 'CREATE', from: alice, to: bob, body: { n: 7 } }, 'unchanged');

  beta.bus.postMessage({ id: 'r1', type: 'RESPONSE', from: bob, to: alice, body: { code: 200 } });
  await atAlice.waitFor(1);
  t.like(atAlice.messages[0], { id: 'r1', from: bob, to: alice });
  t.deepEqual(alpha.errors, []);
  t.deepEqual(beta.errors, []);
}

test('a message crosses from one runtime to another through the embedded aedes broker', async (t) => {
  await twoRuntimesTalk(t);
});

test('the MQTT stub works the same in the in-thread sandbox (it opens its connection during init)', async (t) => {
  await twoRuntimesTalk(t, undefined, 'in-thread');
});

test('a listener removed and added back gets every later message, whether it comes back in the same turn or the next', async (t) => {
  const domain = await localDomain(t);
  const { alpha, beta, alice, bob } = await deployedPair(t, domain.catalogue.origin, domain.catalogue.domain, USER);
  await listenerChurn(t, alpha, alice, beta, bob);
  t.deepEqual([...alpha.errors, ...beta.errors], []);
});

const withMosquitto = existsSync(MOSQUITTO) ? test : test.skip;
withMosquitto('a message crosses from one runtime to another through a real mosquitto', async (t) => {
  const mosquitto = await startMosquitto(users);
  t.teardown(() => mosquitto.dispose());
  await twoRuntimesTalk(t, mosquitto.url);
});

test('wrong credentials surface as the stub status and a PF_ERR_LOGIN deploy error, and leave no stub behind', async (t) => {
  const domain = await localDomain(t);
  const rt = runtime(t, { identity: { credentials: { [domain.catalogue.domain]: { username: USER.username, password: 'wrong' } } } });
  const statuses: Array<{ value: string; code?: unknown }> = [];
  rt.hooks.status.tap('test', (stub) => { statuses.push({ value: stub.status, code: stub.statusBody.code }); });
  const error = await t.throwsAsync(rt.deployStub(domain.catalogue.origin));
  t.is((error as { code?: string }).code, 'PF_ERR_LOGIN');
  t.regex(error!.message, /bad user name or password/);
  t.deepEqual(statuses.map((s) => s.value), ['DEPLOYING', 'DISCONNECTED', 'FAILED']);
  t.is(statuses[1].code, 'PF_ERR_LOGIN');
  t.is(rt.registry.list().length, 0);
});

test('no credentials at all are refused by a broker that wants them', async (t) => {
  const domain = await localDomain(t);
  const rt = runtime(t);
  const error = await t.throwsAsync(rt.deployStub(domain.catalogue.origin));
  t.is((error as { code?: string }).code, 'PF_ERR_LOGIN');
});

test('a broker that is down fails the deploy with PF_ERR_BACKEND_UNREACHABLE, and a later deploy works once it is up', async (t) => {
  const broker = await startEmbeddedBroker({ users });
  const url = broker.url;
  const port = Number(new URL(url).port);
  await broker.close();
  const domain = await localDomain(t, url);
  const rt = runtime(t, { identity: { credentials: { [domain.catalogue.domain]: USER } } });
  const error = await t.throwsAsync(rt.deployStub(domain.catalogue.origin));
  t.is((error as { code?: string }).code, 'PF_ERR_BACKEND_UNREACHABLE');
  t.is(rt.registry.list().length, 0);

  const revived = await startEmbeddedBroker({ users, port });
  t.teardown(() => revived.close());
  const stub = await rt.deployStub(domain.catalogue.origin);
  t.is(stub.status, 'LIVE');
});

test('a stub cannot open a connection outside its descriptor connect list', async (t) => {
  const domain = await serveDomain({
    users,
    entries: {},
  });
  t.teardown(() => domain.close());
  const elsewhere = await startEmbeddedBroker({ users });
  t.teardown(() => elsewhere.close());
  // A descriptor that points the stub at a broker its connect list does not name.
  const descriptor = domain.catalogue.descriptor('default');
  descriptor.configuration = { url: elsewhere.url };
  domain.catalogue.override('/.well-known/protocolstub/default', { body: descriptor });
  const rt = runtime(t, { identity: { credentials: { [domain.catalogue.domain]: USER } } });
  const error = await t.throwsAsync(rt.deployStub(domain.catalogue.origin));
  t.is((error as { code?: string }).code, 'PF_ERR_BACKEND_UNREACHABLE');
  t.regex(error!.message, /connect list/);
  t.is(elsewhere.clients(), 0);
});
