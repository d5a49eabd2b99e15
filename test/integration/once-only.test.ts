// Once, not twice: what a stub carries in from its back-end reaches the
// listeners once per (from, id) within the window; answers are told apart by
// whom they answer. A real echo component from a real HTTP catalogue.
import test from 'ava';
import { builtStub } from '../helpers/built.ts';
import { catalogue, inbox, runtime } from '../helpers/runtime.ts';

test('a message the stub carries in twice reaches its listener once, and the repeat is counted', async (t) => {
  const domain = await catalogue(t, { default: { component: builtStub('echo-c') } });
  const rt = runtime(t);
  const stub = await rt.deployStub(domain.origin);
  const me = `hyperty://${domain.domain}/me`;
  const replies = inbox(rt, me);
  const echo = `hyperty://${domain.domain}/echo`;
  // The same request twice: the echo stub answers both, the same (from, to, id).
  rt.bus.postMessage({ id: 'twice', type: 'CREATE', from: me, to: echo, body: { n: 1 } });
  rt.bus.postMessage({ id: 'twice', type: 'CREATE', from: me, to: echo, body: { n: 1 } });
  rt.bus.postMessage({ id: 'other', type: 'CREATE', from: me, to: echo, body: { n: 2 } });
  await replies.waitFor(2);
  // A later message shows the repeat was not merely slow.
  rt.bus.postMessage({ id: 'last', type: 'CREATE', from: me, to: echo });
  await replies.waitFor(3);
  t.deepEqual(replies.messages.map((m) => m.id), ['twice', 'other', 'last']);
  t.is(stub.counters.duplicates, 1);
});

test('answers with the same id to different requesters are different messages: both delivered', async (t) => {
  const domain = await catalogue(t, { default: { component: builtStub('echo-c') } });
  const rt = runtime(t);
  const stub = await rt.deployStub(domain.origin);
  const [ann, ben] = ['ann', 'ben'].map((who) => `hyperty://${domain.domain}/${who}`);
  const [toAnn, toBen] = [inbox(rt, ann), inbox(rt, ben)];
  for (const from of [ann, ben]) rt.bus.postMessage({ id: 1, type: 'CREATE', from, to: `hyperty://${domain.domain}/echo` });
  await Promise.all([toAnn.waitFor(1), toBen.waitFor(1)]);
  t.is(stub.counters.duplicates, 0);
});

test('the window is bounded: with maxEntries 2 a repeat of something three messages back is delivered again', async (t) => {
  const domain = await catalogue(t, { default: { component: builtStub('echo-c') } });
  const rt = runtime(t, { bus: { onceWindow: { maxEntries: 2 } } });
  await rt.deployStub(domain.origin);
  const me = `hyperty://${domain.domain}/me`;
  const replies = inbox(rt, me);
  for (const id of ['a', 'b', 'c', 'a']) rt.bus.postMessage({ id, type: 'CREATE', from: me, to: `hyperty://${domain.domain}/echo` });
  await replies.waitFor(4);
  t.deepEqual(replies.messages.map((m) => m.id), ['a', 'b', 'c', 'a']);
});
