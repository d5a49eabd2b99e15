// The protofly side of broker-e2e: alice in one runtime, bob in another, each
// runtime with the domain's `default` stub in its default (worker) sandbox,
// or in the runtime's thread.
import type { LocalDomain } from '../domain/serve.ts';
import { createRuntime, type Runtime } from '../index.ts';
import type { Message } from '../kernel/schemas.ts';
import { isSignatureWarning } from '../plugins/trust/plugin.ts';
import type { SandboxKind } from '../plugins/sandbox/plugin.ts';
import type { Login, Path } from './message-path.ts';
import { NO_FLOOD_GUARD } from './stub-boundary.ts';

export async function stubPath(domain: LocalDomain, bob: string, login?: Login, kind: SandboxKind = 'worker'): Promise<Path> {
  const options = {
    cacheDir: false as const,
    identity: login ? { credentials: { [domain.catalogue.domain]: login } } : undefined,
    sandbox: { kind, ...NO_FLOOD_GUARD },
  };
  const runtimes: Runtime[] = [createRuntime(options), createRuntime(options)];
  const [alpha, beta] = runtimes;
  const errors: unknown[] = [];
  // An unsigned stub's warning (plugins/trust) is not a failure.
  for (const runtime of runtimes) runtime.hooks.error.tap('bench', (error) => { if (!isSignatureWarning(error)) errors.push(error); });
  const listeners = new Set<(message: Message) => void>();
  try {
    beta.bus.addListener(bob, (message) => { for (const listener of listeners) listener(message); });
    await Promise.all(runtimes.map((runtime) => runtime.deployStub(domain.catalogue.origin)));
    await beta.bus.whenSubscribed(bob);
  } catch (error) {
    await Promise.allSettled(runtimes.map((runtime) => runtime.close()));
    throw error;
  }
  return {
    send: (message) => alpha.bus.postMessage(message),
    onArrival: (listener) => { listeners.clear(); listeners.add(listener); },
    async close() {
      await Promise.allSettled(runtimes.map((runtime) => runtime.close()));
      if (errors.length) throw new Error(`the runtimes reported ${String(errors[0])}`);
    },
  };
}
