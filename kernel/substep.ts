// Sub-steps show where a step's time goes (download, transpile…) and which
// check refused a deploy (signature, integrity); a deploy from a cache has
// fewer of them.
import type { Runtime } from './runtime.ts';
import type { DeployContext } from './types.ts';

export async function substep<T>(runtime: Runtime, context: DeployContext, parent: string, hook: string, run: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const domain = context.domain.name;
  const name = context.descriptorName;
  let result: T;
  try {
    result = await run();
  } catch (error) {
    runtime.hooks.step.call({ domain, name, hook, parent, ms: performance.now() - started, phase: 'error', error });
    throw error;
  }
  runtime.hooks.step.call({ domain, name, hook, parent, ms: performance.now() - started, phase: 'end' });
  return result;
}
