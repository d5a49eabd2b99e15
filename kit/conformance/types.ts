/** One line of the report: PASS, FAIL, or SKIP (passes, but checked nothing). */
export interface Check {
  name: string;
  ok: boolean;
  detail: string;
  skipped?: boolean;
}

export interface ConformanceReport {
  component: string;
  /** The path the checks ran through. */
  path?: string;
  checks: Check[];
  ok: boolean;
}

export interface ConformanceOptions {
  /** A back-end (MQTT, NATS…) WebSocket URL for the LIVE check. */
  brokerURL?: string;
  /** Credentials the runtime hands the stub, for that back-end. */
  user?: string;
  password?: string;
  /** The descriptor configuration the stub gets; `{ url: brokerURL }` by default. */
  configuration?: Record<string, unknown>;
  /** How long the LIVE check waits. */
  liveTimeoutMs?: number;
  /** Which way into the stub: `direct` (no glue, when the component is exactly the world), `jco`, or whichever a runtime would take. */
  path?: 'direct' | 'jco' | 'auto';
}

export const pass = (name: string, detail: string): Check => ({ name, ok: true, detail });
export const fail = (name: string, detail: string): Check => ({ name, ok: false, detail });
export const skip = (name: string, detail: string): Check => ({ name, ok: true, skipped: true, detail });
