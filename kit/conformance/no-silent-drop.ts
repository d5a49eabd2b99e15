// Check: a stub never drops a message silently (stubs/CONTRACT.md). It is
// handed a message larger than any stub's default `maxMessageBytes` (1 MiB)
// and a small one after it; the large one must come back carried (an echo
// stub's answer) or refused with a RESPONSE ≥ 400 from the stub's URL. A log
// line alone fails.
import { decodeBatch, encodeCbor } from '../../kernel/cbor.ts';
import { REMOTE, startSession, STUB_URL, type SessionSetup } from './session.ts';
import { fail, pass, type Check } from './types.ts';

export const NO_SILENT_DROP = 'answers-what-it-cannot-carry';

const OVERSIZED_BYTES = 2 * 1024 * 1024;
const SETTLE_MS = 400;

export async function checkNoSilentDrop(setup: SessionSetup): Promise<Check> {
  const outcome = await startSession(setup, 'refuse');
  if (outcome.kind !== 'started') return fail(NO_SILENT_DROP, 'not run: init failed');
  const { session } = outcome;
  const from = `${REMOTE}/alice`;
  try {
    session.guest.deliver(encodeCbor([
      { id: 'oversized', type: 'CREATE', from, to: `${REMOTE}/bob`, body: { blob: 'x'.repeat(OVERSIZED_BYTES) } },
      { id: 'small', type: 'CREATE', from, to: `${REMOTE}/bob`, body: { n: 1 } },
    ]));
    await session.settle(SETTLE_MS);
  } finally {
    session.stop();
  }
  if (session.recording.fault) {
    return fail(NO_SILENT_DROP, `trapped on a ${OVERSIZED_BYTES}-byte message: ${session.recording.fault.code} ${session.recording.fault.reason}`);
  }
  for (const bytes of session.recording.posts) {
    let batch: unknown[];
    try { batch = decodeBatch(bytes); } catch { continue; }
    for (const m of batch as Array<Record<string, unknown>>) {
      if (!m || m.id !== 'oversized') continue;
      const code = (m.body as { code?: unknown } | undefined)?.code;
      if (m.type === 'RESPONSE' && m.from === STUB_URL && m.to === from && typeof code === 'number' && code >= 400) {
        return pass(NO_SILENT_DROP, `a ${OVERSIZED_BYTES}-byte message it cannot carry is answered to its sender with code ${code}`);
      }
      if (m.from !== STUB_URL) return pass(NO_SILENT_DROP, `a ${OVERSIZED_BYTES}-byte message is carried (answered by its addressee)`);
    }
  }
  return fail(NO_SILENT_DROP, `a ${OVERSIZED_BYTES}-byte message was neither carried nor answered with a RESPONSE ≥ 400 from ${STUB_URL} within ${SETTLE_MS} ms (a log line is not an answer)`);
}
