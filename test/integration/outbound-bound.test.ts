// Bounded outbound: a broker that stops reading (a real one, frozen with
// SIGSTOP) cannot make the runtime buffer without end what a stub sends.
// Past `limits.maxOutboundBytes` the stub's `send` answers `congested:`; the
// stub keeps what it meant to send, answers 503 to what it cannot hold, and
// once the broker reads again every message is accounted for: delivered
// once, or answered with an error — none lost, none twice.
import test, { type ExecutionContext } from 'ava';
import { existsSync } from 'node:fs';
import type { Message } from '../../kernel/schemas.ts';
import type { StubRecord } from '../../kernel/types.ts';
import { BROKER_BINARY, startBroker, type BrokerKind } from '../helpers/brokers.ts';
import { runtime } from '../helpers/runtime.ts';
import { stubDomain } from '../helpers/stub-domain.ts';
import { until } from '../helpers/until.ts';

const USER = { username: 'sender', password: 's3nd' };

/**
 * Each broker gets ≈19 MiB, far past the outbound bound (set lower than the
 * default 4 MiB, so the stubs meet it before their own bounds) and the
 * kernel's socket buffers. Mosquitto 2.0.11's websockets take a large frame
 * in 4 KiB steps a loop turn apart (64 KiB: ≈0.5 s, the raw `mqtt` client
 * too), so it gets many small messages instead of fewer large ones.
 */
const sizes: Record<BrokerKind, { messages: number; body: number; maxOutbound: number }> = {
  mosquitto: { messages: 6_000, body: 3 * 1024, maxOutbound: 64 * 1024 },
  'nats-server': { messages: 300, body: 64 * 1024, maxOutbound: 256 * 1024 },
};

/** The largest frame the C, Rust and TypeScript stubs write (their FRAME_LIMIT): packets written in one turn go together. */
const STUB_FRAME_BYTES = 256 * 1024;

function stalled(stub: string, brokerName: BrokerKind) {
  const { messages: MESSAGES, body: BODY, maxOutbound: MAX_OUTBOUND } = sizes[brokerName];
  const title = `a ${brokerName} that stops reading holds the ${stub} stub's sends to the outbound bound; every message is delivered once or answered`;
  if (!existsSync(BROKER_BINARY[brokerName])) return test.skip(`${title} — skipped: needs ${BROKER_BINARY[brokerName]}`, () => {});
  return test.serial(title, async (t: ExecutionContext) => {
    t.timeout(180_000);
    const server = await startBroker(t, brokerName, { [USER.username]: USER.password });
    const domain = await stubDomain(t, stub, server.url, { default: {} }, { limits: { maxOutboundBytes: MAX_OUTBOUND } });
    const name = domain.name;
    const identity = { credentials: { [name]: USER } };
    const alpha = runtime(t, { identity });
    const beta = runtime(t, { identity });
    const alice = `hyperty://${name}/alice`;
    const bob = `hyperty://${name}/bob`;
    const delivered = new Map<string, number>();
    beta.bus.addListener(bob, (m: Message) => { delivered.set(String(m.id), (delivered.get(String(m.id)) ?? 0) + 1); });
    const failed = new Map<string, number>();
    const reasons = new Map<string, number>();
    alpha.bus.addListener(alice, (m: Message) => {
      const { code, error, reason } = (m.body ?? {}) as { code?: unknown; error?: unknown; reason?: unknown };
      if (m.type !== 'RESPONSE' || typeof code !== 'number' || code < 400) return;
      failed.set(String(m.id), code);
      const why = String(error ?? reason).slice(0, 60);
      reasons.set(why, (reasons.get(why) ?? 0) + 1);
    });
    const [record] = await Promise.all([alpha.deployStub(domain.origin), beta.deployStub(domain.origin)]);
    await beta.bus.whenSubscribed(bob);

    const transport = alpha.service('transport');
    let worst = 0;
    const sample = setInterval(() => {
      for (const c of transport.connections(record as StubRecord)) worst = Math.max(worst, c.buffered);
    }, 2);
    t.teardown(() => clearInterval(sample));

    server.freeze();
    const frozenAt = performance.now();
    const ids = Array.from({ length: MESSAGES }, (_, i) => `m${i}`);
    const body = { blob: new Uint8Array(BODY).fill(7) };
    for (const id of ids) alpha.bus.postMessage({ id, type: 'CREATE', from: alice, to: bob, body });
    // Frozen until the stub has had to answer some: the bound was reached.
    await until('a message answered while the broker is stalled', () => failed.size > 0, 60_000);
    const thawed = performance.now();
    const stalledMs = thawed - frozenAt;
    server.thaw();
    await until('every message accounted for', () => ids.every((id) => delivered.has(id) || failed.has(id)), 120_000);
    const drainedMs = performance.now() - thawed;
    clearInterval(sample);

    const lost = ids.filter((id) => !delivered.has(id) && !failed.has(id));
    const twice = ids.filter((id) => (delivered.get(id) ?? 0) > 1);
    const both = ids.filter((id) => delivered.has(id) && failed.has(id));
    t.log(`${delivered.size} delivered, ${failed.size} answered (${[...reasons].map(([why, n]) => `${n}× ${why}`).join('; ')}); worst buffered ${(worst / 1048576).toFixed(1)} MiB; ` +
      `stalled ${stalledMs.toFixed(0)} ms, all accounted ${drainedMs.toFixed(0)} ms after the thaw`);
    t.deepEqual(lost, []);
    t.deepEqual(twice, []);
    t.deepEqual(both, [], 'a message answered with an error was not delivered as well');
    t.true(delivered.size > 0, 'what it held went out once the broker read again');
    t.true([...failed.values()].every((code) => code === 503), 'what it could not hold was answered 503');
    t.true([...reasons.keys()].every((why) => /congested/.test(why)), 'because the connection was congested');
    // The socket's buffer never held much more than the bound: one frame
    // more at most (a stub's frame carries up to STUB_FRAME_BYTES of
    // packets), and where the stub's sockets are in the runtime's thread, a
    // step of reports (see worker-sandbox's trackWritten).
    t.true(worst <= 2 * MAX_OUTBOUND + STUB_FRAME_BYTES + 2 * BODY, `worst buffered ${worst} bytes`);
  });
}

stalled('nats-rust', 'nats-server');
stalled('mqtt-c', 'mosquitto');
stalled('mqtt', 'mosquitto');
