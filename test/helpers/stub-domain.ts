// A local domain whose descriptors are one built stub pointed at a broker:
// what most broker tests deploy from. Closed after the test.
import type { ExecutionContext } from 'ava';
import type { CatalogueEntry } from '../../domain/catalogue.ts';
import { serveDomain } from '../../domain/serve.ts';
import { builtStub } from './built.ts';

/**
 * Every descriptor (by name) is the stub `component` with its own
 * configuration: `url` is the broker unless the configuration names `urls`,
 * which `connect` then allows. `entry` adds fields to each (`limits`…).
 */
export async function stubDomain(t: ExecutionContext, component: string, brokerURL: string,
  configurations: Record<string, Record<string, unknown>> = { default: {} }, entry: Partial<CatalogueEntry> = {}) {
  const entries: Record<string, CatalogueEntry> = {};
  for (const [name, configuration] of Object.entries(configurations)) {
    const urls = configuration.urls as string[] | undefined;
    entries[name] = {
      ...entry,
      component: builtStub(component),
      configuration: urls ? configuration : { url: brokerURL, ...configuration },
      connect: urls ?? [brokerURL],
    };
  }
  const domain = await serveDomain({ brokerURL, entries });
  t.teardown(() => domain.close());
  return { origin: domain.catalogue.origin, name: domain.catalogue.domain };
}
