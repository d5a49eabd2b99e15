// End to end through a broker: a hyperty in one runtime to a hyperty in
// another, through each runtime's protocol stub and a real broker, next to
// that protocol's raw client publishing the same CBOR payloads over the same
// broker in the same run. Every stub the repo builds for a broker is here:
// both MQTT stubs (C, TypeScript) through aedes and mosquitto, the Rust NATS
// stub through nats-server, in worker sandboxes (the default); and the
// default MQTT stub and the NATS stub once more in the runtime's thread,
// which shows what the worker boundary costs a message (two thread
// wake-ups: to the sender's stub, and back from the receiver's).
import { existsSync } from 'node:fs';
import { serveDomain, type LocalDomain, type LocalStubName } from '../domain/serve.ts';
import { builtStub } from '../test/helpers/built.ts';
import { MOSQUITTO, startMosquitto } from '../test/helpers/mosquitto.ts';
import { NATS_SERVER, startNatsServer } from '../test/helpers/nats-server.ts';
import { measureLatency, measureThroughput, BURST, WINDOW, type Login, type RawClient } from './message-path.ts';
import { rawMqtt } from './raw-mqtt.ts';
import { rawNats } from './raw-nats.ts';
import { breathe, figure, percentile, type BenchContext, type Figure } from './stats.ts';
import type { SandboxKind } from '../plugins/sandbox/plugin.ts';
import { stubPath } from './stub-path.ts';

export const name = 'broker-e2e';

const LOGIN: Login = { username: 'bench', password: 'protofly-bench' };

interface Sizes { messages: number; latencySamples: number; runs: number }

/** A broker running, with a domain whose `default` stub goes through it. */
interface Served {
  domain: LocalDomain;
  /** What both paths log in with; none for an open broker. */
  login?: Login;
  close(): Promise<void>;
}

/** One stub through one broker, against its protocol's raw client. */
interface Case {
  stub: string;
  broker: string;
  /** The broker's program; the case is skipped where it is not installed. */
  binary?: string;
  raw: RawClient;
  /** Where both runtimes run their stub. */
  sandbox: SandboxKind;
  serve(): Promise<Served>;
}

// aedes is embedded: serveDomain starts one of its own for each domain.
function overAedes(stub: LocalStubName, sandbox: SandboxKind = 'worker'): Case {
  return {
    stub, broker: 'aedes', raw: rawMqtt, sandbox,
    async serve() {
      const domain = await serveDomain({ stub });
      return { domain, close: () => domain.close() };
    },
  };
}

function overMosquitto(stub: LocalStubName, sandbox: SandboxKind = 'worker'): Case {
  return {
    stub, broker: 'mosquitto', binary: MOSQUITTO, raw: rawMqtt, sandbox,
    async serve() {
      const mosquitto = await startMosquitto({ [LOGIN.username]: LOGIN.password });
      const domain = await serveDomain({ stub, brokerURL: mosquitto.url }).catch(async (error: unknown) => {
        await mosquitto.dispose();
        throw error;
      });
      return { domain, login: LOGIN, close: async () => { await domain.close(); await mosquitto.dispose(); } };
    },
  };
}

// The domain's default is the NATS stub pointed at the server's WebSocket
// listener, as test/integration/nats.test.ts serves it.
const overNatsServer = (sandbox: SandboxKind = 'worker'): Case => ({
  stub: 'nats-rust', broker: 'nats-server', binary: NATS_SERVER, raw: rawNats, sandbox,
  async serve() {
    const nats = await startNatsServer({ users: { [LOGIN.username]: LOGIN.password } });
    const domain = await serveDomain({
      brokerURL: nats.url,
      entries: { default: { component: builtStub('nats-rust'), configuration: { url: nats.url }, connect: [nats.url] } },
    }).catch(async (error: unknown) => {
      await nats.dispose();
      throw error;
    });
    return { domain, login: LOGIN, close: async () => { await domain.close(); await nats.dispose(); } };
  },
});

const CASES: Case[] = [
  overAedes('mqtt-c'), overMosquitto('mqtt-c'),
  overMosquitto('mqtt-ts'), overAedes('mqtt-ts'),
  overNatsServer(),
  overAedes('mqtt-c', 'in-thread'), overMosquitto('mqtt-c', 'in-thread'), overNatsServer('in-thread'),
];

export async function run(context: BenchContext): Promise<Figure[]> {
  const sizes: Sizes = context.smoke
    ? { messages: 40, latencySamples: 20, runs: 1 }
    : { messages: 4_000, latencySamples: 1_500, runs: 3 };
  const figures: Figure[] = [];
  for (const c of CASES) {
    if (c.binary && !existsSync(c.binary)) {
      context.progress(`broker-e2e: ${c.binary} not installed, ${c.stub} through ${c.broker} skipped`);
      continue;
    }
    context.progress(`broker-e2e: ${c.stub}, ${c.broker}${c.sandbox === 'in-thread' ? ', in-thread' : ''}`);
    figures.push(...await measureCase(context, c, sizes));
  }
  return figures;
}

async function measureCase(context: BenchContext, c: Case, sizes: Sizes): Promise<Figure[]> {
  const served = await c.serve();
  try {
    const { domain, login } = served;
    const alice = `hyperty://${domain.catalogue.domain}/alice`;
    const bob = `hyperty://${domain.catalogue.domain}/bob`;
    const throughput = { stub: [] as number[], raw: [] as number[] };
    const latency = { stub: [] as number[][], raw: [] as number[][] };
    const stub = await stubPath(domain, bob, login, c.sandbox);
    const raw = await c.raw.connect(domain.brokerURL, bob, login).catch(async (error: unknown) => {
      await stub.close();
      throw error;
    });
    try {
      for (const path of [stub, raw]) {
        // Warm-up: JIT, the stubs' first calls, the broker's first routes.
        await measureThroughput(path, alice, bob, Math.min(sizes.messages, 500), -1);
        await breathe();
      }
      for (let r = 0; r < sizes.runs; r++) {
        context.progress(`broker-e2e: ${c.stub}, ${c.broker} run ${r + 1}/${sizes.runs}`);
        for (const [label, path] of [['stub', stub], ['raw', raw]] as const) {
          throughput[label].push(await measureThroughput(path, alice, bob, sizes.messages, r));
          await breathe();
          latency[label].push(await measureLatency(path, alice, bob, sizes.latencySamples, r));
          await breathe();
        }
      }
    } catch (error) {
      await Promise.allSettled([stub.close(), raw.close()]);
      throw error;
    }
    // What a path saw go wrong on the way (a runtime's error hook, the raw
    // subscription's errors) fails the case, rather than a figure that hides it.
    const failed = (await Promise.allSettled([stub.close(), raw.close()])).find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
    const prefix = `${c.stub}${c.sandbox === 'in-thread' ? ' in-thread' : ''}, ${c.broker}`;
    const ceilingName = `${c.raw.name}, ${c.broker}`;
    const figures = [figure({
      bench: name, name: `${prefix}: throughput`, unit: 'msg/s', better: 'higher',
      samples: throughput.stub, ceilingName, ceilingSamples: throughput.raw,
      note: `${sizes.messages} messages, bursts of ${BURST} per turn, at most ${WINDOW} on the way, ${c.raw.delivery}, ${c.sandbox === 'worker' ? 'worker sandboxes' : 'stubs in the runtimes\' thread'}`,
    })];
    for (const [p, label] of [[0.5, 'p50'], [0.99, 'p99'], [0.999, 'p99.9']] as const) {
      figures.push(figure({
        bench: name, name: `${prefix}: latency ${label}`, unit: 'ms', better: 'lower',
        samples: latency.stub.map((run) => percentile(run, p)),
        ceilingName, ceilingSamples: latency.raw.map((run) => percentile(run, p)),
        ...(label === 'p50' ? { note: `one message in flight, ${sizes.latencySamples} samples per run` } : {}),
      }));
    }
    return figures;
  } finally {
    await served.close();
  }
}
