// A cache write never holds up a deploy: the deploy goes on with the
// component it has in memory while the write runs (several file operations,
// each a trip through the thread pool: 1–5 ms on a busy machine, measured,
// paid before the compile when it was awaited). A write that fails costs
// only a later deploy's time, so it is reported, never thrown at the deploy.
import { describe, pfError, type ErrorContext } from '../../../kernel/errors.ts';
import type { Runtime } from '../../../kernel/runtime.ts';
import type { CachedComponent, ComponentCache } from './component-cache.ts';

export function storeInBackground(runtime: Runtime, cache: ComponentCache, key: string, component: CachedComponent,
  where: Pick<ErrorContext, 'domain' | 'stubURL'>): void {
  cache.put(key, component).catch((error: unknown) => {
    runtime.hooks.error.call(pfError('PF_ERR_CACHE_WRITE', [describe(error)], { ...where, cause: error }));
  });
}
