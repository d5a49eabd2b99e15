// A subscription storm: 100,000 listeners on addresses of one domain, added
// while its stub is LIVE, through each broker stub in the repo and a real
// broker. Every address is confirmed (`whenSubscribed`), the stub stays LIVE
// throughout (no restart, no DISCONNECTED), and a message to one of the
// addresses still arrives from a second runtime.
import test, { type ExecutionContext } from 'ava';
import { existsSync } from 'node:fs';
import { serveDomain } from '../../domain/serve.ts';
import type { StubRecord } from '../../kernel/types.ts';
import { builtStub } from '../helpers/built.ts';
import { MOSQUITTO, startMosquitto } from '../helpers/mosquitto.ts';
import { NATS_SERVER, startNatsServer } from '../helpers/nats-server.ts';
import { inbox, runtime } from '../helpers/runtime.ts';

const LISTENERS = 100_000;
const USER = { username: 'storm', password: 'st0rm' };

interface Broker { url: string; dispose(): Promise<void> | void }

const brokers: Record<string, { binary: string; start(): Promise<Broker> }> = {
  mosquitto: { binary: MOSQUITTO, start: () => startMosquitto({ [USER.username]: USER.password }) },
  'nats-server': { binary: NATS_SERVER, start: () => startNatsServer({ users: { [USER.username]: USER.password } }) },
};

function storm(stub: string, brokerName: keyof typeof brokers) {
  const broker = brokers[brokerName];
  const title = `${LISTENERS.toLocaleString('en')} listeners on one domain all subscribe through the ${stub} stub and ${brokerName}, the stub LIVE throughout`;
  if (!existsSync(broker.binary)) return test.skip(`${title} — skipped: needs ${broker.binary}`, () => {});
  return test.serial(title, async (t: ExecutionContext) => {
    t.timeout(240_000);
    const server = await broker.start();
    t.teardown(() => server.dispose());
    const domain = await serveDomain({
      brokerURL: server.url,
      entries: { default: { component: builtStub(stub), configuration: { url: server.url }, connect: [server.url] } },
    });
    t.teardown(() => domain.close());
    const name = domain.catalogue.domain;
    const identity = { credentials: { [name]: USER } };
    const alpha = runtime(t, { identity });
    const beta = runtime(t, { identity });
    const seen: string[] = [];
    alpha.hooks.status.tap('test', (_record: StubRecord, value: string) => { seen.push(value); });
    const [record] = await Promise.all([alpha.deployStub(domain.catalogue.origin), beta.deployStub(domain.catalogue.origin)]);
    t.is(record.status, 'LIVE');
    const from = seen.length;

    const addresses = Array.from({ length: LISTENERS }, (_, i) => `hyperty://${name}/storm-${i}`);
    const target = addresses[LISTENERS - 4321];
    let others = 0;
    for (const address of addresses) {
      if (address !== target) alpha.bus.addListener(address, () => { others++; });
    }
    const atTarget = inbox(alpha, target);
    // Every address, not a sample: one the stub forgot would never confirm.
    await Promise.all(addresses.map((address) => alpha.bus.whenSubscribed(address, 180_000)));

    beta.bus.postMessage({ id: 'through-the-storm', type: 'CREATE', from: `hyperty://${name}/sender`, to: target });
    await atTarget.waitFor(1, 20_000);
    t.is(atTarget.messages[0].id, 'through-the-storm');
    t.is(others, 0, 'no other listener got it');
    t.deepEqual(seen.slice(from), [], 'no status change after LIVE (no DISCONNECTED, no restart)');
    t.is(record.status, 'LIVE');
    t.is(record.counters.restarts, 0);
    t.deepEqual(alpha.errors.map((e) => e.code), []);
  });
}

storm('mqtt-c', 'mosquitto');
storm('mqtt', 'mosquitto');
storm('nats-rust', 'nats-server');
