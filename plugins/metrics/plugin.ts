// The metrics plugin: `runtime.metrics()`. What is counted per message (in,
// out, bytes, queued, redelivered…) is on each stub's record, kept by the bus
// and the sandbox where the work is done anyway, refusals by code included
// (kernel/rejections.ts); what no counter holds is followed here through the
// hooks: faults by code, the time in each status, deploys and failed deploys. A stub's counts fold into the runtime's
// total as it goes, so the total covers every stub the runtime ever ran.
import { SUMMED_COUNTS, type MetricCounts, type MetricsService, type MetricsSnapshot, type StubMetrics } from '../../kernel/metrics.ts';
import type { Plugin } from '../../kernel/runtime.ts';
import type { StatusValue } from '../../kernel/schemas.ts';
import type { StubRecord } from '../../kernel/types.ts';
import { openMetricsText } from './openmetrics.ts';

export { openMetricsText, OPENMETRICS_CONTENT_TYPE } from './openmetrics.ts';

/** What is followed of one stub besides its record's counters. */
interface Followed {
  faults: Record<string, number>;
  /** Milliseconds in each status before the current one. */
  statusMs: Partial<Record<StatusValue, number>>;
  status: StatusValue;
  since: number;
  /** It has been LIVE (its deploy succeeded). */
  wasLive: boolean;
}

export function metricsPlugin(): Plugin {
  return {
    name: 'MetricsPlugin',
    apply(runtime) {
      const followed = new Map<string, Followed>();
      /** Stubs whose counts are in `gone`. */
      const folded = new WeakSet<StubRecord>();
      const gone = emptyCounts();
      let deploys = 0;
      let deployFailures = 0;

      // The registry publishes DEPLOYING as it registers a stub: following starts there.
      runtime.hooks.status.tap('MetricsPlugin', (record, value) => {
        if (folded.has(record)) return;  // its UNDEPLOYED, published as it goes
        const at = now();
        let stub = followed.get(record.stubURL);
        if (!stub) {
          stub = { faults: {}, statusMs: {}, status: value, since: at, wasLive: false };
          followed.set(record.stubURL, stub);
        } else {
          stub.statusMs[stub.status] = (stub.statusMs[stub.status] ?? 0) + (at - stub.since);
          stub.status = value;
          stub.since = at;
        }
        if (value === 'LIVE' && !stub.wasLive) {
          stub.wasLive = true;
          deploys++;
        }
      });

      // Once per death, however many messages its error then answers.
      runtime.hooks.stubFailed.tap('MetricsPlugin', (record, error) => {
        const faults = followed.get(record.stubURL)?.faults ?? gone.faults;
        faults[error.code] = (faults[error.code] ?? 0) + 1;
      });

      runtime.hooks.deployFailed.tapPromise('MetricsPlugin', async () => {
        deployFailures++;
      });

      // Just before the registry forgets the stub (stage 100): its counts
      // move to the total with nothing in between where they are in neither.
      runtime.hooks.undeploy.tapPromise({ name: 'MetricsPlugin', stage: 99 }, async (record) => {
        if (folded.has(record) || runtime.registry.byStubURL(record.stubURL) !== record) return;
        folded.add(record);
        const stub = followed.get(record.stubURL);
        followed.delete(record.stubURL);
        add(gone, { ...countsOf(record, stub), queued: 0 });
      });

      const metrics: MetricsService = {
        snapshot(): MetricsSnapshot {
          const at = now();
          const stubs = runtime.registry.list().filter((record) => !folded.has(record))
            .map((record) => stubMetrics(record, followed.get(record.stubURL), at));
          const total = { ...emptyCounts(), deploys, deployFailures };
          add(total, gone);
          for (const stub of stubs) add(total, stub);
          return { runtimeURL: runtime.runtimeURL, stubs, total };
        },
        openMetrics() {
          return openMetricsText(metrics.snapshot());
        },
      };
      runtime.provide('metrics', metrics);
    },
  };
}

function countsOf(record: StubRecord, stub: Followed | undefined): MetricCounts {
  const c = record.counters;
  return {
    messagesIn: c.messagesIn, bytesIn: c.bytesIn, messagesOut: c.messagesOut, bytesOut: c.bytesOut,
    queued: c.queued, redelivered: c.redelivered, duplicates: c.duplicates, poisoned: c.poisoned,
    restarts: c.restarts, rejected: { ...c.rejectedByCode }, faults: { ...stub?.faults },
  };
}

function stubMetrics(record: StubRecord, stub: Followed | undefined, at: number): StubMetrics {
  const statusSeconds: Partial<Record<StatusValue, number>> = {};
  if (stub) {
    const ms = { ...stub.statusMs, [stub.status]: (stub.statusMs[stub.status] ?? 0) + (at - stub.since) };
    for (const [status, spent] of Object.entries(ms) as Array<[StatusValue, number]>) statusSeconds[status] = spent / 1000;
  }
  return {
    stubURL: record.stubURL,
    domain: record.domain.name,
    name: record.name,
    status: record.status,
    ...countsOf(record, stub),
    statusSeconds,
    deploySteps: (record.deploySteps ?? []).map(({ hook, ms }) => ({ hook, ms })),
    memoryBytes: record.counters.memoryBytes,
  };
}

function emptyCounts(): MetricCounts {
  return { messagesIn: 0, bytesIn: 0, messagesOut: 0, bytesOut: 0, queued: 0, redelivered: 0, duplicates: 0, poisoned: 0, restarts: 0, rejected: {}, faults: {} };
}

function add(into: MetricCounts, counts: MetricCounts): void {
  for (const key of SUMMED_COUNTS) into[key] += counts[key];
  for (const [code, n] of Object.entries(counts.rejected)) into.rejected[code] = (into.rejected[code] ?? 0) + n;
  for (const [code, n] of Object.entries(counts.faults)) into.faults[code] = (into.faults[code] ?? 0) + n;
}

function now(): number {
  return globalThis.performance.now();
}
