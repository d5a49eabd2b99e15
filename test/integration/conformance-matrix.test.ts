// Every stub in the repo keeps the contract, through both ways into a stub
// (the direct path and jco's glue), against the back-end it is made for.
import test, { type ExecutionContext } from 'ava';
import { existsSync } from 'node:fs';
import { startEmbeddedBroker } from '../../domain/broker.ts';
import { runConformance } from '../../kit/conformance/run.ts';
import { builtStub } from '../helpers/built.ts';
import { startNatsServer } from '../helpers/nats-server.ts';

const USER = { user: 'conformance', password: 'pw' };

async function aedes(t: ExecutionContext) {
  const broker = await startEmbeddedBroker({ users: { [USER.user]: USER.password } });
  t.teardown(() => broker.close());
  return broker.url;
}

const STUBS: Array<{ stub: string; backend: (t: ExecutionContext) => Promise<string | undefined>; when?: boolean }> = [
  { stub: 'echo-c', backend: async () => undefined },
  { stub: 'echo-as', backend: async () => undefined },
  { stub: 'mqtt-c', backend: aedes },
  { stub: 'mqtt', backend: aedes },
  {
    stub: 'nats-rust',
    when: existsSync('/usr/sbin/nats-server'),
    backend: async (t) => {
      const nats = await startNatsServer({ users: { [USER.user]: USER.password } });
      t.teardown(() => nats.dispose());
      return nats.url;
    },
  },
];

for (const { stub, backend, when } of STUBS) {
  for (const path of ['direct', 'jco'] as const) {
    (when === false ? test.skip : test)(`${stub} passes conformance through the ${path} path`, async (t) => {
      const brokerURL = await backend(t);
      const report = await runConformance(builtStub(stub), { brokerURL, ...(brokerURL ? USER : {}), path });
      t.is(report.path, path);
      for (const check of report.checks) t.true(check.ok, `${check.name}: ${check.detail}`);
      t.false(report.checks.some((c) => c.name === 'goes-live' && c.skipped), 'the LIVE check ran');
    });
  }
}
