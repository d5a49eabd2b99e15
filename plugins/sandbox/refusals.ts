// What a stub asked for and was refused — an `open` outside its connect list
// or past its connection limit — reaches the operator as an error event. A
// stub that asks in a loop must not flood the host with events (nor, from a
// worker, the thread boundary with messages): the first few a second are
// reported one by one, the rest only counted, and the count crosses once a
// second. Counts add up exactly; only the events are bounded. Runs beside the
// guest (guest.ts), in the runtime's thread or the stub's worker alike, and
// beside the transport's own second line of checks (stub-host.ts,
// worker/slot-sockets.ts).
import type { ErrorCode } from '../../kernel/errors.ts';

/** Refusals reported one by one, per stub: a burst of this many, then this many a second. */
export const REFUSAL_EVENTS_PER_SECOND = 10;

/**
 * `report(code, count, message)`: with `message` (the error's), one refusal
 * the operator hears of as an error event; without, `count` refusals of
 * that code that were held back and are only to be counted.
 */
export type RefusalReport = (code: ErrorCode, count: number, message?: string) => void;

export function refusalReports(report: RefusalReport) {
  let tokens = REFUSAL_EVENTS_PER_SECOND;
  let refilledAt = performance.now();
  const held = new Map<ErrorCode, number>();
  let timer: ReturnType<typeof setTimeout> | undefined;

  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    for (const [code, count] of held) report(code, count);
    held.clear();
  };

  return {
    refused(code: ErrorCode, message: string): void {
      // A token bucket read on every refusal (a refusal is no hot path), so
      // no more than a burst's worth is reported at once, however long the
      // stub was quiet before.
      const now = performance.now();
      tokens = Math.min(REFUSAL_EVENTS_PER_SECOND, tokens + ((now - refilledAt) * REFUSAL_EVENTS_PER_SECOND) / 1000);
      refilledAt = now;
      if (tokens >= 1) {
        tokens--;
        report(code, 1, message);
        return;
      }
      held.set(code, (held.get(code) ?? 0) + 1);
      if (!timer) {
        timer = setTimeout(flush, 1000);
        (timer as { unref?: () => void }).unref?.();
      }
    },
    /** Hands over what is held back now (the stub is stopping). */
    flush,
  };
}
