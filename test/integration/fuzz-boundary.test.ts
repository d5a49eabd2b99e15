// Property-based: random and mutated CBOR and messages thrown at the bus and
// at both sides of the sandbox boundary. Nothing crashes the host, nothing
// invalid gets through, and the stub keeps running.
import test from 'ava';
import fc from 'fast-check';
import { readFile } from 'node:fs/promises';
import { encodeCbor } from '../../kernel/cbor.ts';
import { messageCheck } from '../../kernel/schemas.ts';
import type { Message } from '../../kernel/schemas.ts';
import { compileComponent, transpileComponent } from '../../plugins/sandbox/component-loader.ts';
import { startGuest, type GuestHost } from '../../plugins/sandbox/guest.ts';
import { pagesFor } from '../../plugins/sandbox/memory-limit.ts';
import { createStubHost } from '../../plugins/sandbox/stub-host.ts';
import { builtStub } from '../helpers/built.ts';
import { anyBytes, messageLike } from '../helpers/arbitraries.ts';
import { catalogue, loopbackOnly, runtime } from '../helpers/runtime.ts';

test('whatever a stub posts, the host drops what is invalid with an error and routes only valid messages from the stub itself', async (t) => {
  const domain = await catalogue(t, { default: { component: builtStub('echo-c') } });
  const rt = runtime(t, { plugins: [loopbackOnly()] });
  const record = await rt.deployStub(domain.origin);
  const delivered: Message[] = [];
  for (const a of ['a', 'b']) rt.bus.addListener(`hyperty://${domain.domain}/${a}`, (m) => delivered.push(m));
  rt.bus.addListener('hyperty://elsewhere.example/x', (m) => delivered.push(m));
  const host = createStubHost(rt, record, () => ({ onOpen() {}, onFrame() {}, onClose() {} }));
  fc.assert(fc.property(anyBytes(domain.domain), (bytes) => {
    const before = delivered.length;
    host.post(bytes);
    for (const message of delivered.slice(before)) {
      if (!messageCheck.Check(message)) return false;
      if (!message.from.startsWith(record.stubURL) && !message.from.startsWith(`hyperty://${domain.domain}/`)) return false;
    }
    return true;
  }), { numRuns: 400 });
  t.true(record.counters.rejected > 0, 'some inputs were rejected and counted');
  t.is(record.status, 'LIVE');
});

test('whatever the application posts, the bus either routes a valid message or refuses it with PF_ERR_MESSAGE_INVALID', async (t) => {
  const domain = await catalogue(t, { default: { component: builtStub('echo-c') } });
  const rt = runtime(t, { plugins: [loopbackOnly()] });
  await rt.deployStub(domain.origin);
  fc.assert(fc.property(messageLike(domain.domain), (message) => {
    try {
      rt.bus.postMessage(message as Message);
      return messageCheck.Check(message);
    } catch (error) {
      return (error as { code?: string }).code === 'PF_ERR_MESSAGE_INVALID' && !messageCheck.Check(message);
    }
  }), { numRuns: 400 });
  t.pass();
});

test('random and mutated CBOR delivered into a stub never traps it', async (t) => {
  const prepared = await compileComponent(await transpileComponent(await readFile(builtStub('echo-c'))), pagesFor(16));
  const faults: string[] = [];
  const host: GuestHost = {
    post() {}, open() {}, send() {}, outbound: () => 0, close() {}, log() {}, refused() {},
    fault: (code, reason) => { faults.push(`${code}: ${reason}`); },
  };
  const guest = await startGuest(prepared, host, {
    connect: [], maxConnections: 1, maxTimers: 4, maxPostsPerSecond: 1e9, maxMessagesPerSecond: 1e9, maxBytesPerSecond: 1e12, maxPostBytes: 1 << 20, maxMemoryBytes: 16 << 20, maxOutboundBytes: 1 << 22,
  }, new Uint8Array(encodeCbor({ runtimeURL: 'hyperty-runtime://r', stubURL: 'hyperty-runtime://d/protostub/1', domain: 'd', configuration: {}, credentials: null })));
  t.teardown(() => guest.stop());
  fc.assert(fc.property(anyBytes('d'), (bytes) => {
    guest.deliver(bytes);
    return faults.length === 0;
  }), { numRuns: 1_000 });
  t.deepEqual(faults, []);
});
