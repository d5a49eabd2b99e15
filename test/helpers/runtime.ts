// Runtimes and domains that clean up after the test, pass or fail.
import type { ExecutionContext } from 'ava';
import { createRuntime, type CreateRuntimeOptions } from '../../index.ts';
import { startCatalogue, type CatalogueEntry, type CatalogueOptions } from '../../domain/catalogue.ts';
import { pfError, type ProtoflyError } from '../../kernel/errors.ts';
import type { Plugin } from '../../kernel/runtime.ts';
import { isSignatureWarning } from '../../plugins/trust/plugin.ts';
import type { Message } from '../../kernel/schemas.ts';

export async function catalogue(t: ExecutionContext, entries: Record<string, CatalogueEntry>, options: Partial<CatalogueOptions> = {}) {
  const served = await startCatalogue({ entries, registry: true, ...options });
  t.teardown(() => served.close());
  return served;
}

/**
 * `PROTOFLY_TEST_PATH=jco` runs the same tests with every stub through jco's
 * glue instead of the direct path (`npm run test:jco`): one suite, two paths.
 */
const JCO_ONLY = process.env.PROTOFLY_TEST_PATH === 'jco';

export function runtime(t: ExecutionContext, options: CreateRuntimeOptions = {}) {
  const created = createRuntime(JCO_ONLY ? { directPath: false, ...options } : options);
  const errors: ProtoflyError[] = [];
  // A stub that is not signed by a key the runtime knows is reported and
  // runs (plugins/trust): most tests deploy such stubs, and keep those apart.
  const warnings: ProtoflyError[] = [];
  created.hooks.error.tap('test', (error) => { (isSignatureWarning(error) ? warnings : errors).push(error); });
  t.teardown(() => created.close());
  return Object.assign(created, { errors, warnings });
}

/** Two runtimes with the domain's login, its stub deployed in both; alice lives in alpha, bob in beta. */
export async function deployedPair(t: ExecutionContext, origin: string, domain: string, login: { username: string; password: string }) {
  const identity = { credentials: { [domain]: login } };
  const alpha = runtime(t, { identity });
  const beta = runtime(t, { identity });
  await Promise.all([alpha.deployStub(origin), beta.deployStub(origin)]);
  return { alpha, beta, alice: `hyperty://${domain}/alice`, bob: `hyperty://${domain}/bob` };
}

/** Collects what arrives on an address. */
export function inbox(rt: ReturnType<typeof createRuntime>, address: string) {
  const messages: Message[] = [];
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  rt.bus.addListener(address, (message) => {
    messages.push(message);
    for (const w of waiters.filter((w) => messages.length >= w.count)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  });
  return {
    messages,
    /** Resolves when `count` messages have arrived; rejects after `ms`. */
    async waitFor(count: number, ms = 10_000) {
      if (messages.length >= count) return;
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${messages.length} of ${count} messages arrived on ${address}`)), ms);
        waiters.push({ count, resolve: () => { clearTimeout(timer); resolve(); } });
      });
    },
  };
}

/**
 * Keeps a test on this machine: a deploy for any domain off loopback fails
 * at once instead of looking the domain up on the network.
 */
export function loopbackOnly(): Plugin {
  return {
    name: 'LoopbackOnly',
    apply(rt) {
      rt.hooks.fetchDescriptor.tapPromise({ name: 'LoopbackOnly', stage: -100 }, async (url, context) => {
        if (!/^http:\/\/(127\.0\.0\.1|localhost)[:/]/.test(url)) throw pfError('PF_ERR_DESCRIPTOR_UNREACHABLE', [`${url} (tests stay on loopback)`], { domain: context.domain.name });
        return undefined as never;
      });
    },
  };
}
