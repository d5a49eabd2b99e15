// Recovery under a fault: mosquitto killed (SIGKILL) and restarted under a
// steady stream. How long after the broker is back until messages flow
// again, and what was lost, through two runtimes on the C MQTT stub, next to
// the raw `mqtt` client doing the same on the same broker in the same run
// (persistent sessions, QoS 1, reconnecting every 100 ms).
import { existsSync } from 'node:fs';
import mqtt, { type MqttClient } from 'mqtt';
import { serveDomain } from '../domain/serve.ts';
import { createRuntime, type Runtime } from '../index.ts';
import { decodeCbor, encodeCbor } from '../kernel/cbor.ts';
import type { Message } from '../kernel/schemas.ts';
import { builtStub } from '../test/helpers/built.ts';
import { MOSQUITTO, startMosquitto } from '../test/helpers/mosquitto.ts';
import { breathe, figure, type BenchContext, type Figure } from './stats.ts';

export const name = 'recovery';

const USER = { username: 'bench', password: 'protofly-bench' };
const EVERY_MS = 10;
const STEADY_MS = 500;
const RESUME_TIMEOUT_MS = 20_000;

interface Stream {
  send(id: string): void;
  /** Arrival time of each id (the first), and how many arrived in all. */
  arrived: Map<string, number>;
  arrivals: number;
  close(): Promise<void>;
}

export async function run(context: BenchContext): Promise<Figure[]> {
  if (!existsSync(MOSQUITTO)) {
    context.progress(`recovery: ${MOSQUITTO} not installed, skipped`);
    return [];
  }
  const runs = context.smoke ? 1 : 3;
  const mosquitto = await startMosquitto({ [USER.username]: USER.password });
  const domain = await serveDomain({
    brokerURL: mosquitto.url,
    entries: { default: { component: builtStub('mqtt-c'), configuration: { url: mosquitto.url }, connect: [mosquitto.url] } },
  });
  const streams: Stream[] = [];
  try {
    const stub = await stubStream(domain.catalogue.origin, domain.catalogue.domain);
    streams.push(stub);
    const raw = await rawStream(mosquitto.url);
    streams.push(raw);
    const resumed = { stub: [] as number[], raw: [] as number[] };
    const lost = { stub: 0, raw: 0 };
    const twice = { stub: 0, raw: 0 };
    let sent = 0;
    for (let r = 0; r < runs; r++) {
      context.progress(`recovery: run ${r + 1}/${runs}`);
      // The subscriptions are in what mosquitto saved before it is killed.
      await mosquitto.savedAfter(Date.now());
      const ids: string[] = [];
      const timer = setInterval(() => {
        const id = `r${r}-${sent++}`;
        ids.push(id);
        for (const stream of streams) stream.send(id);
      }, EVERY_MS);
      try {
        await new Promise((resolve) => setTimeout(resolve, STEADY_MS));
        const killedAfter = ids.length;
        await mosquitto.stop('SIGKILL');
        await mosquitto.start();
        const upAt = performance.now();
        // Resumed: a message sent after the kill has arrived.
        const resumedAt = (stream: Stream) => Math.min(...ids.slice(killedAfter).map((id) => stream.arrived.get(id) ?? Infinity));
        const deadline = upAt + RESUME_TIMEOUT_MS;
        while (streams.some((s) => !Number.isFinite(resumedAt(s))) && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
        resumed.stub.push(resumedAt(stub) - upAt);
        resumed.raw.push(resumedAt(raw) - upAt);
        await new Promise((resolve) => setTimeout(resolve, STEADY_MS));
      } finally {
        clearInterval(timer);
      }
      // What was sent has time to arrive, then it is counted.
      const settle = performance.now() + 10_000;
      while (streams.some((s) => ids.some((id) => !s.arrived.has(id))) && performance.now() < settle) await new Promise((resolve) => setTimeout(resolve, 20));
      lost.stub += ids.filter((id) => !stub.arrived.has(id)).length;
      lost.raw += ids.filter((id) => !raw.arrived.has(id)).length;
      await breathe();
    }
    twice.stub = stub.arrivals - stub.arrived.size;
    twice.raw = raw.arrivals - raw.arrived.size;
    return [figure({
      bench: name, name: 'mosquitto killed and restarted: messages flow again after', unit: 'ms', better: 'lower',
      samples: resumed.stub, ceilingName: 'raw mqtt client, reconnecting every 100 ms', ceilingSamples: resumed.raw,
      note: `${sent} messages, one every ${EVERY_MS} ms; lost: protofly ${lost.stub}, raw ${lost.raw}; delivered twice: protofly ${twice.stub}, raw ${twice.raw}`,
    })];
  } finally {
    await Promise.allSettled(streams.map((s) => s.close()));
    await domain.close();
    await mosquitto.dispose();
  }
}

// Two runtimes on the C MQTT stub, its defaults (persistent session).
async function stubStream(origin: string, domainName: string): Promise<Stream> {
  const options = { cacheDir: false as const, identity: { credentials: { [domainName]: USER } } };
  const runtimes: Runtime[] = [createRuntime(options), createRuntime(options)];
  const [alpha, beta] = runtimes;
  const alice = `hyperty://${domainName}/alice`, bob = `hyperty://${domainName}/bob`;
  const stream: Stream = {
    arrived: new Map(),
    arrivals: 0,
    send: (id) => alpha.bus.postMessage({ id, type: 'CREATE', from: alice, to: bob, body: {} }),
    close: async () => { await Promise.allSettled(runtimes.map((rt) => rt.close())); },
  };
  beta.bus.addListener(bob, (message) => arrive(stream, String(message.id)));
  await Promise.all(runtimes.map((rt) => rt.deployStub(origin)));
  await beta.bus.whenSubscribed(bob);
  return stream;
}

// The ceiling: mqtt.js with what the stub does by default — a persistent
// session, QoS 1 — and its own reconnect loop.
async function rawStream(url: string): Promise<Stream> {
  const options = { protocolVersion: 4 as const, clean: false, reconnectPeriod: 100, ...USER };
  const topic = `bench/recovery/${process.pid}`;
  const clients: MqttClient[] = [
    await mqtt.connectAsync(url, { ...options, clientId: `bench-recovery-pub-${process.pid}` }),
    await mqtt.connectAsync(url, { ...options, clientId: `bench-recovery-sub-${process.pid}` }),
  ];
  const [publisher, subscriber] = clients;
  // The broker's restart is expected; mqtt.js reports each refused reconnect.
  for (const client of clients) client.on('error', () => {});
  const stream: Stream = {
    arrived: new Map(),
    arrivals: 0,
    send: (id) => { publisher.publish(topic, Buffer.from(encodeCbor({ id, type: 'CREATE', from: 'raw', to: 'raw' } satisfies Message)), { qos: 1 }); },
    close: async () => { await Promise.allSettled(clients.map((c) => c.endAsync(true))); },
  };
  subscriber.on('message', (_topic, payload) => arrive(stream, String((decodeCbor(payload) as Message).id)));
  await subscriber.subscribeAsync(topic, { qos: 1 });
  return stream;
}

function arrive(stream: Stream, id: string): void {
  stream.arrivals++;
  if (!stream.arrived.has(id)) stream.arrived.set(id, performance.now());
}
