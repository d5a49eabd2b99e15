// Check: a message addressed to the stub itself (its URL or below) is
// answered, never met with silence (stubs/CONTRACT.md, "Messages from the
// runtime to the stub"): one no stub understands, a SUBSCRIBE from an
// application (only the runtime's are control messages) and one below the
// stub URL. Each must come back as a RESPONSE with a numeric code, from the
// stub URL or the address it was sent to; a log line alone fails.
import { decodeBatch, encodeCbor } from '../../kernel/cbor.ts';
import { REMOTE, startSession, STUB_URL, type SessionSetup } from './session.ts';
import { fail, pass, type Check } from './types.ts';

export const ANSWERS_ITSELF = 'answers-messages-to-itself';

const SETTLE_MS = 400;
const from = `${REMOTE}/alice`;
const MESSAGES = [
  { id: 'self-execute', type: 'EXECUTE', from, to: STUB_URL, body: { method: 'conformance.nobody-understands-this' } },
  { id: 'self-subscribe', type: 'SUBSCRIBE', from, to: STUB_URL, body: { resources: [`${REMOTE}/alice`] } },
  { id: 'self-below', type: 'CREATE', from, to: `${STUB_URL}/conformance/unknown`, body: { x: 1 } },
];

export async function checkAnswersItself(setup: SessionSetup): Promise<Check> {
  const outcome = await startSession(setup, 'refuse');
  if (outcome.kind !== 'started') return fail(ANSWERS_ITSELF, 'not run: init failed');
  const { session } = outcome;
  try {
    session.guest.deliver(encodeCbor(MESSAGES));
    await session.settle(SETTLE_MS);
  } finally {
    session.stop();
  }
  if (session.recording.fault) {
    return fail(ANSWERS_ITSELF, `trapped on a message to itself: ${session.recording.fault.code} ${session.recording.fault.reason}`);
  }
  const codes = new Map<string, number>();
  for (const bytes of session.recording.posts) {
    let batch: unknown[];
    try { batch = decodeBatch(bytes); } catch { continue; }
    for (const m of batch as Array<Record<string, unknown>>) {
      const sent = MESSAGES.find((s) => s.id === m?.id);
      const code = (m?.body as { code?: unknown } | undefined)?.code;
      if (sent && m.type === 'RESPONSE' && (m.from === STUB_URL || m.from === sent.to) && m.to === from && typeof code === 'number') codes.set(sent.id, code);
    }
  }
  const silent = MESSAGES.filter((m) => !codes.has(m.id));
  if (silent.length) {
    return fail(ANSWERS_ITSELF, `no RESPONSE within ${SETTLE_MS} ms to ${silent.map((m) => `${m.type} ${m.id} to ${m.to}`).join('; ')} (a message to the stub it does not understand is answered 400, never silence)`);
  }
  return pass(ANSWERS_ITSELF, `messages to itself answered: ${MESSAGES.map((m) => `${m.type} ${codes.get(m.id)}`).join(', ')}`);
}
