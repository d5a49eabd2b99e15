// Seed step 7 (optional): tell the domain's remote registry that this runtime
// now hosts a stub of the domain, and that it went away. A registry that is
// down is reported on the `error` hook; the deploy never waits for it.
import { describe, pfError } from '../../kernel/errors.ts';
import type { Plugin, Runtime } from '../../kernel/runtime.ts';
import type { StubRecord } from '../../kernel/types.ts';

export interface DomainRegistryOptions {
  /** The registry's endpoint; when absent, the descriptor's `domainRegistry` field is used. */
  endpoint?: string;
  timeoutMs?: number;
}

export function domainRegistryPlugin(options: DomainRegistryOptions = {}): Plugin {
  const timeoutMs = options.timeoutMs ?? 3_000;
  return {
    name: 'DomainRegistryPlugin',
    apply(runtime) {
      const endpointOf = (record: StubRecord) => {
        const declared = record.descriptor.domainRegistry;
        const endpoint = options.endpoint ?? (typeof declared === 'string' ? declared : undefined);
        return endpoint ? new URL(endpoint, record.descriptorURL).href : undefined;
      };

      runtime.hooks.registerInDomain.tapPromise('DomainRegistryPlugin', async (record) => {
        const endpoint = endpointOf(record);
        if (!endpoint) return;
        void send(runtime, record, 'POST', endpoint, {
          stubURL: record.stubURL, runtimeURL: runtime.runtimeURL, domain: record.domain.name, status: record.status,
        }, timeoutMs);
      });

      runtime.hooks.undeploy.tapPromise('DomainRegistryPlugin', async (record) => {
        const endpoint = endpointOf(record);
        if (!endpoint) return;
        void send(runtime, record, 'DELETE', `${endpoint}?stubURL=${encodeURIComponent(record.stubURL)}`, undefined, timeoutMs);
      });
    },
  };
}

async function send(runtime: Runtime, record: StubRecord, method: string, url: string, body: unknown, timeoutMs: number): Promise<void> {
  const where = { domain: record.domain.name, stubURL: record.stubURL };
  try {
    const response = await fetch(url, {
      method,
      signal: AbortSignal.timeout(timeoutMs),
      headers: body ? { 'content-type': 'application/json' } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
    await response.body?.cancel().catch(() => {});
    if (!response.ok) runtime.hooks.error.call(pfError('PF_ERR_DOMAIN_REGISTRY', [`${method} ${url}: HTTP ${response.status}`], where));
  } catch (error) {
    runtime.hooks.error.call(pfError('PF_ERR_DOMAIN_REGISTRY', [`${method} ${url}: ${describe(error)}`], { ...where, cause: error }));
  }
}
