// Embedding protofly in a Node service: serve a local domain, deploy its
// stub in two runtimes, and send a message from one to the other.
// Run where protofly is installed, or in a clone after `npm run build:stubs && npm run build`
// (the package refers to itself by name):  node examples/node/two-runtimes.mjs
import { createRuntime, serveDomain } from 'protofly';

const user = { username: 'example', password: 'example-password' };
const domain = await serveDomain({ users: { [user.username]: user.password } });
const identity = { credentials: { [domain.catalogue.domain]: user } };
const [alpha, beta] = [createRuntime({ identity }), createRuntime({ identity })];

const alice = `hyperty://${domain.catalogue.domain}/alice`;
const bob = `hyperty://${domain.catalogue.domain}/bob`;
const arrived = new Promise((resolve) => beta.bus.addListener(bob, resolve));

for (const runtime of [alpha, beta]) {
  const stub = await runtime.deployStub(domain.catalogue.origin);
  console.log(`${stub.stubURL} ${stub.status} (${stub.path.kind} path)`);
}
await beta.bus.whenSubscribed(bob);
alpha.bus.postMessage({ id: '1', type: 'CREATE', from: alice, to: bob, body: { text: 'hello, bob' } });
console.log('bob got:', (await arrived).body);

await Promise.all([alpha.close(), beta.close()]);
await domain.close();
