// What the runtime refused a stub (a spoofed `from`, an `open` outside its
// connect list, a flood, a lie through the canonical ABI…) or its peer (a
// frame over the limit). Each is an error event carrying the stub's URL, its
// domain and a stable code; each is counted here, on the stub's record, by
// that code. This is the one place `counters.rejected` and
// `counters.rejectedByCode` move. Which of these codes are the stub's own
// doing, a security team's concern, is security-events.ts.
import type { ErrorCode } from './errors.ts';
import type { StubRecord } from './types.ts';

export function countRejection(record: StubRecord, code: ErrorCode, count = 1): void {
  const { counters } = record;
  counters.rejected += count;
  counters.rejectedByCode[code] = (counters.rejectedByCode[code] ?? 0) + count;
}

/**
 * Faults that stop a stub for what it did to the host (a flood, a lie through
 * the ABI), not for a failure of its own (a trap, its memory, a stuck call):
 * they count as rejections too.
 */
export const REJECTED_FAULTS: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['PF_ERR_STUB_FLOOD', 'PF_ERR_ABI']);
