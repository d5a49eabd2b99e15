// The Runtime Registry: a domain's stubs by name (`default`, or the name of
// the descriptor they were deployed from), each with a unique runtime URL,
// and the last status each one published (seed steps 1–2, 5–8, 16–17).
import { statusResourceOf, stubURLFor } from '../../kernel/address.ts';
import type { Plugin, Runtime } from '../../kernel/runtime.ts';
import { STATUS_VALUES, type Message, type StatusValue } from '../../kernel/schemas.ts';
import type { Registry } from '../../kernel/services.ts';
import type { Remover, StubRecord } from '../../kernel/types.ts';
import { statusMessage } from '../../kernel/status.ts';

export function registryPlugin(): Plugin {
  return {
    name: 'RegistryPlugin',
    apply(runtime) {
      // By domain, then name: nested rather than keyed by "<domain>#<name>",
      // since the bus asks for every message to a remote address, and a key
      // built per call is a string to allocate and hash each time.
      const byDomain = new Map<string, Map<string, StubRecord>>();
      const byURL = new Map<string, StubRecord>();
      const watchers = new Map<string, Remover>();

      const registry: Registry = {
        get: (domain, name = 'default') => byDomain.get(domain)?.get(name),
        byStubURL: (stubURL) => byURL.get(stubURL),
        list: () => [...byDomain.values()].flatMap((names) => [...names.values()]),
      };
      runtime.provide('registry', registry);

      // Only a stub that made it is reused; a failed one is gone (see undeploy).
      runtime.hooks.resolveStub.tapPromise('RegistryPlugin', async (domain, name) => registry.get(domain.name, name));

      runtime.hooks.registerStub.tapPromise('RegistryPlugin', async (context) => {
        const record: StubRecord = {
          domain: context.domain,
          name: context.descriptorName,
          stubURL: stubURLFor(context.domain.name, shortId()),
          descriptor: context.descriptor!,
          descriptorURL: context.descriptorURL!,
          status: 'DEPLOYING',
          statusBody: { value: 'DEPLOYING' },
          counters: {
            messagesIn: 0, messagesOut: 0, bytesIn: 0, bytesOut: 0, rejected: 0, rejectedByCode: {}, restarts: 0, queued: 0, redelivered: 0,
            poisoned: 0, duplicates: 0, inboundPauses: 0, memoryBytes: 0,
          },
        };
        let names = byDomain.get(record.domain.name);
        if (!names) byDomain.set(record.domain.name, names = new Map());
        names.set(record.name, record);
        byURL.set(record.stubURL, record);
        // Step 8: the registry listens on the stub's status resource.
        watchers.set(record.stubURL, runtime.bus.addListener(statusResourceOf(record.stubURL),
          (message) => onStatus(runtime, record, message)));
        runtime.bus.postMessage(statusMessage(record.stubURL, 'DEPLOYING'));
        return record;
      });

      runtime.hooks.deployFailed.tapPromise('RegistryPlugin', async (context, error) => {
        const record = context.stub;
        if (!record || byURL.get(record.stubURL) !== record) return;
        if (record.status !== 'FAILED') {
          runtime.bus.postMessage(statusMessage(record.stubURL, 'FAILED', { reason: error.message, code: error.code }));
        }
        await runtime.hooks.undeploy.promise(record, error.message);
      });

      // Runs last among undeploy taps, so the others still find the record.
      runtime.hooks.undeploy.tapPromise({ name: 'RegistryPlugin', stage: 100 }, async (record, reason) => {
        if (byURL.get(record.stubURL) !== record) return;
        if (record.status !== 'FAILED') runtime.bus.postMessage(statusMessage(record.stubURL, 'UNDEPLOYED', { reason }));
        watchers.get(record.stubURL)?.();
        watchers.delete(record.stubURL);
        byURL.delete(record.stubURL);
        const names = byDomain.get(record.domain.name);
        if (names?.get(record.name) !== record) return;
        names.delete(record.name);
        if (!names.size) byDomain.delete(record.domain.name);
      });
    },
  };
}

function onStatus(runtime: Runtime, record: StubRecord, message: Message): void {
  if (message.type !== 'UPDATE' || message.from !== record.stubURL) return;
  const body = (message.body ?? {}) as Record<string, unknown>;
  const value = body.value as StatusValue;
  if (!STATUS_VALUES.includes(value)) return;
  record.status = value;
  record.statusBody = body;
  runtime.hooks.status.call(record, value, message);
}

function shortId(): string {
  return globalThis.crypto.randomUUID().slice(0, 8);
}
