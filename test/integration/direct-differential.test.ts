// Differential: the same random and mutated batches fed to one stub through
// the direct path and through jco's glue give the same bytes posted, the
// same log lines and the same fate.
import test from 'ava';
import fc from 'fast-check';
import { readFile } from 'node:fs/promises';
import { encodeCbor } from '../../kernel/cbor.ts';
import { recognise } from '../../plugins/direct/component-shape.ts';
import type { PreparedComponent } from '../../plugins/sandbox/component-instance.ts';
import { compileComponent, transpileComponent } from '../../plugins/sandbox/component-loader.ts';
import { startGuest, type Guest, type GuestHost } from '../../plugins/sandbox/guest.ts';
import { pagesFor } from '../../plugins/sandbox/memory-limit.ts';
import { anyBytes } from '../helpers/arbitraries.ts';
import { builtStub } from '../helpers/built.ts';

const STUB_URL = 'hyperty-runtime://d.example/protostub/1';
const CONFIG = encodeCbor({
  runtimeURL: 'hyperty-runtime://r', stubURL: STUB_URL, domain: 'd.example',
  configuration: { url: 'ws://127.0.0.1:9/x' }, credentials: { username: 'u', password: 'p' },
});

async function both(name: string): Promise<Record<'direct' | 'jco', PreparedComponent>> {
  const bytes = new Uint8Array(await readFile(builtStub(name)));
  const shape = recognise(bytes);
  if (!shape.ok) throw new Error(shape.reason);
  return {
    direct: { kind: 'direct', module: await WebAssembly.compile(shape.core as Uint8Array<ArrayBuffer>), postReturn: shape.postReturn },
    jco: await compileComponent(await transpileComponent(bytes), pagesFor(64)),
  };
}

interface Trace { events: string[]; guest: Guest }

async function start(prepared: PreparedComponent): Promise<Trace> {
  const events: string[] = [];
  const host: GuestHost = {
    post: (batch) => events.push(`post ${Buffer.from(batch).toString('hex')}`),
    open: (conn, url, protocols) => events.push(`open ${conn} ${url} ${protocols.join(',')}`),
    send: (conn, frame) => events.push(`send ${conn} ${Buffer.from(frame).toString('hex')}`),
    outbound: () => 0,
    close: (conn) => events.push(`close ${conn}`),
    log: (level, text) => events.push(`log ${level} ${text}`),
    refused: (code, count) => events.push(`refused ${code} ${count}`),
    fault: (code) => events.push(`fault ${code}`),
  };
  const guest = await startGuest(prepared, host, {
    connect: ['ws://127.0.0.1:9/'], maxConnections: 4, maxTimers: 64, maxPostsPerSecond: 1e9, maxMessagesPerSecond: 1e9, maxBytesPerSecond: 1e12, maxPostBytes: 1 << 20, maxMemoryBytes: 64 << 20, maxOutboundBytes: 1 << 22,
  }, CONFIG);
  return { events, guest };
}

for (const name of ['echo-c', 'echo-as', 'mqtt-c', 'nats-rust']) {
  test(`${name}: the direct path and jco post the same bytes for the same inputs`, async (t) => {
    const prepared = await both(name);
    const direct = await start(prepared.direct);
    const jco = await start(prepared.jco);
    t.teardown(() => { direct.guest.stop(); jco.guest.stop(); });
    t.deepEqual(direct.events, jco.events, 'init');
    // The stubs that connect get their connection opened, so frames reach them.
    for (const trace of [direct, jco]) trace.guest.onOpen(1);
    fc.assert(fc.property(fc.array(fc.oneof(
      anyBytes('d.example').map((bytes) => ({ kind: 'messages' as const, bytes })),
      fc.uint8Array({ maxLength: 64 }).map((bytes) => ({ kind: 'frame' as const, bytes })),
    ), { maxLength: 6 }), (inputs) => {
      const before = [direct.events.length, jco.events.length];
      for (const input of inputs) {
        for (const trace of [direct, jco]) {
          if (input.kind === 'messages') trace.guest.deliver(input.bytes);
          else trace.guest.onFrame(1, input.bytes);
        }
      }
      return JSON.stringify(direct.events.slice(before[0])) === JSON.stringify(jco.events.slice(before[1]));
    }), { numRuns: 150 });
    t.false(direct.events.some((e) => e.startsWith('fault')), 'no fault');
  });
}
