// The seed's deploy flow, end to end, with a real C stub served over HTTP.
import test from 'ava';
import { DEPLOY_STEPS } from '../../kernel/hooks.ts';
import type { Message } from '../../kernel/schemas.ts';
import { basename } from 'node:path';
import { builtStub, freshCopy } from '../helpers/built.ts';
import { catalogue, inbox, runtime } from '../helpers/runtime.ts';

const WELL_KNOWN = '/.well-known/protocolstub/default';
const echo = () => ({ default: { component: builtStub('echo-c') } });

test('the deploy steps run in the seed order and each is observable through the hooks', async (t) => {
  const domain = await catalogue(t, echo());
  const rt = runtime(t);
  const seen: string[] = [];
  rt.hooks.step.tap('test', (event) => { if (event.phase === 'end' && !event.parent) seen.push(event.hook); });
  const stub = await rt.deployStub(domain.origin);
  t.deepEqual(seen, [...DEPLOY_STEPS]);
  t.deepEqual(stub.deploySteps?.map((s) => s.hook), [...DEPLOY_STEPS]);
  t.true(stub.deploySteps!.every((s) => s.ms >= 0));
  t.is(stub.status, 'LIVE');
  t.is(stub.path?.kind, process.env.PROTOFLY_TEST_PATH === 'jco' ? 'jco' : 'direct', 'the record names the path that ran');
  t.regex(stub.stubURL, new RegExp(`^hyperty-runtime://${domain.domain.replace(/\./g, '\\.')}/protostub/[0-9a-f]{8}$`));
});

test('a second deploy of the same domain reuses the stub and fetches the descriptor once', async (t) => {
  const component = await freshCopy('echo-c');
  const domain = await catalogue(t, { default: { component } }, { inlineMaxBytes: 0 });
  const rt = runtime(t);
  const first = await rt.deployStub(domain.origin);
  const second = await rt.deployStub(domain.origin);
  t.is(second, first);
  t.is(domain.hits(WELL_KNOWN), 1);
  t.is(domain.hits(`/stubs/${basename(component)}`), 1);
});

test('a small component inside its descriptor deploys in one request, checked against its hash', async (t) => {
  const component = await freshCopy('echo-c');
  const domain = await catalogue(t, { default: { component } });
  t.is(domain.descriptor('default').sourcePackageURL, '/sourcePackage', 'the catalogue inlines a component this small');
  const rt = runtime(t);
  const steps: string[] = [];
  rt.hooks.step.tap('test', (e) => { if (e.parent === 'loadSource' && e.phase === 'end') steps.push(e.hook); });
  const stub = await rt.deployStub(domain.origin);
  t.is(stub.status, 'LIVE');
  t.deepEqual(steps, ['inline', 'integrity']);
  t.is(domain.hits(WELL_KNOWN), 1);
  t.is(domain.hits(`/stubs/${basename(component)}`), 0, 'nothing else was fetched');
});

test('the component is compiled while the Identity Module is still answering the login', async (t) => {
  const domain = await catalogue(t, { default: { component: await freshCopy('echo-c') } });
  // A login that answers only once the component is compiled: if compiling
  // waited for the login instead, the deploy would stall until the timeout.
  let compiled: () => void = () => {};
  const compiledNow = new Promise<void>((resolve) => { compiled = resolve; });
  const rt = runtime(t, {
    identity: {
      lookup: async () => {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('the component was not compiled while the login was pending')), 10_000);
        });
        await Promise.race([compiledNow, timeout]).finally(() => clearTimeout(timer));
        return { username: 'alice', password: 'secret' };
      },
    },
  });
  const ended: string[] = [];
  rt.hooks.step.tap('test', (e) => {
    if (e.phase !== 'end') return;
    ended.push(e.parent ? `${e.parent}/${e.hook}` : e.hook);
    if (e.parent === 'instantiate' && e.hook === 'compile') compiled();
  });
  const stub = await rt.deployStub(domain.origin);
  t.is(stub.status, 'LIVE');
  t.true(ended.indexOf('instantiate/compile') < ended.indexOf('credentials'), ended.join(', '));
});

test('ten concurrent deploys of one domain share one deploy', async (t) => {
  const domain = await catalogue(t, echo());
  const rt = runtime(t);
  let sandboxes = 0;
  rt.hooks.createSandbox.tap({ name: 'count', stage: -1 }, () => { sandboxes++; return undefined as never; });
  const stubs = await Promise.all(Array.from({ length: 10 }, () => rt.deployStub(domain.origin)));
  t.true(stubs.every((s) => s === stubs[0]));
  t.is(domain.hits(WELL_KNOWN), 1);
  t.is(sandboxes, 1);
  t.is(rt.registry.list().length, 1);
});

test('the status publication has the seed message shape exactly', async (t) => {
  const domain = await catalogue(t, echo());
  const rt = runtime(t);
  const published: Message[] = [];
  rt.hooks.status.tap('test', (_stub, _value, message) => { published.push(message); });
  const stub = await rt.deployStub(domain.origin);
  const live = published.find((m) => (m.body as { value: string }).value === 'LIVE')!;
  t.deepEqual(Object.keys(live), ['id', 'type', 'from', 'resource', 'body']);
  t.like(live, { type: 'UPDATE', from: stub.stubURL, resource: `${stub.stubURL}/status`, body: { value: 'LIVE' } });
  t.is(typeof live.id, 'string');
  t.deepEqual(published.map((m) => (m.body as { value: string }).value), ['DEPLOYING', 'LIVE']);
});

test('a message for a remote domain deploys its stub on the way and gets through (seed steps 1–2)', async (t) => {
  const domain = await catalogue(t, echo());
  const rt = runtime(t);
  const me = `hyperty://${domain.domain}/me`;
  const replies = inbox(rt, me);
  for (let i = 0; i < 5; i++) rt.bus.postMessage({ id: `m${i}`, type: 'CREATE', from: me, to: `hyperty://${domain.domain}/echo`, body: { n: i } });
  await replies.waitFor(5);
  t.deepEqual(replies.messages.map((m) => m.id), ['m0', 'm1', 'm2', 'm3', 'm4']);
  t.like(replies.messages[4], { type: 'RESPONSE', from: `hyperty://${domain.domain}/echo`, to: me, body: { n: 4 } });
  t.is(rt.registry.list().length, 1);
});

test('a worker stub sent more in one turn than it takes per call gets every message, in order', async (t) => {
  const domain = await catalogue(t, echo());
  // 100 messages in one turn cross in parts of at most 7.
  const rt = runtime(t, { sandbox: { kind: 'worker', workerBatchMessages: 7 } });
  await rt.deployStub(domain.origin);
  const me = `hyperty://${domain.domain}/me`;
  const replies = inbox(rt, me);
  const ids = Array.from({ length: 100 }, (_, i) => `m${i}`);
  for (const id of ids) rt.bus.postMessage({ id, type: 'UPDATE', from: me, to: `hyperty://${domain.domain}/echo`, body: { id } });
  await replies.waitFor(100);
  t.deepEqual(replies.messages.map((m) => m.id), ids);
  t.deepEqual(replies.messages.map((m) => (m.body as { id: string }).id), ids);
  t.deepEqual(rt.errors, []);
});

test('undeploying a stub publishes UNDEPLOYED and a later deploy starts a fresh one', async (t) => {
  const domain = await catalogue(t, echo());
  const rt = runtime(t);
  const first = await rt.deployStub(domain.origin);
  const statuses: string[] = [];
  rt.hooks.status.tap('test', (stub, value) => { if (stub === first) statuses.push(value); });
  await rt.undeployStub(domain.origin);
  t.deepEqual(statuses, ['UNDEPLOYED']);
  t.is(rt.registry.list().length, 0);
  const second = await rt.deployStub(domain.origin);
  t.not(second.stubURL, first.stubURL);
});
