// Sub-steps show where a step's time goes (download, transpile…); a deploy
// from a cache has fewer of them.
import type { Runtime } from './runtime.ts';
import type { DeployContext } from './types.ts';

export async function substep<T>(runtime: Runtime, context: DeployContext, parent: string, hook: string, run: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const result = await run();
  runtime.hooks.step.call({ domain: context.domain.name, hook, parent, ms: performance.now() - started, phase: 'end' });
  return result;
}
