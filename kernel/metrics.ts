// What `runtime.metrics()` returns (plugins/metrics fills it in). Plain data,
// so an application can log it, send it or diff two readings.
import type { StatusValue } from './schemas.ts';
import type { StepTiming } from './types.ts';

/** Counts that add up across stubs: one stub's, or the runtime's total. */
export interface MetricCounts {
  /** Messages handed to stubs, and their CBOR bytes. */
  messagesIn: number;
  bytesIn: number;
  /** Messages stubs sent that the bus accepted, and their CBOR bytes. */
  messagesOut: number;
  bytesOut: number;
  /** Messages waiting in stubs' queues now. */
  queued: number;
  /** Messages handed to a stub again after it died holding them. */
  redelivered: number;
  /** Repeats of a delivered `(from, id)` dropped by the once-only window. */
  duplicates: number;
  /** Messages a stub died on alone: answered with the fault, never retried. */
  poisoned: number;
  /** Restarts after a failure or a refused login. */
  restarts: number;
  /** Refused or rejected, by error code (`PF_ERR_SPOOFED`, `PF_ERR_CONNECT_REFUSED`…). */
  rejected: Record<string, number>;
}

export interface StubMetrics extends MetricCounts {
  stubURL: string;
  domain: string;
  /** Which descriptor of the domain (`default` unless deployed by name). */
  name: string;
  status: StatusValue;
  /** Seconds spent in each status so far (the current one up to now). */
  statusSeconds: Partial<Record<StatusValue, number>>;
  /** The last deploy's (or restart's) steps and their times. */
  deploySteps: StepTiming[];
  memoryBytes: number;
}

export interface MetricsSnapshot {
  runtimeURL: string;
  /** Every stub deployed now. */
  stubs: StubMetrics[];
  /** Since the runtime started, stubs gone included. */
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
