// Stubs reach their back-end over TLS (`wss://`): mosquitto and nats-server
// with WebSocket listeners on certificates made for the test by Debian's
// openssl, trusted by the runtime through `transport: { ca }`. A certificate
// that does not check out (an authority the runtime does not trust, another
// host's name, a date past) fails the stub's connection and the deploy with
// PF_ERR_TLS, an error event the operator sees, and a DISCONNECTED status.
import test, { type ExecutionContext } from 'ava';
import { existsSync } from 'node:fs';
import type { StubRecord } from '../../kernel/types.ts';
import { BROKER_BINARY, startBroker, type BrokerKind } from '../helpers/brokers.ts';
import { makeCertificates, OPENSSL, type Certificates } from '../helpers/certificates.ts';
import type { ServerCertificate } from '../helpers/mosquitto.ts';
import { runtime } from '../helpers/runtime.ts';
import { stubDomain } from '../helpers/stub-domain.ts';

const USER = { username: 'tls-user', password: 'tls-pass' };

/** The stub each broker is reached with. */
const brokers: Record<BrokerKind, { stub: string }> = { mosquitto: { stub: 'mqtt-c' }, 'nats-server': { stub: 'nats-rust' } };

let certificates: Promise<Certificates> | undefined;
const certs = () => (certificates ??= makeCertificates());
test.after.always(async () => { await (await certificates?.catch(() => undefined))?.dispose(); });

function withTls(title: string, brokerName: BrokerKind, body: (t: ExecutionContext, c: Certificates) => Promise<void>) {
  const missing = [OPENSSL, BROKER_BINARY[brokerName]].find((binary) => !existsSync(binary));
  if (missing) return test.skip(`${title} — skipped: needs ${missing}`, () => {});
  return test(title, async (t) => body(t, await certs()));
}

async function tlsDomain(t: ExecutionContext, brokerName: BrokerKind, cert: ServerCertificate) {
  const server = await startBroker(t, brokerName, { [USER.username]: USER.password }, cert);
  t.true(server.url.startsWith('wss://'));
  return stubDomain(t, brokers[brokerName].stub, server.url);
}

for (const brokerName of Object.keys(brokers) as BrokerKind[]) {
  withTls(`the ${brokers[brokerName].stub} stub reaches ${brokerName} over wss:// with a CA the runtime is told to trust, and messages cross`, brokerName, async (t, c) => {
    const domain = await tlsDomain(t, brokerName, c.good);
    const identity = { credentials: { [domain.name]: USER } };
    const alpha = runtime(t, { identity, transport: { ca: c.ca } });
    const beta = runtime(t, { identity, transport: { ca: c.ca } });
    const bob = `hyperty://${domain.name}/bob`;
    const arrived = new Promise((resolve) => beta.bus.addListener(bob, resolve));
    const [stub] = await Promise.all([alpha.deployStub(domain.origin), beta.deployStub(domain.origin)]);
    t.is(stub.status, 'LIVE');
    await beta.bus.whenSubscribed(bob);
    alpha.bus.postMessage({ id: 'over-tls', type: 'CREATE', from: `hyperty://${domain.name}/alice`, to: bob, body: { secret: 'sealed' } });
    t.like(await arrived, { id: 'over-tls', body: { secret: 'sealed' } });
    t.deepEqual([...alpha.errors, ...beta.errors].map((e) => e.code), []);
  });

  withTls(`a runtime that does not trust the CA fails the ${brokers[brokerName].stub} stub's deploy to ${brokerName} with PF_ERR_TLS`, brokerName, async (t, c) => {
    const domain = await tlsDomain(t, brokerName, c.good);
    const rt = runtime(t, { identity: { credentials: { [domain.name]: USER } } });
    await refusedForTls(t, rt, domain.origin, /UNABLE_TO_VERIFY|SELF_SIGNED|unable to verify/i);
  });
}

withTls('a certificate for another host name fails the deploy with PF_ERR_TLS, though its CA is trusted', 'mosquitto', async (t, c) => {
  const domain = await tlsDomain(t, 'mosquitto', c.wrongHost);
  const rt = runtime(t, { identity: { credentials: { [domain.name]: USER } }, transport: { ca: c.ca } });
  await refusedForTls(t, rt, domain.origin, /ALTNAME|does not match|not in the cert/i);
});

withTls('an expired certificate fails the deploy with PF_ERR_TLS, though its CA is trusted', 'mosquitto', async (t, c) => {
  const domain = await tlsDomain(t, 'mosquitto', c.expired);
  const rt = runtime(t, { identity: { credentials: { [domain.name]: USER } }, transport: { ca: c.ca } });
  await refusedForTls(t, rt, domain.origin, /EXPIRED/i);
});

async function refusedForTls(t: ExecutionContext, rt: ReturnType<typeof runtime>, origin: string, detail: RegExp) {
  const statuses: Array<{ value: string; reason?: unknown }> = [];
  rt.hooks.status.tap('test', (record: StubRecord, value: string) => { statuses.push({ value, reason: record.statusBody.reason }); });
  const error = await t.throwsAsync(rt.deployStub(origin)) as { code?: string; message: string };
  t.is(error.code, 'PF_ERR_TLS', error.message);
  t.regex(error.message, detail);
  t.true(rt.errors.some((e) => e.code === 'PF_ERR_TLS'), 'the operator sees it as an error event');
  t.true(statuses.some((s) => s.value === 'DISCONNECTED'), `statuses: ${statuses.map((s) => s.value).join(', ')}`);
  t.is(rt.registry.get(new URL(origin).host), undefined, 'no stub left behind');
}
