// p50 latency of one message in flight through mosquitto: sockets in worker vs runtime thread vs in-thread sandbox.
import { serveDomain } from '../domain/serve.ts';
import { createRuntime } from '../index.ts';
import type { Message } from '../kernel/schemas.ts';
import { startMosquitto } from '../test/helpers/mosquitto.ts';
import { measureLatency, measureThroughput, type Path } from '../bench/message-path.ts';
import { percentile } from '../bench/stats.ts';
import { prepareNodeWorkers } from '../plugins/sandbox/worker/node-spawn.ts';

const USER = { username: 'b', password: 'p' };
await prepareNodeWorkers();
const mosq = await startMosquitto({ [USER.username]: USER.password });
const domain = await serveDomain({ brokerURL: mosq.url, stub: 'mqtt-c' });
const name = domain.catalogue.domain;
const alice = `hyperty://${name}/alice`, bob = `hyperty://${name}/bob`;
async function path(variant: string): Promise<Path> {
  const options: any = { cacheDir: false, identity: { credentials: { [name]: USER } }, sandbox: { maxPostsPerSecond: 1e9 } };
  if (variant === 'main-sockets') options.transport = { socketsInWorker: false };
  if (variant === 'in-thread') options.sandbox.kind = 'in-thread';
  const rts = [createRuntime(options), createRuntime(options)];
  let l: (m: Message) => void = () => {};
  rts[1].bus.addListener(bob, (m) => l(m));
  await Promise.all(rts.map((r) => r.deployStub(domain.catalogue.origin)));
  await rts[1].bus.whenSubscribed(bob);
  return { send: (m) => rts[0].bus.postMessage(m), onArrival: (x) => { l = x; }, close: async () => { await Promise.all(rts.map((r) => r.close())); } };
}
const variants = (process.argv[2] ?? 'worker-sockets,main-sockets,in-thread').split(',');
const paths: Record<string, Path> = {};
for (const v of variants) paths[v] = await path(v);
for (let run = 0; run < 3; run++) for (const v of variants) {
  const lat = await measureLatency(paths[v], alice, bob, 1000, run * 10 + variants.indexOf(v));
  const tp = await measureThroughput(paths[v], alice, bob, 3000, 100 + run * 10 + variants.indexOf(v));
  console.log(v, 'p50', percentile(lat, 0.5).toFixed(3), 'p99', percentile(lat, 0.99).toFixed(2), 'msg/s', tp.toFixed(0));
}
for (const p of Object.values(paths)) await p.close();
await domain.close(); await mosq.dispose();
