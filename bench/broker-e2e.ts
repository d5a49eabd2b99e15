// End to end through a broker: a hyperty in one runtime to a hyperty in
// another, through each runtime's MQTT stub and a broker (embedded aedes,
// then a real mosquitto), next to the raw `mqtt` client publishing the same
// CBOR payloads over the same broker.
import { existsSync } from 'node:fs';
import mqtt from 'mqtt';
import { serveDomain, type LocalDomain } from '../domain/serve.ts';
import { createRuntime, type Runtime } from '../index.ts';
import { decodeCbor, encodeCbor } from '../kernel/cbor.ts';
import type { Message } from '../kernel/schemas.ts';
import { MOSQUITTO, startMosquitto } from '../test/helpers/mosquitto.ts';
import { breathe, figure, percentile, type BenchContext, type Figure } from './stats.ts';
import { NO_FLOOD_GUARD } from './stub-boundary.ts';

export const name = 'broker-e2e';

const USER = { username: 'bench', password: 'protofly-bench' };
// A sender that yields to I/O between bursts, as an application would.
const BURST = 64;
const WINDOW = 512;
const ARRIVAL_TIMEOUT_MS = 30_000;

interface Sizes { messages: number; latencySamples: number; runs: number }

/** One way of carrying messages from alice to bob; both sides of the comparison implement it. */
interface Path {
  send(message: Message): void;
  onArrival(listener: (message: Message) => void): void;
  close(): Promise<void>;
}

export async function run(context: BenchContext): Promise<Figure[]> {
  const sizes: Sizes = context.smoke
    ? { messages: 40, latencySamples: 20, runs: 1 }
    : { messages: 4_000, latencySamples: 1_500, runs: 3 };
  const figures: Figure[] = [];
  context.progress('broker-e2e: aedes (embedded)');
  figures.push(...await overBroker(context, 'aedes', sizes, () => serveDomain()));
  if (existsSync(MOSQUITTO)) {
    context.progress('broker-e2e: mosquitto');
    const mosquitto = await startMosquitto({ [USER.username]: USER.password });
    try {
      figures.push(...await overBroker(context, 'mosquitto', sizes, () => serveDomain({ brokerURL: mosquitto.url }), USER));
    } finally {
      await mosquitto.dispose();
    }
  } else {
    context.progress(`broker-e2e: ${MOSQUITTO} not installed, mosquitto skipped`);
  }
  return figures;
}

async function overBroker(context: BenchContext, broker: string, sizes: Sizes,
  serve: () => Promise<LocalDomain>, user?: { username: string; password: string }): Promise<Figure[]> {
  const domain = await serve();
  try {
    const alice = `hyperty://${domain.catalogue.domain}/alice`;
    const bob = `hyperty://${domain.catalogue.domain}/bob`;
    const throughput = { stub: [] as number[], raw: [] as number[] };
    const latency = { stub: [] as number[][], raw: [] as number[][] };
    const stub = await stubPath(domain, alice, bob, user);
    const raw = await rawPath(domain.brokerURL, bob, user);
    try {
      for (const path of [stub, raw]) {
        // Warm-up: JIT, the stubs' first calls, the broker's first routes.
        await measureThroughput(path, alice, bob, Math.min(sizes.messages, 500), -1);
        await breathe();
      }
      for (let r = 0; r < sizes.runs; r++) {
        context.progress(`broker-e2e: ${broker} run ${r + 1}/${sizes.runs}`);
        for (const [label, path] of [['stub', stub], ['raw', raw]] as const) {
          throughput[label].push(await measureThroughput(path, alice, bob, sizes.messages, r));
          await breathe();
          latency[label].push(await measureLatency(path, alice, bob, sizes.latencySamples, r));
          await breathe();
        }
      }
    } finally {
      await Promise.allSettled([stub.close(), raw.close()]);
    }
    const ceilingName = `raw mqtt client, ${broker}`;
    const figures = [figure({
      bench: name, name: `${broker}: throughput`, unit: 'msg/s', better: 'higher',
      samples: throughput.stub, ceilingName, ceilingSamples: throughput.raw,
      note: `${sizes.messages} messages, bursts of ${BURST} per turn, at most ${WINDOW} on the way, QoS 1, worker sandboxes`,
    })];
    for (const [p, label] of [[0.5, 'p50'], [0.99, 'p99'], [0.999, 'p99.9']] as const) {
      figures.push(figure({
        bench: name, name: `${broker}: latency ${label}`, unit: 'ms', better: 'lower',
        samples: latency.stub.map((run) => percentile(run, p)),
        ceilingName, ceilingSamples: latency.raw.map((run) => percentile(run, p)),
        ...(label === 'p50' ? { note: `one message in flight, ${sizes.latencySamples} samples per run` } : {}),
      }));
    }
    return figures;
  } finally {
    await domain.close();
  }
}

// Two runtimes, each with the domain's MQTT stub in its default (worker) sandbox.
async function stubPath(domain: LocalDomain, alice: string, bob: string,
  user?: { username: string; password: string }): Promise<Path> {
  const options = {
    cacheDir: false as const,
    identity: user ? { credentials: { [domain.catalogue.domain]: user } } : undefined,
    sandbox: { maxPostsPerSecond: NO_FLOOD_GUARD },
  };
  const runtimes: Runtime[] = [createRuntime(options), createRuntime(options)];
  const [alpha, beta] = runtimes;
  const errors: unknown[] = [];
  for (const runtime of runtimes) runtime.hooks.error.tap('bench', (error) => { errors.push(error); });
  const listeners = new Set<(message: Message) => void>();
  try {
    beta.bus.addListener(bob, (message) => { for (const listener of listeners) listener(message); });
    await Promise.all(runtimes.map((runtime) => runtime.deployStub(domain.catalogue.origin)));
    await beta.bus.whenSubscribed(bob);
  } catch (error) {
    await Promise.allSettled(runtimes.map((runtime) => runtime.close()));
    throw error;
  }
  return {
    send: (message) => alpha.bus.postMessage(message),
    onArrival: (listener) => { listeners.clear(); listeners.add(listener); },
    async close() {
      await Promise.allSettled(runtimes.map((runtime) => runtime.close()));
      if (errors.length) throw new Error(`the runtimes reported ${String(errors[0])}`);
    },
  };
}

// The ceiling: mqtt.js publishing and subscribing the CBOR of the same
// messages, at the stub's QoS 1 and protocol (3.1.1), over WebSocket too.
async function rawPath(brokerURL: string, bob: string, user?: { username: string; password: string }): Promise<Path> {
  const options = { protocolVersion: 4 as const, reconnectPeriod: 0, ...(user ?? {}) };
  const topic = `bench/raw/${encodeURIComponent(bob)}`;
  const publisher = await mqtt.connectAsync(brokerURL, { ...options, clientId: `bench-pub-${process.pid}` });
  const subscriber = await mqtt.connectAsync(brokerURL, { ...options, clientId: `bench-sub-${process.pid}` });
  let listener: (message: Message) => void = () => {};
  subscriber.on('message', (_topic, payload) => listener(decodeCbor(payload) as Message));
  await subscriber.subscribeAsync(topic, { qos: 1 });
  return {
    // A copy: the codec reuses its buffer, and mqtt.js may write later.
    send: (message) => { publisher.publish(topic, Buffer.from(encodeCbor(message)), { qos: 1 }); },
    onArrival: (l) => { listener = l; },
    async close() {
      await Promise.allSettled([publisher.endAsync(), subscriber.endAsync()]);
    },
  };
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
      // Late duplicates of earlier messages (QoS 1 is at least once) do not count.
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
async function measureThroughput(path: Path, alice: string, bob: string, count: number, run: number): Promise<number> {
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
async function measureLatency(path: Path, alice: string, bob: string, samples: number, run: number): Promise<number[]> {
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
