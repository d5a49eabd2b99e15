// Seed step 7, optional: the stub is registered in the domain's remote
// registry, removed on undeploy, and a registry that is down never blocks.
import test from 'ava';
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

test('a deployed stub is registered in the domain registry and removed when undeployed', async (t) => {
  const domain = await catalogue(t, { default: { component: builtStub('echo-c') } });
  const rt = runtime(t, { domainRegistry: { endpoint: '/registry' } });
  const stub = await rt.deployStub(domain.origin);
  const listed = () => fetch(`${domain.origin}/registry`).then((r) => r.json() as Promise<Array<{ stubURL: string; runtimeURL: string }>>);
  const after = await until(listed, (l) => l.length === 1);
  t.like(after[0], { stubURL: stub.stubURL, runtimeURL: rt.runtimeURL });
  await rt.undeployStub(domain.origin);
  t.deepEqual(await until(listed, (l) => l.length === 0), []);
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
