// The C MQTT stub when the host says its socket is congested (CONTRACT.md,
// "Outbound"). The stub runs in the guest harness the runtime itself uses
// (startGuest), its socket a real WebSocket to the embedded aedes broker;
// only `send` is the test's: it answers `congested: …` while the test says
// so, as the host does past limits.maxOutboundBytes, and sends nothing.
import test, { type ExecutionContext } from 'ava';
import { readFile } from 'node:fs/promises';
import mqtt from 'mqtt';
import { WebSocket } from 'ws';
import { startEmbeddedBroker } from '../../domain/broker.ts';
import { decodeBatch, decodeCbor, encodeBatch, encodeCbor } from '../../kernel/cbor.ts';
import { compileComponent, transpileComponent } from '../../plugins/sandbox/component-loader.ts';
import { startGuest, type Guest, type GuestHost } from '../../plugins/sandbox/guest.ts';
import { pagesFor } from '../../plugins/sandbox/memory-limit.ts';
import { builtStub } from '../helpers/built.ts';
import { sleep, until } from '../helpers/until.ts';

const USER = { username: 'u', password: 'p' };
const STUB_URL = 'hyperty-runtime://d.example/protostub/1';
const FROM = 'hyperty://d.example/alice';
const TO = 'hyperty://d.example/bob';
const TOPIC = 'protofly/hyperty/d.example/bob';
const CONGESTED = 'congested: 4194304 bytes already wait on this socket (test)';

interface Answer { id: string; code: number }

/** The stub, LIVE on a broker, a receiver on TO's topic, and a switch for what `send` answers. */
async function congestible(t: ExecutionContext) {
  const broker = await startEmbeddedBroker({ users: { [USER.username]: USER.password } });
  t.teardown(() => broker.close());
  const receiver = await mqtt.connectAsync(broker.url, { ...USER, protocolVersion: 4, reconnectPeriod: 0 });
  t.teardown(() => receiver.end(true));
  const received: string[] = [];
  receiver.on('message', (_topic, payload) => { received.push((decodeCbor(payload) as { id: string }).id); });
  await receiver.subscribeAsync(TOPIC, { qos: 1 });

  const sockets = new Map<number, WebSocket>();
  const state = { refusal: undefined as string | undefined, refusedSends: 0, closes: 0, statuses: [] as string[], answers: [] as Answer[], faults: [] as string[] };
  let guest: Guest | undefined;
  const host: GuestHost = {
    post(batch) {
      for (const m of decodeBatch(batch.slice()) as Array<{ id: string; type: string; resource?: string; body?: { value?: string; code?: number } }>) {
        if (m.resource === `${STUB_URL}/status`) state.statuses.push(m.body!.value!);
        if (m.type === 'RESPONSE') state.answers.push({ id: m.id, code: m.body!.code! });
      }
    },
    open(conn, url, protocols) {
      const socket = new WebSocket(url, protocols);
      sockets.set(conn, socket);
      socket.on('open', () => guest?.onOpen(conn));
      socket.on('message', (data: Buffer) => guest?.onFrame(conn, new Uint8Array(data)));
      socket.on('close', () => guest?.onClose(conn, 'closed'));
    },
    send(conn, frame) {
      // Any other refusal: jco lowers a thrown string into send's `err`.
      if (state.refusal && !state.refusal.startsWith('congested:')) {
        state.refusedSends++;
        throw state.refusal;
      }
      sockets.get(conn)?.send(frame);
    },
    // Congestion is the guest's own answer, as in the runtime: the socket
    // says this much waits, and `send` answers `congested:` past the bound.
    outbound() {
      if (!state.refusal?.startsWith('congested:')) return 0;
      state.refusedSends++;
      return Number.MAX_SAFE_INTEGER;
    },
    close(conn) {
      state.closes++;
      sockets.get(conn)?.close();
    },
    log() {},
    refused(code) { state.faults.push(`refused: ${code}`); },
    fault(code, reason) { state.faults.push(`${code}: ${reason}`); },
  };
  const prepared = await compileComponent(await transpileComponent(await readFile(builtStub('mqtt-c'))), pagesFor(64));
  guest = await startGuest(prepared, host, {
    connect: [broker.url], maxConnections: 4, maxTimers: 64, maxPostsPerSecond: 1e9, maxMessagesPerSecond: 1e9, maxBytesPerSecond: 1e12, maxPostBytes: 4 << 20, maxMemoryBytes: 64 << 20, maxOutboundBytes: 4 << 20,
  }, encodeCbor({ runtimeURL: 'hyperty-runtime://r', stubURL: STUB_URL, domain: 'd.example', configuration: { url: broker.url }, credentials: USER }));
  t.teardown(() => {
    guest?.stop();
    for (const socket of sockets.values()) socket.terminate();
  });
  await until('LIVE', () => state.statuses.includes('LIVE'));
  let next = 0;
  /** Hands the stub one message (a batch of one) to TO; returns its id. */
  const carry = (bytes = 16) => {
    const id = `m${next++}`;
    guest!.deliver(encodeBatch([{ id, type: 'CREATE', from: FROM, to: TO, body: { pad: 'x'.repeat(bytes) } }]));
    return id;
  };
  return { state, received, carry };
}

test('while the host says its socket is congested, the C stub keeps what it meant to send, connection open, and sends it in order once it drains', async (t) => {
  const { state, received, carry } = await congestible(t);
  state.refusal = CONGESTED;
  const ids = [carry(), carry(), carry(), carry(), carry()];
  await until('retries on the timer', () => state.refusedSends >= 3);
  t.deepEqual(received, [], 'nothing went past the congestion');
  state.refusal = undefined;
  await until('all five at the broker', () => received.length >= ids.length);
  t.deepEqual(received, ids, 'in the order handed over, each once');
  t.is(state.closes, 0, 'the connection stayed');
  t.deepEqual(state.statuses, ['LIVE']);
  t.deepEqual(state.answers, [], 'nothing refused');
  t.deepEqual(state.faults, []);
});

test('past a megabyte waiting unsent, the C stub answers new messages 503, each once, and carries the rest once the socket drains', async (t) => {
  const { state, received, carry } = await congestible(t);
  state.refusal = CONGESTED;
  const ids = Array.from({ length: 8 }, () => carry(300 * 1024));
  const refused = state.answers.map((a) => a.id);
  t.true(refused.length >= 1, 'some were refused');
  t.true(refused.length < ids.length, 'not all: a megabyte waits first');
  t.deepEqual(state.answers.map((a) => a.code), refused.map(() => 503));
  t.deepEqual(refused, ids.slice(ids.length - refused.length), 'the newest ones, each answered once');
  await sleep(100);
  state.refusal = undefined;
  const carried = ids.slice(0, ids.length - refused.length);
  await until('the held ones at the broker', () => received.length >= carried.length);
  const after = carry();
  await until('a new one too', () => received.length > carried.length);
  t.deepEqual(received, [...carried, after]);
  t.is(state.answers.length, refused.length, 'no more refusals once it drained');
  t.is(state.closes, 0);
  t.deepEqual(state.faults, []);
});

test('any other send error still drops the connection; the C stub reconnects and carries the message again', async (t) => {
  const { state, received, carry } = await congestible(t);
  state.refusal = 'connection 1 is closing (test)';
  const id = carry();
  t.is(state.closes, 1, 'dropped at once');
  state.refusal = undefined;
  await until('LIVE again', () => state.statuses.filter((s) => s === 'LIVE').length === 2);
  await until('the message at the broker', () => received.includes(id));
  t.deepEqual(state.answers, []);
  t.deepEqual(state.faults, []);
});
