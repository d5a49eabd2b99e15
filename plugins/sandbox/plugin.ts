// The Sandbox Manager (seed steps 9–13): downloads the stub's source (or
// takes it from the descriptor), checks its hash, turns the component into
// running code and starts it in a sandbox — a worker of its own by
// default, the runtime's thread for stubs trusted with it.
import { encodeCbor } from '../../kernel/cbor.ts';
import { isProtoflyError, pfError, type ProtoflyError } from '../../kernel/errors.ts';
import { countRejection, REJECTED_FAULTS } from '../../kernel/rejections.ts';
import type { Plugin } from '../../kernel/runtime.ts';
import type { Descriptor, Message } from '../../kernel/schemas.ts';
import type { DeployContext, Sandbox, StubInstance, StubRecord } from '../../kernel/types.ts';
import type { PreparedComponent, TranspiledComponent } from './component-instance.ts';
import { compileComponent, meterComponent, transpileComponent } from './component-loader.ts';
import type { GuestLimits } from './guest.ts';
import { startInThread, type SandboxStart } from './in-thread.ts';
import { sha256Integrity } from './integrity.ts';
import { fetchVerifiedSource } from './load-source.ts';
import { LruPromises } from './lru-promises.ts';
import { substep } from '../../kernel/substep.ts';
import type { ComponentCache } from './cache/component-cache.ts';
import { pagesFor } from './memory-limit.ts';
import { DEFAULT_MAX_BYTES_PER_SECOND, DEFAULT_MAX_MESSAGES_PER_SECOND, DEFAULT_MAX_POST_BYTES, DEFAULT_MAX_POSTS_PER_SECOND } from './flood-limits.ts';
import { connectionLimits } from '../transport/limits.ts';
import { startInWorker } from './worker-sandbox.ts';
import type { SpawnWorker } from './worker/protocol.ts';
import { runtimeWorkers } from './worker/spare-workers.ts';
import { storeInBackground } from './cache/store-in-background.ts';

export type SandboxKind = 'worker' | 'in-thread';

export interface StubLimits {
  /** The stub's linear memory may not grow past this. */
  memoryMiB: number;
  /** A single call into the stub may not run longer than this (worker sandbox). */
  callTimeoutMs: number;
}

export interface SandboxOptions {
  /** Which sandbox a stub gets; a function decides per deploy. Default: worker. */
  kind?: SandboxKind | ((context: DeployContext) => SandboxKind);
  /**
   * Whether a stub in the runtime's thread has its code metered (default:
   * true): a call past `limits.callTimeoutMs` then traps, where nothing
   * could stop it otherwise. `false` spares a stub you trust the cost (for
   * an interpreter such as a JS stub's, ≈10–30% of its speed in-thread).
   */
  meterInThread?: boolean;
  /** Starts workers; the Node entry passes worker_threads, the browser one Web Workers. */
  spawnWorker?: SpawnWorker;
  /** Limits for descriptors that name none. */
  defaults?: Partial<StubLimits>;
  /** What no descriptor may ask beyond. */
  caps?: Partial<StubLimits>;
  /** Sources larger than this are refused before being read whole. */
  maxSourceBytes?: number;
  timeoutMs?: number;
  maxTimers?: number;
  maxConnections?: number;
  /**
   * What a stub may post onto the bus (flood-limits.ts): posts, messages
   * (however batched) and bytes per second, each a token bucket holding a
   * second's worth, and the largest batch. Past any, the stub is cut off
   * (PF_ERR_STUB_FLOOD). Defaults 20,000 posts, 100,000 messages and 64 MiB
   * a second; 4 MiB a batch.
   */
  maxPostsPerSecond?: number;
  maxMessagesPerSecond?: number;
  maxBytesPerSecond?: number;
  maxPostBytes?: number;
  /** JS heap of a worker (the glue, not the stub's linear memory). */
  workerHeapMiB?: number;
  /**
   * Most messages a worker stub gets in one call (default 64): a longer
   * batch crosses in parts, so both threads work at once. In-thread stubs
   * get everything posted in one turn in one call, as there is nothing to
   * overlap.
   */
  workerBatchMessages?: number;
  /**
   * How many stubs may share one worker (default 1: a worker each). A Node
   * worker costs ≈7 MiB; stubs sharing one cost ≈50 KiB each beyond their
   * own memory. The price: a stub stuck in a call is stopped with its whole
   * worker, so its neighbours fail too (PF_ERR_WORKER_LOST) and are
   * restarted, and they share `workerHeapMiB`. Needs SharedArrayBuffer
   * (Node; cross-origin isolated pages); without it each stub gets its own.
   */
  stubsPerWorker?: number;
  /** Turns component bytes into glue + core modules (jco; the browser entry passes its own). */
  transpile?: (component: Uint8Array) => Promise<TranspiledComponent>;
  /** SHA-256 of a source as `sha256-<base64>`; Web Crypto's by default. */
  integrity?: (bytes: Uint8Array) => string | Promise<string>;
  /** Keeps transpiled components between visits or processes; none by default. */
  cache?: ComponentCache;
}

const DEFAULT_LIMITS: StubLimits = { memoryMiB: 128, callTimeoutMs: 2_000 };
const DEFAULT_CAPS: StubLimits = { memoryMiB: 1_024, callTimeoutMs: 30_000 };

// Transpiling is the slow part of a deploy; the same verified bytes (same
// hash, checked by loadSource) are transpiled once per process, whichever
// runtime asks. Instances are never shared: each deploy instantiates afresh.
const transpiled = new LruPromises<TranspiledComponent>(16);
/** What loadSource hands on when the component is already transpiled. */
const CACHED = new Uint8Array(0);
const compiled = new LruPromises<PreparedComponent>(32);

/** Forgets every component the jco path transpiled and compiled in this process. */
export function clearJcoCache(): void {
  transpiled.clear();
  compiled.clear();
}

export function sandboxPlugin(options: SandboxOptions = {}): Plugin {
  const maxSourceBytes = options.maxSourceBytes ?? 64 * 1024 * 1024;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const defaults = { ...DEFAULT_LIMITS, ...options.defaults };
  const caps = { ...DEFAULT_CAPS, ...options.caps };
  return {
    name: 'SandboxPlugin',
    apply(runtime) {
      const instances = new Map<string, StubInstance>();
      const maxHeapMiB = options.workerHeapMiB ?? 256;
      const workers = options.spawnWorker ? runtimeWorkers(options.spawnWorker, maxHeapMiB) : undefined;

      // Spare workers (worker/spare-workers.ts). When every stub gets a
      // worker, one starts with the runtime, so the first deploy finds it
      // up, and with a deploy's first step when none is kept, to boot while
      // the descriptor and the source are fetched; otherwise from
      // createSandbox on, where a deploy is known to want one. A deploy that
      // took one has it replaced once it is over (LIVE, or failed), not in
      // its instantiate step, where the spawn would hold the deploy up (it
      // takes ≈0.5 ms of this thread, up to 3 on a busy machine, measured).
      let replaceSpare = false;
      if (workers) {
        const everyStub = (options.kind ?? 'worker') === 'worker';
        if (everyStub) workers.startSpare();
        runtime.hooks.step.tap('SandboxPlugin', (event) => {
          if (event.parent) return;
          if (everyStub && event.hook === 'fetchDescriptor' && event.phase === 'start') workers.startSpare();
          if (replaceSpare && event.hook === 'live' && event.phase !== 'start') {
            replaceSpare = false;
            // After the deploy has its answer.
            setTimeout(() => workers.startSpare(), 0);
          }
        });
        runtime.hooks.close.tapPromise('SandboxPlugin', () => workers.release());
      }

      runtime.hooks.createSandbox.tapPromise('SandboxPlugin', async (context): Promise<Sandbox> => {
        const kind = typeof options.kind === 'function' ? options.kind(context) : options.kind ?? 'worker';
        if (kind === 'worker' && !workers) throw pfError('PF_ERR_NO_HANDLER', ['createSandbox (no worker support here)'], { hook: 'createSandbox' });
        if (kind === 'worker') workers!.startSpare();
        return { kind, metered: kind === 'in-thread' && options.meterInThread !== false };
      });

      const transpile = options.transpile ?? transpileComponent;
      const integrity = options.integrity ?? sha256Integrity;
      const cache = options.cache;

      // The jco path: the default way to prepare any component.
      runtime.hooks.componentPrepared.tapPromise('SandboxPlugin', async (hash) =>
        (transpiled.has(hash) || await cache?.has(hash) ? true : undefined));
      runtime.hooks.prepareComponent.tapPromise('SandboxPlugin', async ({ sourceHash: hash, source, maxPages }, context) =>
        compiled.get(`${hash}/${maxPages}${context.sandbox?.metered ? '/metered' : ''}`, async () => {
          const component = await transpiled.get(hash, async () => {
            const stored = await cache?.get(hash);
            if (stored) return stored;
            // Evicted between loadSource and now: the deploy is retried from scratch.
            if (source.length === 0) throw pfError('PF_ERR_SOURCE_UNREACHABLE', ['the component cache lost its entry; deploy again'], { domain: context.domain.name });
            const fresh = await substep(runtime, context, 'instantiate', 'transpile', () => transpile(source));
            if (cache) storeInBackground(runtime, cache, hash, fresh, { domain: context.domain.name, stubURL: context.stub?.stubURL });
            return fresh;
          });
          // In the runtime's thread, metered first (metering/meter.ts).
          const ready = context.sandbox?.metered ? await substep(runtime, context, 'instantiate', 'meter', async () => meterComponent(component)) : component;
          return substep(runtime, context, 'instantiate', 'compile', () => compileComponent(ready, maxPages));
        }));

      const limitsOf = (descriptor: Descriptor) => {
        const asked = descriptor.limits ?? {};
        const memoryMiB = Math.min(asked.memoryMiB ?? defaults.memoryMiB, caps.memoryMiB);
        return {
          callTimeoutMs: Math.min(asked.callTimeoutMs ?? defaults.callTimeoutMs, caps.callTimeoutMs),
          maxPages: pagesFor(memoryMiB),
        };
      };
      const prepare = (context: DeployContext, source: Uint8Array) => runtime.hooks.prepareComponent.promise(
        { sourceHash: context.descriptor!.sourceHash, source, maxPages: limitsOf(context.descriptor!).maxPages }, context,
      ) as Promise<PreparedComponent | undefined>;
      // Preparing (compiling, or transpiling) starts as soon as the source is
      // verified, so it runs while the Identity Module answers the login;
      // instantiate takes the result. A deploy that fails before leaves only
      // a prepared component in the cache.
      const preparing = new WeakMap<DeployContext, { source: Uint8Array; prepared: Promise<PreparedComponent | undefined> }>();
      const verified = (context: DeployContext, source: Uint8Array): Uint8Array => {
        const prepared = prepare(context, source);
        prepared.catch(() => {}); // awaited by instantiate, which reports it
        preparing.set(context, { source, prepared });
        return source;
      };

      runtime.hooks.loadSource.tapPromise('SandboxPlugin', async (context) => {
        const descriptor = context.descriptor!;
        // Already prepared from bytes with this very hash: nothing to download.
        if (await runtime.hooks.componentPrepared.promise(descriptor.sourceHash, context)) {
          runtime.hooks.step.call({ domain: context.domain.name, name: context.descriptorName, hook: 'cached', parent: 'loadSource', ms: 0, phase: 'end' });
          return verified(context, CACHED);
        }
        return verified(context, await fetchVerifiedSource(runtime, context, { maxSourceBytes, timeoutMs, integrity }));
      });

      runtime.hooks.instantiate.tapPromise('SandboxPlugin', async (context) => {
        const record = context.stub!;
        const descriptor = context.descriptor!;
        const { callTimeoutMs, maxPages } = limitsOf(descriptor);
        // Started by loadSource, unless another plugin supplied the source.
        const early = preparing.get(context);
        preparing.delete(context);
        const prepared = await (early?.source === context.source ? early!.prepared : prepare(context, context.source!));
        if (!prepared) throw pfError('PF_ERR_NO_HANDLER', ['prepareComponent'], { hook: 'prepareComponent', domain: record.domain.name });
        record.path = { kind: prepared.kind, declined: prepared.kind === 'direct' ? undefined : record.path?.declined };
        const limits: GuestLimits & { callTimeoutMs: number } = {
          connect: [...descriptor.connect],
          maxConnections: options.maxConnections ?? 8,
          maxTimers: options.maxTimers ?? 256,
          maxPostsPerSecond: options.maxPostsPerSecond ?? DEFAULT_MAX_POSTS_PER_SECOND,
          maxMessagesPerSecond: options.maxMessagesPerSecond ?? DEFAULT_MAX_MESSAGES_PER_SECOND,
          maxBytesPerSecond: options.maxBytesPerSecond ?? DEFAULT_MAX_BYTES_PER_SECOND,
          maxPostBytes: options.maxPostBytes ?? DEFAULT_MAX_POST_BYTES,
          maxMemoryBytes: maxPages * 65_536,
          maxOutboundBytes: connectionLimits(descriptor).maxOutboundBytes,
          callTimeoutMs,
        };
        const start: SandboxStart = {
          runtime,
          record,
          prepared,
          limits,
          config: encodeCbor({
            runtimeURL: runtime.runtimeURL,
            stubURL: record.stubURL,
            domain: record.domain.name,
            configuration: descriptor.configuration,
            credentials: context.credentials ?? null,
          }),
          onFault: (error: ProtoflyError, unprocessed: Message[], suspects: number) => {
            instances.delete(record.stubURL);
            // Cut off for what it did to the host: a security event, counted
            // here for both sandboxes (the error event is lifecycle's FAILED).
            if (REJECTED_FAULTS.has(error.code)) countRejection(record, error.code);
            runtime.hooks.stubFailed.call(record, error, unprocessed, suspects);
          },
        };
        const starting = context.sandbox?.kind === 'in-thread'
          ? startInThread(start)
          : startInWorker(start, {
            workers: workers!,
            maxHeapMiB,
            maxBatch: Math.max(1, options.workerBatchMessages ?? 64),
            stubsPerWorker: Math.max(1, Math.floor(options.stubsPerWorker ?? 1)),
          }).finally(() => { replaceSpare = true; });
        const instance = await starting.catch((error: unknown) => {
          // Cut off during its init for what it did to the host: the deploy
          // fails with it, and the operator sees it as the security event it
          // is, as after LIVE (where lifecycle reports it).
          if (isProtoflyError(error) && REJECTED_FAULTS.has(error.code)) {
            countRejection(record, error.code);
            runtime.hooks.error.call(error);
          }
          throw error;
        });
        instances.set(record.stubURL, instance);
        return instance;
      });

      const stop = async (record: StubRecord, reason: string) => {
        const instance = instances.get(record.stubURL);
        instances.delete(record.stubURL);
        return (await instance?.dispose(reason)) ?? [];
      };
      // Undeployed: what it had not finished goes back to the bus, which
      // answers the senders (the route is going away).
      runtime.hooks.undeploy.tapPromise('SandboxPlugin', async (record, reason) => {
        runtime.bus.requeue(record, await stop(record, reason));
      });
      // Swapped (restart, update): the next instance gets it, first in line.
      runtime.hooks.stopInstance.tapPromise('SandboxPlugin', async (record, reason) => {
        runtime.bus.requeue(record, await stop(record, reason));
      });
    },
  };
}
