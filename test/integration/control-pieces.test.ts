// Control traffic in bounded pieces: a stub attached to a domain with many
// listeners learns them in SUBSCRIBE control messages of at most 256
// addresses each, every address exactly once. A real echo component (it
// ignores control messages); what it is handed is observed at `attach`.
import test from 'ava';
import type { Message } from '../../kernel/schemas.ts';
import { builtStub } from '../helpers/built.ts';
import { catalogue, runtime } from '../helpers/runtime.ts';

test('2,000 listeners of a domain reach its new stub as SUBSCRIBE messages of at most 256 addresses, each address once', async (t) => {
  const domain = await catalogue(t, { default: { component: builtStub('echo-c') } });
  const rt = runtime(t);
  const handed: Message[] = [];
  rt.hooks.attach.tapPromise({ name: 'test', stage: -10 }, async (context) => {
    const instance = context.instance!;
    const deliver = instance.deliver.bind(instance);
    instance.deliver = (messages, done) => { handed.push(...messages); deliver(messages, done); };
    return undefined as never;
  });
  const addresses = Array.from({ length: 2_000 }, (_, i) => `hyperty://${domain.domain}/listener-${i}`);
  for (const address of addresses) rt.bus.addListener(address, () => {});
  const stub = await rt.deployStub(domain.origin);
  const subscribes = handed.filter((m) => m.type === 'SUBSCRIBE' && m.to === stub.stubURL);
  const sizes = subscribes.map((m) => (m.body as { resources: string[] }).resources.length);
  t.true(sizes.every((n) => n <= 256), `sizes ${sizes.join(',')}`);
  t.is(subscribes.length, Math.ceil(2_000 / 256));
  t.deepEqual(subscribes.flatMap((m) => (m.body as { resources: string[] }).resources).sort(), [...addresses].sort());
});
