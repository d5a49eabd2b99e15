// Seed step 7, optional: the stub is registered in the domain's remote
// registry, which follows its state (latest wins) and hears of its removal;
// a registry that is down is retried and never blocks.
import test from 'ava';
import { startEmbeddedBroker } from '../../domain/broker.ts';
import { statusMessage } from '../../kernel/status.ts';
import { builtStub } from '../helpers/built.ts';
import { catalogue, runtime } from '../helpers/runtime.ts';

async function until<T>(probe: () => Promise<T>, ok: (value: T) => boolean, ms = 5_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (ok(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 25));
  }
}

type Entry = { stubURL: string; runtimeURL: string; name: string; status: string };
const listed = (origin: string) => () => fetch(`${origin}/registry`).then((r) => r.json() as Promise<Entry[]>);

test('a deployed stub is registered in the domain registry as LIVE and removed when undeployed', async (t) => {
  const domain = await catalogue(t, { default: { component: builtStub('echo-c') } });
  const rt = runtime(t, { domainRegistry: { endpoint: '/registry' } });
  const stub = await rt.deployStub(domain.origin);
  const after = await until(listed(domain.origin), (l) => l[0]?.status === 'LIVE');
  t.like(after[0], { stubURL: stub.stubURL, runtimeURL: rt.runtimeURL, name: 'default', status: 'LIVE' });
  await rt.undeployStub(domain.origin);
  t.deepEqual(await until(listed(domain.origin), (l) => l.length === 0), []);
});

test('a registry that was down hears the latest state once it is back, and the outage is reported once', async (t) => {
  const domain = await catalogue(t, { default: { component: builtStub('echo-c') } });
  domain.override('/registry', { status: 503 });
  const rt = runtime(t, { domainRegistry: { endpoint: '/registry', retryMs: 20, maxRetryMs: 100 } });
  const stub = await rt.deployStub(domain.origin);
  t.is(stub.status, 'LIVE', 'the deploy did not wait for the registry');
  await until(async () => domain.hits('/registry'), (hits) => hits >= 3);
  domain.override('/registry', undefined);
  const back = await until(listed(domain.origin), (l) => l[0]?.status === 'LIVE');
  t.like(back[0], { stubURL: stub.stubURL, status: 'LIVE' });
  t.is(rt.errors.filter((e) => e.code === 'PF_ERR_DOMAIN_REGISTRY').length, 1, 'one report for the outage, not one per retry');
});

test('a stub that fails for good is reported FAILED, then removed with its undeploy', async (t) => {
  const domain = await catalogue(t, { default: { component: builtStub('echo-c') } });
  const rt = runtime(t, { domainRegistry: { endpoint: '/registry' } });
  const stub = await rt.deployStub(domain.origin);
  await until(listed(domain.origin), (l) => l[0]?.status === 'LIVE');
  // A FAILED status, as the lifecycle publishes it when it gives a stub up.
  rt.bus.postMessage(statusMessage(stub.stubURL, 'FAILED', { reason: 'given up' }));
  t.like((await until(listed(domain.origin), (l) => l[0]?.status === 'FAILED'))[0], { status: 'FAILED' });
  await rt.undeployStub(domain.origin);
  t.deepEqual(await until(listed(domain.origin), (l) => l.length === 0), []);
});

test('a domain registry that is down is reported and does not block the deploy', async (t) => {
  const domain = await catalogue(t, { default: { component: builtStub('echo-c') } });
  const rt = runtime(t, { domainRegistry: { endpoint: 'http://127.0.0.1:9/registry', timeoutMs: 500 } });
  const stub = await rt.deployStub(domain.origin);
  t.is(stub.status, 'LIVE');
  const reported = await until(async () => rt.errors.filter((e) => e.code === 'PF_ERR_DOMAIN_REGISTRY'), (l) => l.length > 0);
  t.is(reported.length, 1);
  t.is(reported[0].stubURL, stub.stubURL);
});

test('the domain registry is off by default', async (t) => {
  const domain = await catalogue(t, { default: { component: builtStub('echo-c') } });
  const rt = runtime(t);
  await rt.deployStub(domain.origin);
  await new Promise((r) => setTimeout(r, 100));
  t.is(domain.hits('/registry'), 0);
});

test('a stub whose broker goes away is reported DISCONNECTED, and LIVE again once it has reconnected', async (t) => {
  const users = { user: 'pw' };
  let broker = await startEmbeddedBroker({ users });
  t.teardown(() => broker.close());
  const port = Number(new URL(broker.url).port);
  const domain = await catalogue(t, { default: { component: builtStub('mqtt-c'), configuration: { url: broker.url }, connect: [broker.url] } });
  const rt = runtime(t, {
    identity: { credentials: { [domain.domain]: { username: 'user', password: 'pw' } } },
    domainRegistry: { endpoint: '/registry' },
  });
  const stub = await rt.deployStub(domain.origin);
  await until(listed(domain.origin), (l) => l[0]?.status === 'LIVE');
  await broker.close();
  const down = await until(listed(domain.origin), (l) => l[0]?.status === 'DISCONNECTED', 15_000);
  t.like(down[0], { stubURL: stub.stubURL, status: 'DISCONNECTED' });
  t.is(stub.status, 'DISCONNECTED');
  broker = await startEmbeddedBroker({ users, port });
  const up = await until(listed(domain.origin), (l) => l[0]?.status === 'LIVE', 30_000);
  t.like(up[0], { stubURL: stub.stubURL, status: 'LIVE' });
  t.is(stub.status, 'LIVE');
  t.deepEqual(rt.errors.map((e) => e.code), []);
});
