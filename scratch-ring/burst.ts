import { serveDomain } from '../domain/serve.ts';
import { createRuntime } from '../index.ts';
import { prepareNodeWorkers } from '../plugins/sandbox/worker/node-spawn.ts';
await prepareNodeWorkers();
const USER = { username: 'demo', password: 'demo' };
const domain = await serveDomain({ stub: 'mqtt-c', users: { [USER.username]: USER.password } });
const name = domain.catalogue.domain;
for (const variant of ['worker', 'main', 'worker', 'main']) {
  const options: any = { cacheDir: false, identity: { credentials: { [name]: USER } }, transport: { socketsInWorker: variant === 'worker' } };
  const [a, b] = [createRuntime(options), createRuntime(options)];
  const bob = `hyperty://${name}/bob`;
  let n = 0; let done: () => void = () => {};
  const all = new Promise<void>((r) => { done = r; });
  b.bus.addListener(bob, () => { if (++n === 1000) done(); });
  await Promise.all([a.deployStub(domain.catalogue.origin), b.deployStub(domain.catalogue.origin)]);
  await b.bus.whenSubscribed(bob);
  const t0 = performance.now();
  for (let i = 0; i < 1000; i++) a.bus.postMessage({ id: `m${i}`, type: 'CREATE', from: `hyperty://${name}/alice`, to: bob, body: { text: `hello ${i}` } });
  await all;
  console.log(variant, (1000 / ((performance.now() - t0) / 1000)).toFixed(0), 'msg/s');
  await Promise.all([a.close(), b.close()]);
}
await domain.close();
