// The direct path: for components protofly can fully check — exactly the
// protofly:stub@0.1.0 world over one core module — the stub's core module
// is instantiated with hand-written canonical ABI code instead of jco's
// per-call glue (plugins/sandbox/direct-instance.ts). It taps the sandbox's
// prepare step before the jco path and declines anything it does not
// recognise, which then goes to jco unchanged.
import { describe, pfError } from '../../kernel/errors.ts';
import type { Plugin } from '../../kernel/runtime.ts';
import { INLINE_SOURCE } from '../../kernel/schemas.ts';
import type { DeployContext } from '../../kernel/types.ts';
import type { CachedComponent, ComponentCache } from '../sandbox/cache/component-cache.ts';
import { storeInBackground } from '../sandbox/cache/store-in-background.ts';
import type { PreparedComponent } from '../sandbox/component-instance.ts';
import { LruPromises } from '../sandbox/lru-promises.ts';
import { capMemory } from '../sandbox/memory-limit.ts';
import { meterOrRefuse } from '../sandbox/metering/meter.ts';
import { substep } from '../../kernel/substep.ts';
import { largestCoreModule, recognise } from './component-shape.ts';

export interface DirectPathOptions {
  /** Where the recognised core modules are kept between runs (the sandbox's cache). */
  cache?: ComponentCache;
}

type Shape = { core: Uint8Array; postReturn: string[] };

// A small module compiles sooner in this thread than in the engine's
// background compile, whose result comes back through the event loop
// (measured here, uncached: echo-c's 16 KiB core 0.19 ms against 0.33,
// nats-rust's 125 KiB 1.0 against 1.5). A large one would hold up this
// thread's other work, so it compiles in the background, starting while the
// component is still being checked.
const COMPILE_HERE_MAX_BYTES = 256 * 1024;

function compileCore(bytes: Uint8Array<ArrayBuffer>): Promise<WebAssembly.Module> {
  if (bytes.length <= COMPILE_HERE_MAX_BYTES) {
    try {
      return Promise.resolve(new WebAssembly.Module(bytes));
    } catch (error) {
      // A browser's main thread may refuse to compile synchronously.
      if (!(error instanceof RangeError)) return Promise.reject(error);
    }
  }
  return WebAssembly.compile(bytes);
}

// The shape was right but the code is not WebAssembly: the component is
// invalid, as jco's validation would have said on its path.
function asInvalid(error: unknown): never {
  if (error instanceof WebAssembly.CompileError) throw pfError('PF_ERR_COMPONENT_INVALID', [describe(error)], { cause: error });
  throw error;
}

// Per process, like the jco path's: what was recognised (or declined) by
// source hash, and compiled modules by hash and memory limit.
const recognised = new Map<string, Shape>();
const declined = new Map<string, string>();
const compiled = new LruPromises<PreparedComponent>(32);
const KEPT = 64;

export function clearDirectCache(): void {
  recognised.clear();
  declined.clear();
  compiled.clear();
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.buffer === b.buffer && a.byteOffset === b.byteOffset && a.length === b.length;
}

// A component that came inside its descriptor is checked again rather than
// read from the disk cache: decoding, hashing and recognising echo-c's
// 18 KiB took 0.21 ms where reading its entry took 0.84 (medians of 300,
// interleaved, on a busy machine; at p90 0.8 against 3.1 ms), mqtt-c's
// 83 KiB 0.27 against 0.65. It is kept in memory all the same.
const cachedOnDisk = (context: DeployContext) => context.descriptor?.sourcePackageURL !== INLINE_SOURCE;

function remember(hash: string, shape: Shape): Shape {
  recognised.set(hash, shape);
  if (recognised.size > KEPT) recognised.delete(recognised.keys().next().value!);
  return shape;
}

export function directPathPlugin(options: DirectPathOptions = {}): Plugin {
  const { cache } = options;
  const key = (hash: string) => `direct-${hash}`;
  return {
    name: 'DirectPathPlugin',
    apply(runtime) {
      // What is known of a source hash, in this process or the cache (not
      // for a source inside its descriptor, see cachedOnDisk): its
      // recognised shape, the reason it was declined, or nothing yet.
      const known = async (hash: string, context: DeployContext): Promise<Shape | { declined: string } | undefined> => {
        const shape = recognised.get(hash);
        if (shape) return shape;
        const reason = declined.get(hash);
        if (reason !== undefined) return { declined: reason };
        if (!cachedOnDisk(context)) return undefined;
        const stored = await cache?.get(key(hash));
        if (stored?.direct) return remember(hash, { core: Object.values(stored.cores)[0], postReturn: stored.direct.postReturn });
        if (stored?.declined) {
          declined.set(hash, stored.reason ?? 'declined before');
          return { declined: declined.get(hash)! };
        }
        return undefined;
      };

      // Kept recognised: no download. Declined: the jco path decides. Never
      // seen: the bytes are needed to decide, even if jco kept its own form.
      runtime.hooks.componentPrepared.tapPromise({ name: 'DirectPathPlugin', stage: -10 }, async (hash, context) => {
        const found = await known(hash, context);
        if (!found) return false;
        return 'declined' in found ? undefined : true;
      });

      const shapeOf = async (hash: string, source: Uint8Array, context: DeployContext, beforeRecognising: () => void): Promise<Shape | undefined> => {
        const found = await known(hash, context);
        if (found && 'declined' in found) {
          context.stub!.path = { kind: 'jco', declined: found.declined };
          return undefined;
        }
        if (found) return found;
        // Prepared by the jco path before: it will find its own entry.
        if (source.length === 0) return undefined;
        beforeRecognising();
        const verdict = await substep(runtime, context, 'instantiate', 'recognise', async () => recognise(source));
        const store = (entry: CachedComponent) => {
          if (cache && cachedOnDisk(context)) storeInBackground(runtime, cache, key(hash), entry, { domain: context.domain.name, stubURL: context.stub?.stubURL });
        };
        if (!verdict.ok) {
          declined.set(hash, verdict.reason);
          context.stub!.path = { kind: 'jco', declined: verdict.reason };
          store({ glue: '', cores: {}, declined: true, reason: verdict.reason });
          runtime.hooks.stubLog.call(context.stub!, 1, `direct path declined (${verdict.reason}); using jco`);
          return undefined;
        }
        store({ glue: '', cores: { 'core.wasm': verdict.core }, direct: { postReturn: verdict.postReturn } });
        return remember(hash, { core: verdict.core, postReturn: verdict.postReturn });
      };

      runtime.hooks.prepareComponent.tapPromise({ name: 'DirectPathPlugin', stage: -10 }, async ({ sourceHash, source, maxPages }, context) => {
        // In the runtime's thread nothing can stop a call from outside: the
        // code is metered to stop itself (plugins/sandbox/metering).
        const metered = context.sandbox?.metered === true;
        // A large component never seen: its likely core module starts
        // compiling (on the engine's background threads) while this thread
        // checks the component. Compiling runs nothing; the module is used
        // only if the check passes and finds exactly these bytes, else dropped.
        let early: { core: Uint8Array; module: Promise<WebAssembly.Module> } | undefined;
        const shape = await shapeOf(sourceHash, source, context, () => {
          if (metered) return;
          const core = largestCoreModule(source);
          if (!core || core.length <= COMPILE_HERE_MAX_BYTES) return;
          try {
            early = { core, module: WebAssembly.compile(capMemory(core, maxPages) as Uint8Array<ArrayBuffer>) };
            early.module.catch(() => {}); // awaited below if used; dropped otherwise
          } catch {
            // capMemory refused it: the check will say why.
          }
        });
        if (!shape) return undefined;
        const compile = (core: Uint8Array) => (early && sameBytes(early.core, core)
          ? early.module
          : compileCore(capMemory(core, maxPages) as Uint8Array<ArrayBuffer>));
        return compiled.get(`${sourceHash}/${maxPages}${metered ? '/metered' : ''}`, async () => {
          const core = metered ? await substep(runtime, context, 'instantiate', 'meter', async () => meterOrRefuse(shape.core)) : shape.core;
          return substep(runtime, context, 'instantiate', 'compile', async () => ({
            kind: 'direct' as const,
            module: await compile(core).catch(asInvalid),
            postReturn: shape.postReturn,
            ...(metered ? { metered: true } : {}),
          }));
        });
      });
    },
  };
}
