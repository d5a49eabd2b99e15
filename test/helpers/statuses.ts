// Every status the runtime's stubs publish, in order, and a way to wait for
// one: the first of a value (for a domain) at or after a given position.
import type { createRuntime } from '../../index.ts';

export interface SeenStatus { domain: string; value: string; code?: unknown; reason?: unknown; at: number }

export function statusLog(rt: ReturnType<typeof createRuntime>) {
  const seen: SeenStatus[] = [];
  rt.hooks.status.tap('test', (record, value) => {
    seen.push({ domain: record.domain.name, value, code: record.statusBody.code, reason: record.statusBody.reason, at: performance.now() });
  });
  return {
    seen,
    /** Resolves with the first `value` from position `after` on, of `domain` if given; rejects after `ms`. */
    reached(value: string, { domain, after = 0, ms = 10_000 }: { domain?: string; after?: number; ms?: number } = {}) {
      return new Promise<SeenStatus>((resolve, reject) => {
        const deadline = setTimeout(() => reject(new Error(`${domain ?? 'any domain'}: no ${value} after ${after}; saw ${JSON.stringify(seen)}`)), ms);
        const check = () => {
          const found = seen.slice(after).find((s) => s.value === value && (domain === undefined || s.domain === domain));
          if (found) { clearTimeout(deadline); resolve(found); } else setTimeout(check, 5);
        };
        check();
      });
    },
  };
}
