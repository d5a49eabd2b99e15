// Messages bounded at the bus: a stub never receives more than
// `bus.maxMessageBytes` of CBOR. A larger message is answered 413 with
// PF_ERR_TOO_LARGE before it is queued or copied; the stub stays up and the
// next message goes through. Local delivery is not bounded.
import test from 'ava';
import { builtStub } from '../helpers/built.ts';
import { catalogue, inbox, runtime } from '../helpers/runtime.ts';

test('a message over bus.maxMessageBytes is answered 413 PF_ERR_TOO_LARGE without reaching the stub, and the next one is delivered', async (t) => {
  const domain = await catalogue(t, { default: { component: builtStub('echo-c') } });
  const rt = runtime(t, { bus: { maxMessageBytes: 64 * 1024 } });
  const stub = await rt.deployStub(domain.origin);
  const me = `hyperty://${domain.domain}/me`;
  const replies = inbox(rt, me);
  const echo = `hyperty://${domain.domain}/echo`;
  // The listener's SUBSCRIBE control message reaches the stub first.
  await new Promise((resolve) => setImmediate(resolve));
  const handed = stub.counters.messagesIn;
  rt.bus.postMessage({ id: 'big', type: 'CREATE', from: me, to: echo, body: { blob: new Uint8Array(65 * 1024) } });
  rt.bus.postMessage({ id: 'fits', type: 'CREATE', from: me, to: echo, body: { blob: new Uint8Array(60 * 1024) } });
  await replies.waitFor(2);
  t.like(replies.messages[0], { id: 'big', type: 'RESPONSE', from: rt.runtimeURL, body: { code: 413, error: 'PF_ERR_TOO_LARGE' } });
  t.like(replies.messages[1], { id: 'fits', from: echo });
  t.is(stub.counters.messagesIn, handed + 1, 'only the one that fits reached the stub');
  t.true(rt.errors.some((e) => e.code === 'PF_ERR_TOO_LARGE'));
  t.is(stub.status, 'LIVE');
});

test('the default bound is 1 MiB, and a 50 MB message is refused at once, before a stub is even deployed for it', async (t) => {
  const domain = await catalogue(t, { default: { component: builtStub('echo-c') } });
  const rt = runtime(t);
  const me = `hyperty://${domain.domain}/me`;
  const replies = inbox(rt, me);
  rt.bus.postMessage({ id: 'huge', type: 'CREATE', from: me, to: `hyperty://${domain.domain}/echo`, body: { blob: new Uint8Array(50_000_000) } });
  // Answered in the same turn: nothing was queued for a deploy.
  t.like(replies.messages[0], { id: 'huge', body: { code: 413, error: 'PF_ERR_TOO_LARGE' } });
  t.is(rt.registry.get(domain.domain), undefined, 'no stub deployed for it');
});

test('local listeners get messages of any size', (t) => {
  const rt = runtime(t, { bus: { maxMessageBytes: 1024 } });
  const at = inbox(rt, 'hyperty://local.example/bob');
  rt.bus.postMessage({ id: 'local', type: 'CREATE', from: 'hyperty://local.example/alice', to: 'hyperty://local.example/bob', body: { blob: new Uint8Array(10_000) } });
  t.is(at.messages.length, 1);
});
