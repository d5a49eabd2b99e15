// A path carries messages from alice to bob: a pair of runtimes through their
// stubs, or a protocol's raw client. broker-e2e measures every path the same
// two ways: throughput with a window of messages on the way, and latency with
// one in flight.
import { decodeCbor, encodeCbor } from '../kernel/cbor.ts';
import type { Message } from '../kernel/schemas.ts';
import { breathe } from './stats.ts';

/** One way of carrying messages from alice to bob; both sides of the comparison implement it. */
export interface Path {
  send(message: Message): void;
  onArrival(listener: (message: Message) => void): void;
  close(): Promise<void>;
}

/** A broker login, as the runtime's identity and the raw clients take it. */
export interface Login { username: string; password: string }

/** The ceiling of a protocol: its usual client, carrying the same CBOR as the stubs do. */
export interface RawClient {
  /** The client, as the table names the ceiling (`raw mqtt client`). */
  name: string;
  /** How it delivers, for the figure's note (`QoS 1`). */
  delivery: string;
  connect(brokerURL: string, bob: string, login?: Login): Promise<Path>;
}

// A sender that yields to I/O between bursts, as an application would.
export const BURST = 64;
export const WINDOW = 512;
const ARRIVAL_TIMEOUT_MS = 30_000;

/**
 * The bytes a raw client publishes: the message's CBOR, as the runtime would
 * hand it to a stub. A copy, since the codec reuses its buffer and clients
 * write later (`Buffer.from` copies; the codec's own `slice` would be a view).
 */
export function payloadOf(message: Message): Buffer {
  return Buffer.from(encodeCbor(message));
}

export function messageOf(payload: Uint8Array): Message {
  return decodeCbor(payload) as Message;
}

function message(alice: string, bob: string, run: number, seq: number): Message {
  return { id: `${run}-${seq}`, type: 'UPDATE', from: alice, to: bob, body: { run, seq, sentAt: performance.now() } };
}

function arrival(path: Path, run: number, expected: number, onEach?: (message: Message) => void, seq?: number) {
  let count = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let wake: (() => void) | undefined;
  const all = new Promise<void>((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${count} of ${expected} messages arrived in ${ARRIVAL_TIMEOUT_MS} ms`)), ARRIVAL_TIMEOUT_MS);
    path.onArrival((m) => {
      const body = m.body as { run?: number; seq?: number } | undefined;
      // Late duplicates of earlier messages (QoS 1 is at least once; the
      // NATS stub publishes again what a broken connection left unconfirmed)
      // do not count.
      if (body?.run !== run || (seq !== undefined && body.seq !== seq)) return;
      onEach?.(m);
      wake?.();
      if (++count === expected) resolve();
    });
  });
  return {
    all: all.finally(() => clearTimeout(timer)),
    count: () => count,
    /** Resolves on the next arrival (or the end). */
    next: () => Promise.race([all, new Promise<void>((resolve) => { wake = () => { wake = undefined; resolve(); }; })]),
  };
}

// The sender keeps at most WINDOW messages on the way: past that, brokers
// drop (mosquitto queues 1000 QoS 1 messages per client by default), and a
// throughput with losses would flatter the faster side.
export async function measureThroughput(path: Path, alice: string, bob: string, count: number, run: number): Promise<number> {
  const arrived = arrival(path, run, count);
  const started = performance.now();
  for (let sent = 0; sent < count;) {
    if (sent - arrived.count() >= WINDOW) {
      await arrived.next();
      continue;
    }
    for (const end = Math.min(count, sent + BURST); sent < end; sent++) path.send(message(alice, bob, run, sent));
    await breathe();
  }
  await arrived.all;
  return (count / (performance.now() - started)) * 1000;
}

// One in flight: the latency of an idle path, not of a queue.
export async function measureLatency(path: Path, alice: string, bob: string, samples: number, run: number): Promise<number[]> {
  const latencies: number[] = [];
  const tag = 1_000_000 + run;
  for (let seq = 0; seq < samples; seq++) {
    const { all } = arrival(path, tag, 1, (m) => {
      latencies.push(performance.now() - (m.body as { sentAt: number }).sentAt);
    }, seq);
    path.send(message(alice, bob, tag, seq));
    await all;
  }
  return latencies.sort((a, b) => a - b);
}
