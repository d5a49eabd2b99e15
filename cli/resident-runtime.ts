// `protofly serve`'s own runtime. The local domain's catalogue and broker run
// no runtime (the browser demo's run in the page), so `serve` runs one: it
// deploys the domain's default stub and keeps it, which shows at once that
// the domain works, and `GET /metrics` on the server is its OpenMetrics text.
import { createRuntime } from '../index.ts';
import { METRICS_PATH, type LocalDomain } from '../domain/serve.ts';
import { isProtoflyError } from '../kernel/errors.ts';
import type { Runtime } from '../kernel/runtime.ts';
import type { Credentials } from '../kernel/schemas.ts';

export function startResidentRuntime(domain: LocalDomain, login: Credentials | undefined, write: (line: string) => void): Runtime {
  const { origin, domain: name } = domain.catalogue;
  const runtime = createRuntime({
    identity: { credentials: login ? { [name]: login } : {} },
    trust: { keys: domain.publicKey ? { [name]: [domain.publicKey] } : {} },
  });
  const metrics = `metrics at ${origin}${METRICS_PATH}`;
  runtime.deployStub(origin).then(
    (stub) => write(`runtime ${runtime.runtimeURL} runs the default stub, ${stub.status}: ${stub.stubURL}; ${metrics}`),
    (error: unknown) => write(`runtime ${runtime.runtimeURL} could not deploy the default stub (${isProtoflyError(error) ? `${error.code}: ${error.message}` : String(error)}); ${metrics}`),
  );
  return runtime;
}
