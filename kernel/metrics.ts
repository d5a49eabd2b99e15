// What `runtime.metrics()` returns (plugins/metrics fills it in). Plain data,
// so an application can log it, send it or diff two readings.
import type { StatusValue } from './schemas.ts';
import type { StepTiming } from './types.ts';

/** Counts that add up across stubs: one stub's, or the runtime's total. */
export interface MetricCounts {
  /**
   * Messages handed to stubs (the runtime's SUBSCRIBE/UNSUBSCRIBE/DELETE
   * included; a message handed again counts again, see `redelivered`), and
   * their CBOR bytes: the batches' bytes without their array heads, so the
   * sum of each message's own CBOR.
   */
  messagesIn: number;
  bytesIn: number;
  /**
   * Messages stubs sent that the bus accepted; and the CBOR bytes of all
   * they posted, what the bus refused (`rejected`) or dropped as a repeat
   * (`duplicates`) included: every byte that crossed the boundary.
   */
  messagesOut: number;
  bytesOut: number;
  /** Messages waiting in stubs' queues now (a gauge: a gone stub's are answered, not kept). */
  queued: number;
  /**
   * Messages put back in a stub's queue after it died (or was stopped for a
   * restart or an update) holding them, to be handed to its next instance:
   * `messagesIn − redelivered` is what was handed at least once.
   */
  redelivered: number;
  /** Repeats of a delivered `(from, id)` dropped by the once-only window. */
  duplicates: number;
  /** Messages a stub died on alone: answered with the fault, never retried. */
  poisoned: number;
  /** Restarts after a failure or a refused login. */
  restarts: number;
  /**
   * What the runtime refused the stub (or its peer), by code: a spoofed
   * sender, a connection outside its connect list, a message too large, a
   * flood, a lie through the ABI… (`counters.rejectedByCode`: exact, where
   * the error events for a refusal repeated in a loop are rate-bound).
   */
  rejected: Record<string, number>;
  /** Times the stub died, by the fault's code (`PF_ERR_STUB_TRAP`, `PF_ERR_STUB_TIMEOUT`, `PF_ERR_ABI`…). */
  faults: Record<string, number>;
}

/** The counts that are plain numbers, summed as they are (those by code aside). */
export type SummedCount = Exclude<keyof MetricCounts, 'rejected' | 'faults'>;

// Every one of them, checked complete by its type: a count added to
// MetricCounts and forgotten here does not compile, where a list would
// leave it out of the runtime's total without a word.
const SUMMED: Record<SummedCount, true> = {
  messagesIn: true, bytesIn: true, messagesOut: true, bytesOut: true, queued: true,
  redelivered: true, duplicates: true, poisoned: true, restarts: true,
};
export const SUMMED_COUNTS = Object.keys(SUMMED) as SummedCount[];

export interface StubMetrics extends MetricCounts {
  stubURL: string;
  domain: string;
  /** Which descriptor of the domain (`default` unless deployed by name). */
  name: string;
  status: StatusValue;
  /** Seconds spent in each status so far (the current one up to now), since it was registered. */
  statusSeconds: Partial<Record<StatusValue, number>>;
  /** The last deploy's (or restart's, or update's) steps and their times; empty until it is first LIVE. */
  deploySteps: StepTiming[];
  /** Its linear memory as last seen. */
  memoryBytes: number;
}

export interface MetricsSnapshot {
  runtimeURL: string;
  /** Every stub deployed now. */
  stubs: StubMetrics[];
  /**
   * Since the runtime started: the sum over its stubs, those gone (undeployed,
   * failed, given up) included; `queued` is of the stubs there now.
   * `deploys`: stubs that went LIVE for the first time; `deployFailures`:
   * deploys that failed, at whatever step.
   */
  total: MetricCounts & { deploys: number; deployFailures: number };
}

export interface MetricsOptions {
  /** `openmetrics`: the OpenMetrics text a Prometheus scrape reads. */
  format?: 'json' | 'openmetrics';
}

/** The metrics service (plugins/metrics). */
export interface MetricsService {
  snapshot(): MetricsSnapshot;
  openMetrics(): string;
}
