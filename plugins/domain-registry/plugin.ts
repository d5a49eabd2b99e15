// Seed step 7 (optional): the domain's remote registry knows which runtimes
// host a stub of the domain, and in what state. It is told of the stub
// (DEPLOYING), then of each status it publishes (LIVE, DISCONNECTED,
// FAILED) and of its removal (undeployed, or a deploy that failed) as they
// happen. The latest state wins: one request per stub at a time, and a state
// that comes while one is on its way replaces whatever was waiting. A
// registry that is down is retried with backoff, reported once per outage on
// the `error` hook; neither the deploy nor the stub ever waits for it.
import { describe, pfError } from '../../kernel/errors.ts';
import type { Plugin, Runtime } from '../../kernel/runtime.ts';
import type { StubRecord } from '../../kernel/types.ts';

export interface DomainRegistryOptions {
  /** The registry's endpoint; when absent, the descriptor's `domainRegistry` field is used. */
  endpoint?: string;
  timeoutMs?: number;
  /** First wait before a failed report is sent again (doubling, up to `maxRetryMs`). */
  retryMs?: number;
  maxRetryMs?: number;
}

/** What the registry should know of a stub: a state to POST, or that it is gone (DELETE). */
type Report = { status: string } | 'removed';

export function domainRegistryPlugin(options: DomainRegistryOptions = {}): Plugin {
  const timeoutMs = options.timeoutMs ?? 3_000;
  const retryMs = options.retryMs ?? 200;
  const maxRetryMs = options.maxRetryMs ?? 10_000;
  return {
    name: 'DomainRegistryPlugin',
    apply(runtime) {
      const reporters = new Map<string, Reporter>();
      const endpointOf = (record: StubRecord) => {
        const declared = record.descriptor.domainRegistry;
        const endpoint = options.endpoint ?? (typeof declared === 'string' ? declared : undefined);
        return endpoint ? new URL(endpoint, record.descriptorURL).href : undefined;
      };
      const report = (record: StubRecord, next: Report) => {
        let reporter = reporters.get(record.stubURL);
        if (!reporter) {
          const endpoint = endpointOf(record);
          if (!endpoint || next === 'removed') return;
          reporter = new Reporter(runtime, record, endpoint, { timeoutMs, retryMs, maxRetryMs }, () => reporters.delete(record.stubURL));
          reporters.set(record.stubURL, reporter);
        }
        reporter.set(next);
      };

      // Optional: a fault of this plugin's own (a bad endpoint) is reported, never the deploy's failure.
      runtime.hooks.registerInDomain.tapPromise({ name: 'DomainRegistryPlugin', policy: 'optional' }, async (record) => report(record, { status: record.status }));
      runtime.hooks.status.tap('DomainRegistryPlugin', (record, value) => {
        if (value !== 'UNDEPLOYED' && reporters.has(record.stubURL)) report(record, { status: value });
      });
      runtime.hooks.undeploy.tapPromise('DomainRegistryPlugin', async (record) => report(record, 'removed'));
      runtime.hooks.deployFailed.tapPromise('DomainRegistryPlugin', async (context) => {
        if (context.stub) report(context.stub, 'removed');
      });
      // A closing runtime sends what it has once more, but does not keep retrying.
      runtime.hooks.close.tapPromise('DomainRegistryPlugin', async () => {
        await Promise.all([...reporters.values()].map((reporter) => reporter.flush()));
      });
    },
  };
}

interface Timing { timeoutMs: number; retryMs: number; maxRetryMs: number }

class Reporter {
  #pending: Report | undefined;
  #sending = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #backoff: number;
  #down = false;
  #idle: Array<() => void> = [];

  constructor(
    private readonly runtime: Runtime,
    private readonly record: StubRecord,
    private readonly endpoint: string,
    private readonly timing: Timing,
    private readonly done: () => void,
  ) {
    this.#backoff = timing.retryMs;
  }

  set(next: Report): void {
    this.#pending = next;
    if (this.#timer) {
      // Waiting out a backoff: the newer state goes at its end.
      return;
    }
    void this.#pump();
  }

  /** Resolves once nothing is on its way (the runtime is closing: no more retries). */
  flush(): Promise<void> {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      void this.#pump(true);
    }
    if (!this.#sending) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  async #pump(lastTry = false): Promise<void> {
    if (this.#sending) return;
    this.#sending = true;
    while (this.#pending !== undefined) {
      const report = this.#pending;
      this.#pending = undefined;
      const failure = await this.#send(report);
      if (failure === undefined) {
        this.#down = false;
        this.#backoff = this.timing.retryMs;
        if (report === 'removed' && this.#pending === undefined) this.done();
        continue;
      }
      if (!this.#down) {
        this.#down = true;
        this.runtime.hooks.error.call(failure);
      }
      // The failed report is still what the registry should hear, unless a newer one came.
      this.#pending ??= report;
      if (lastTry) break;
      this.#timer = setTimeout(() => { this.#timer = undefined; void this.#pump(); }, this.#backoff);
      this.#backoff = Math.min(this.#backoff * 2, this.timing.maxRetryMs);
      break;
    }
    this.#sending = false;
    if (!this.#timer) for (const resolve of this.#idle.splice(0)) resolve();
  }

  async #send(report: Report) {
    const { record, runtime } = this;
    const where = { domain: record.domain.name, stubURL: record.stubURL };
    const [method, url, body] = report === 'removed'
      ? ['DELETE', `${this.endpoint}?stubURL=${encodeURIComponent(record.stubURL)}`, undefined]
      : ['POST', this.endpoint, { stubURL: record.stubURL, runtimeURL: runtime.runtimeURL, domain: record.domain.name, name: record.name, status: report.status }];
    try {
      const response = await fetch(url, {
        method,
        signal: AbortSignal.timeout(this.timing.timeoutMs),
        headers: body ? { 'content-type': 'application/json' } : {},
        body: body ? JSON.stringify(body) : undefined,
      });
      await response.body?.cancel().catch(() => {});
      return response.ok ? undefined : pfError('PF_ERR_DOMAIN_REGISTRY', [`${method} ${url}: HTTP ${response.status}`], where);
    } catch (error) {
      return pfError('PF_ERR_DOMAIN_REGISTRY', [`${method} ${url}: ${describe(error)}`], { ...where, cause: error });
    }
  }
}
