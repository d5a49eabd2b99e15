// What happens to a stub that dies after it went LIVE: the runtime speaks for
// it (FAILED, with the reason and code), restarts it with exponential backoff
// under the same runtime URL, and gives up after too many failures in a row.
// Messages for it wait on the bus meanwhile (see the bus plugin). A LIVE stub
// whose back-end refuses its login later (a password changed, a token
// expired) is started again with fresh credentials from the Identity Module,
// once; refused again, it is FAILED with PF_ERR_LOGIN and undeployed, so
// every sender waiting on it hears why.
import { pfError, type ProtoflyError } from '../../kernel/errors.ts';
import type { Plugin, Runtime } from '../../kernel/runtime.ts';
import { statusMessage } from '../../kernel/status.ts';
import type { StubRecord } from '../../kernel/types.ts';

export interface RestartPolicy {
  /** Failures within `windowMs` after which the stub is given up on. */
  maxRestarts?: number;
  windowMs?: number;
  firstDelayMs?: number;
  maxDelayMs?: number;
}

export function lifecyclePlugin(policy: RestartPolicy = {}): Plugin {
  const maxRestarts = policy.maxRestarts ?? 5;
  const windowMs = policy.windowMs ?? 60_000;
  const firstDelayMs = policy.firstDelayMs ?? 100;
  const maxDelayMs = policy.maxDelayMs ?? 10_000;
  return {
    name: 'LifecyclePlugin',
    apply(runtime) {
      const failures = new Map<string, number[]>();
      const restarting = new Set<string>();
      // Died during a restart that then went on to succeed (it was LIVE
      // before the fault): the failure is handled once the restart settles.
      const diedRestarting = new Map<string, ProtoflyError>();
      const timers = new Map<string, ReturnType<typeof setTimeout>>();

      runtime.hooks.stubFailed.tap('LifecyclePlugin', (record, error) => {
        // A dead stub cannot speak: the runtime publishes FAILED for it.
        runtime.bus.postMessage(statusMessage(record.stubURL, 'FAILED', { reason: error.message, code: error.code }));
        runtime.hooks.error.call(error);
        // A failure during a restart is counted when that restart rejects;
        // one before the first LIVE belongs to the deploy, which fails.
        if (!record.deploySteps) return;
        if (restarting.has(record.stubURL)) diedRestarting.set(record.stubURL, error);
        else schedule(record, error);
      });

      runtime.hooks.status.tap('LifecyclePlugin', (record, value) => {
        if (value !== 'DISCONNECTED' || record.statusBody.code !== 'PF_ERR_LOGIN') return;
        // Before its first LIVE the deploy itself fails on it; during a
        // restart that restart does.
        if (!record.deploySteps || restarting.has(record.stubURL)) return;
        // The credentials step runs again: an application's `credentials`
        // tap can hand out a fresh token.
        restart(record, 'login refused: asking the Identity Module again', (failure) => {
          if (failure.code !== 'PF_ERR_LOGIN') return schedule(record, failure);
          runtime.bus.postMessage(statusMessage(record.stubURL, 'FAILED', { reason: failure.message, code: failure.code }));
          runtime.hooks.error.call(failure);
          void runtime.hooks.undeploy.promise(record, failure.message);
        });
      });

      function schedule(record: StubRecord, error: ProtoflyError): void {
        const now = Date.now();
        const recent = (failures.get(record.stubURL) ?? []).filter((at) => now - at < windowMs);
        // A stub whose shared worker went down for a neighbour's fault did
        // nothing wrong: it comes back at once, and is never given up for it.
        const itsOwn = error.code !== 'PF_ERR_WORKER_LOST';
        if (itsOwn) recent.push(now);
        failures.set(record.stubURL, recent);
        if (recent.length > maxRestarts) {
          giveUp(runtime, record, error, recent.length - 1);
          return;
        }
        const delay = itsOwn ? Math.min(maxDelayMs, firstDelayMs * 2 ** (recent.length - 1)) : firstDelayMs;
        timers.set(record.stubURL, setTimeout(() => {
          timers.delete(record.stubURL);
          if (runtime.registry.byStubURL(record.stubURL) !== record) return;
          restart(record, `restart after ${error.code}`, (failure) => schedule(record, failure));
        }, delay));
      }

      // One restart at a time per stub. A fault while it runs is handled once
      // it settles: a restart that went LIVE and then died is scheduled again;
      // one that failed goes to `failed` — unless the stub is gone meanwhile.
      function restart(record: StubRecord, reason: string, failed: (failure: ProtoflyError) => void): void {
        restarting.add(record.stubURL);
        record.counters.restarts++;
        const settle = () => {
          restarting.delete(record.stubURL);
          const died = diedRestarting.get(record.stubURL);
          diedRestarting.delete(record.stubURL);
          return { died, here: runtime.registry.byStubURL(record.stubURL) === record };
        };
        runtime.restartStub(record, reason).then(
          () => {
            const { died, here } = settle();
            if (here && died) schedule(record, died);
          },
          (failure: ProtoflyError) => {
            if (settle().here) failed(failure);
          },
        );
      }

      function giveUp(rt: Runtime, record: StubRecord, error: ProtoflyError, restarts: number): void {
        const final = pfError('PF_ERR_GAVE_UP', [record.stubURL, restarts, error.message], { stubURL: record.stubURL, domain: record.domain.name });
        rt.bus.postMessage(statusMessage(record.stubURL, 'FAILED', { reason: final.message, code: final.code }));
        rt.hooks.error.call(final);
        void rt.hooks.undeploy.promise(record, final.message);
      }

      runtime.hooks.undeploy.tapPromise('LifecyclePlugin', async (record) => {
        clearTimeout(timers.get(record.stubURL));
        timers.delete(record.stubURL);
        failures.delete(record.stubURL);
        diedRestarting.delete(record.stubURL);
      });
    },
  };
}
