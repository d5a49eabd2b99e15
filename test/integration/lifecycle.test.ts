// Faults from outside and planned changes: a broker that goes away, a stub
// updated to a new version. No message is lost.
import test from 'ava';
import { existsSync } from 'node:fs';
import { serveDomain } from '../../domain/serve.ts';
import { builtStub } from '../helpers/built.ts';
import { MOSQUITTO, startMosquitto } from '../helpers/mosquitto.ts';
import { catalogue, inbox, runtime } from '../helpers/runtime.ts';

const USER = { username: 'lifecycle', password: 'pw' };

const withMosquitto = existsSync(MOSQUITTO) ? test : test.skip;
withMosquitto('when mosquitto is killed and restarted, stubs go DISCONNECTED then LIVE, and messages sent meanwhile arrive in order', async (t) => {
  const mosquitto = await startMosquitto({ [USER.username]: USER.password });
  t.teardown(() => mosquitto.dispose());
  const domain = await serveDomain({
    brokerURL: mosquitto.url,
    entries: {
      default: {
        component: builtStub('mqtt'), configuration: { url: mosquitto.url, persistentSession: true, keepAliveSec: 5 }, connect: [mosquitto.url],
        // A loaded CI machine must not turn a slow call into a restart: this test is about the broker.
        limits: { callTimeoutMs: 15_000 },
      },
    },
  });
  t.teardown(() => domain.close());
  const identity = { credentials: { [domain.catalogue.domain]: USER } };
  const alpha = runtime(t, { identity });
  const beta = runtime(t, { identity });
  const alice = `hyperty://${domain.catalogue.domain}/alice`;
  const bob = `hyperty://${domain.catalogue.domain}/bob`;
  const atBob = inbox(beta, bob);
  const seen: string[] = [];
  const story: string[] = [];
  for (const [name, rt] of [['alpha', alpha], ['beta', beta]] as const) {
    rt.hooks.status.tap('test', (stub, value) => {
      seen.push(value);
      story.push(`${name} ${value} ${stub.statusBody.code ?? ''} ${stub.statusBody.reason ?? ''}`.trim());
    });
  }
  t.teardown(() => { if (!t.passed) t.log(story.join('\n')); });
  await Promise.all([alpha.deployStub(domain.catalogue.origin), beta.deployStub(domain.catalogue.origin)]);
  await beta.bus.whenSubscribed(bob);

  alpha.bus.postMessage({ id: 'before', type: 'CREATE', from: alice, to: bob, body: {} });
  await atBob.waitFor(1);
  const waitFor = (value: string, count: number) => new Promise<void>((resolve) => {
    const check = () => (seen.filter((v) => v === value).length >= count ? resolve() : setTimeout(check, 10));
    check();
  });

  await mosquitto.stop();
  await waitFor('DISCONNECTED', 2);
  for (let i = 0; i < 20; i++) alpha.bus.postMessage({ id: `during-${i}`, type: 'CREATE', from: alice, to: bob, body: { i } });
  await mosquitto.start();
  await waitFor('LIVE', 4);
  await atBob.waitFor(21, 20_000);
  t.deepEqual(atBob.messages.map((m) => m.id), ['before', ...Array.from({ length: 20 }, (_, i) => `during-${i}`)]);
  t.deepEqual(alpha.errors, []);
});

test('updating to a new descriptor version swaps the stub under the same URL without losing queued messages', async (t) => {
  const domain = await catalogue(t, {
    default: { component: builtStub('echo-c'), version: '1.0.0' },
    next: { component: builtStub('hostile-trap'), version: '2.0.0' },
  });
  const rt = runtime(t);
  const me = `hyperty://${domain.domain}/me`;
  const replies = inbox(rt, me);
  const stub = await rt.deployStub(domain.origin);
  domain.override('/.well-known/protocolstub/default', { body: { ...domain.descriptor('next'), name: 'default' } });
  const updating = rt.updateStub(domain.origin);
  for (let i = 0; i < 10; i++) rt.bus.postMessage({ id: `u${i}`, type: 'CREATE', from: me, to: `hyperty://${domain.domain}/echo`, body: { i } });
  const updated = await updating;
  t.is(updated.stubURL, stub.stubURL);
  t.is(updated.descriptor.version, '2.0.0');
  t.is(updated.status, 'LIVE');
  await replies.waitFor(10);
  t.deepEqual(replies.messages.map((m) => m.id), Array.from({ length: 10 }, (_, i) => `u${i}`));
  t.true(replies.messages.every((m) => m.type === 'RESPONSE' && !(m.body as { error?: string }).error));
});

test('updating when the descriptor has not changed keeps the running stub', async (t) => {
  const domain = await catalogue(t, { default: { component: builtStub('echo-c') } });
  const rt = runtime(t);
  const stub = await rt.deployStub(domain.origin);
  let instantiated = 0;
  rt.hooks.instantiate.tap({ name: 'count', stage: -1 }, () => { instantiated++; return undefined as never; });
  t.is(await rt.updateStub(domain.origin), stub);
  t.is(instantiated, 0);
});
