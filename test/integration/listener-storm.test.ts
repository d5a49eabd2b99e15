// A subscription storm: 100,000 listeners on addresses of one domain, added
// while its stub is LIVE, through each broker stub in the repo and a real
// broker. Every address is confirmed (`whenSubscribed`), the stub stays LIVE
// throughout (no restart, no DISCONNECTED), and a message to one of the
// addresses still arrives from a second runtime.
import test, { type ExecutionContext } from 'ava';
import { existsSync } from 'node:fs';
import type { StubRecord } from '../../kernel/types.ts';
import { BROKER_BINARY, startBroker, type BrokerKind } from '../helpers/brokers.ts';
import { inbox, runtime } from '../helpers/runtime.ts';
import { stubDomain } from '../helpers/stub-domain.ts';

const LISTENERS = 100_000;
const USER = { username: 'storm', password: 'st0rm' };

function storm(stub: string, brokerName: BrokerKind) {
  const title = `${LISTENERS.toLocaleString('en')} listeners on one domain all subscribe through the ${stub} stub and ${brokerName}, the stub LIVE throughout`;
  if (!existsSync(BROKER_BINARY[brokerName])) return test.skip(`${title} — skipped: needs ${BROKER_BINARY[brokerName]}`, () => {});
  return test.serial(title, async (t: ExecutionContext) => {
    t.timeout(240_000);
    const server = await startBroker(t, brokerName, { [USER.username]: USER.password });
    const domain = await stubDomain(t, stub, server.url);
    const name = domain.name;
    const identity = { credentials: { [name]: USER } };
    const alpha = runtime(t, { identity });
    const beta = runtime(t, { identity });
    const seen: string[] = [];
    alpha.hooks.status.tap('test', (_record: StubRecord, value: string) => { seen.push(value); });
    const [record] = await Promise.all([alpha.deployStub(domain.origin), beta.deployStub(domain.origin)]);
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
