// Sockets beside the stub: in Node a stub in a worker opens its connections
// in that worker, so a message between a hyperty and the broker crosses the
// thread boundary once. The runtime's thread still sees them (connections,
// counters, error events), and `transport: { socketsInWorker: false }` keeps
// them in the runtime's thread.
import test, { type ExecutionContext } from 'ava';
import WebSocket, { WebSocketServer } from 'ws';
import { serveDomain } from '../../domain/serve.ts';
import { platformRuntime } from '../../create-runtime.ts';
import type { StubRecord } from '../../kernel/types.ts';
import { spawnNodeWorker } from '../../plugins/sandbox/worker/node-spawn.ts';
import type { WebSocketConstructor } from '../../plugins/transport/plugin.ts';
import { builtStub } from '../helpers/built.ts';
import { catalogue, inbox } from '../helpers/runtime.ts';
import { until } from '../helpers/until.ts';

/** Node's runtime, with a WebSocket in the runtime's thread that counts what it opens. */
function countingRuntime(t: ExecutionContext, socketsInWorker: boolean, identity: Record<string, { username: string; password: string }>) {
  let opened = 0;
  class Counting extends WebSocket {
    constructor(...args: ConstructorParameters<typeof WebSocket>) {
      super(...args);
      opened++;
    }
  }
  const { createRuntime } = platformRuntime({
    WebSocket: Counting as unknown as WebSocketConstructor,
    spawnWorker: spawnNodeWorker,
    cache: () => undefined,
    socketsInWorker: true,
  });
  const rt = createRuntime({ identity: { credentials: identity }, transport: { socketsInWorker } });
  t.teardown(() => rt.close());
  return { rt, opened: () => opened };
}

for (const socketsInWorker of [true, false]) {
  test.serial(`with socketsInWorker ${socketsInWorker}, the C stub's socket is opened in ${socketsInWorker ? 'its worker' : 'the runtime\'s thread'}, the runtime sees it, and messages cross`, async (t) => {
    const domain = await serveDomain({ stub: 'mqtt-c' });
    t.teardown(() => domain.close());
    const name = domain.catalogue.domain;
    const alpha = countingRuntime(t, socketsInWorker, {});
    const beta = countingRuntime(t, socketsInWorker, {});
    const alice = `hyperty://${name}/alice`;
    const bob = `hyperty://${name}/bob`;
    const got = inbox(beta.rt, bob);
    const [record] = await Promise.all([alpha.rt.deployStub(domain.catalogue.origin), beta.rt.deployStub(domain.catalogue.origin)]);
    await beta.rt.bus.whenSubscribed(bob);
    for (let i = 0; i < 50; i++) alpha.rt.bus.postMessage({ id: `m${i}`, type: 'CREATE', from: alice, to: bob, body: { i } });
    await got.waitFor(50);
    t.deepEqual(got.messages.map((m) => (m.body as { i: number }).i), Array.from({ length: 50 }, (_, i) => i));
    t.is(alpha.opened() + beta.opened(), socketsInWorker ? 0 : 2, 'WebSockets opened in the runtime\'s thread');
    // Wherever it is, the runtime's view of the connection names the broker.
    const transport = alpha.rt.service('transport');
    await until('the connection reported', () => transport.connections(record as StubRecord).length === 1, 10_000);
    t.is(transport.connections(record as StubRecord)[0]!.url, domain.brokerURL);
  });
}

test.serial('a stub in a worker whose broker refuses a frame over its limit: the error event, the rejected counter and the failed deploy reach the runtime', async (t) => {
  // A real server that upgrades, then sends a frame larger than the descriptor allows.
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  server.on('connection', (socket) => socket.send(new Uint8Array(100 * 1024)));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const url = `ws://127.0.0.1:${(server.address() as { port: number }).port}`;
  const served = await catalogue(t, { default: { component: builtStub('mqtt-c'), configuration: { url }, connect: [url], limits: { maxFrameBytes: 64 * 1024 } } });
  const { rt } = countingRuntime(t, true, { [served.domain]: { username: 'u', password: 'p' } });
  const errors: string[] = [];
  let record: StubRecord | undefined;
  rt.hooks.error.tap('test', (error) => { errors.push(error.code); });
  rt.hooks.status.tap('test', (r: StubRecord) => { record = r; });
  const outcome = await rt.deployStub(served.origin).then(() => 'LIVE', (error: { code?: string }) => error.code);
  t.not(outcome, 'LIVE');
  t.true(errors.includes('PF_ERR_FRAME_TOO_LARGE'), errors.join());
  t.true((record?.counters.rejected ?? 0) >= 1, 'the stub\'s rejected counter');
});
