// What the MQTT stubs' delivery tests share: a real mosquitto per test, the
// raw `mqtt` client to look at the broker's sessions, the stub instances as
// attached (to hand them messages without the runtime in between), and a TCP
// gate to cut one runtime off from the broker.
import test, { type ExecutionContext } from 'ava';
import { existsSync } from 'node:fs';
import { createServer, connect, type Socket } from 'node:net';
import mqtt, { type IConnackPacket, type MqttClient } from 'mqtt';
import type { Message } from '../../kernel/schemas.ts';
import type { StubInstance, StubRecord } from '../../kernel/types.ts';
import { MOSQUITTO, startMosquitto, type Mosquitto } from './mosquitto.ts';
import type { runtime } from './runtime.ts';
import { freePort } from './server-process.ts';
import { until } from './until.ts';

export const USER = { username: 'carrier', password: 'p4ss' };

type Runtime = ReturnType<typeof runtime>;

export const withMosquitto = (title: string, body: (t: ExecutionContext) => Promise<void>, serial = false) => (existsSync(MOSQUITTO)
  ? (serial ? test.serial : test)(title, body)
  : test.skip(`${title} — skipped: needs mosquitto at ${MOSQUITTO} (apt-get install mosquitto)`, body));

export async function mosquittoFor(t: ExecutionContext): Promise<Mosquitto> {
  const broker = await startMosquitto({ [USER.username]: USER.password });
  t.teardown(() => broker.dispose());
  return broker;
}

/** The statuses of this runtime's stubs, in order. */
export function statusWatch(rt: Runtime) {
  const seen: string[] = [];
  rt.hooks.status.tap('test', (_stub: StubRecord, value: string) => { seen.push(value); });
  return {
    seen,
    /** Resolves on the first `value` from the `from`-th status on. */
    reached: (value: string, from: number, ms = 20_000) => until(`status ${value}`, () => seen.slice(from).includes(value), ms),
  };
}

export function rawClient(url: string, clientId: string, clean: boolean): Promise<{ client: MqttClient; connack: IConnackPacket }> {
  const client = mqtt.connect(url, { clientId, clean, ...USER, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5_000 });
  return new Promise((resolve, reject) => {
    client.once('connect', (connack) => resolve({ client, connack }));
    client.once('error', (error) => { client.end(true); reject(error); });
  });
}

/** Whether the broker holds a session for this client id; the look leaves none behind. */
export async function brokerHoldsSession(url: string, clientId: string): Promise<boolean> {
  const look = await rawClient(url, clientId, false);
  await look.client.endAsync();
  const clean = await rawClient(url, clientId, true);
  await clean.client.endAsync();
  return look.connack.sessionPresent;
}

/** Captures each stub instance as it is attached, to hand it messages without the runtime in between. */
export function instancesOf(rt: Runtime): Map<string, StubInstance> {
  const instances = new Map<string, StubInstance>();
  rt.hooks.attach.tapPromise({ name: 'test-capture', stage: -10 }, async (context) => {
    instances.set(context.stub!.stubURL, context.instance!);
    return undefined as never;
  });
  return instances;
}

const codeOf = (m: Message) => (m.body as { code?: unknown } | undefined)?.code;
/** An answer with a code of 400 or more: the message was refused, not lost. */
export const isError = (m: Message) => m.type === 'RESPONSE' && typeof codeOf(m) === 'number' && (codeOf(m) as number) >= 400;

/**
 * A TCP gate in front of the broker, to cut one runtime off while the
 * others stay connected: `shut` closes it and every connection through it,
 * `open` listens again on the same port.
 */
export async function gateTo(brokerURL: string) {
  const port = await freePort();
  const sockets = new Set<Socket>();
  const server = createServer((inbound) => {
    const outbound = connect(Number(new URL(brokerURL).port), '127.0.0.1');
    for (const [a, b] of [[inbound, outbound], [outbound, inbound]]) {
      sockets.add(a);
      a.on('error', () => b.destroy()).on('close', () => { sockets.delete(a); b.destroy(); });
      a.pipe(b);
    }
  });
  const open = () => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
  const shut = () => new Promise<void>((resolve) => {
    server.close(() => resolve());
    for (const socket of sockets) socket.destroy();
  });
  await open();
  return { url: `ws://127.0.0.1:${port}`, open, shut };
}
