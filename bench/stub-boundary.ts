// The stub boundary: messages through an echo stub and back (bus → CBOR
// batch → on-messages → post → bus), per stub language and sandbox, at
// several batch sizes, next to CBOR encode+decode of the same batches alone.
import { startCatalogue, type Catalogue } from '../domain/catalogue.ts';
import { createRuntime, type Runtime } from '../index.ts';
import { decodeBatch, encodeBatch } from '../kernel/cbor.ts';
import type { Message } from '../kernel/schemas.ts';
import { isSignatureWarning } from '../plugins/trust/plugin.ts';
import { builtStub } from '../test/helpers/built.ts';
import { breathe, figure, percentile, ratePerSecond, warmUp, type BenchContext, type Figure } from './stats.ts';

export const name = 'stub-boundary';

export const ECHO_STUBS = ['echo-c', 'echo-as', 'echo-js'] as const;
export const SANDBOXES = ['in-thread', 'worker'] as const;
/** The direct path (hand-written canonical ABI) and jco's glue, side by side. */
export const PATHS = ['direct', 'jco'] as const;
const BATCHES = [1, 16, 256];
// Far above any echo rate here: the flood limits must not cut the stub off.
export const NO_FLOOD_GUARD = { maxPostsPerSecond: 1e9, maxMessagesPerSecond: 1e9, maxBytesPerSecond: 1e15 };
const ROUND_TIMEOUT_MS = 10_000;

export function echoCatalogue(stub: string): Promise<Catalogue> {
  return startCatalogue({ entries: { default: { component: builtStub(stub) } } });
}

export function echoRuntime(kind: (typeof SANDBOXES)[number], path: (typeof PATHS)[number] = 'direct', stubsPerWorker?: number, onceWindow = true): Runtime & { errors: unknown[] } {
  // No disk cache: the bench leaves nothing behind in the user's cache directory.
  const runtime = createRuntime({
    cacheDir: false, directPath: path === 'jco' ? false : undefined, sandbox: { kind, stubsPerWorker, ...NO_FLOOD_GUARD },
    bus: onceWindow ? undefined : { onceWindow: false },
  });
  const errors: unknown[] = [];
  // An unsigned stub's warning (plugins/trust) is not a failure.
  runtime.hooks.error.tap('bench', (error) => { if (!isSignatureWarning(error)) errors.push(error); });
  return Object.assign(runtime, { errors });
}

/** A message body like an application's: a sequence number and some text. */
export function echoBody(seq: number): Record<string, unknown> {
  return { seq, text: 'the quick brown fox jumps over the lazy dog' };
}

/**
 * Drives echo stubs (one per domain) in closed loop: each round posts
 * `perStub` messages to every stub in one synchronous turn, round-robin, and
 * ends when every RESPONSE is back.
 */
/** Message ids, unique across drivers: one runtime may see several in turn. */
let sequence = 0;

export function echoDriver(runtime: Runtime, domains: readonly string[], perStub: number) {
  let pending = 0;
  let done: (() => void) | undefined;
  const removers: Array<() => void> = [];
  const batches: Message[][] = domains.map((domain) => {
    const client = `hyperty://${domain}/client`;
    const echo = `hyperty://${domain}/echo`;
    removers.push(runtime.bus.addListener(client, (message) => {
      if (message.type !== 'RESPONSE') return;
      if (--pending === 0) done?.();
    }));
    // Prebuilt: the round pays for the boundary, not for making messages.
    return Array.from({ length: perStub }, (_, i): Message => ({ id: i, type: 'UPDATE', from: client, to: echo, body: echoBody(i) }));
  });
  // One watchdog for the whole run, not a timer per round: a timer per
  // round would be measured along with the boundary.
  let roundStarted = 0;
  let fail: ((error: Error) => void) | undefined;
  const watchdog = setInterval(() => {
    if (pending > 0 && performance.now() - roundStarted > ROUND_TIMEOUT_MS) fail?.(new Error(`${pending} echoes missing after ${ROUND_TIMEOUT_MS} ms`));
  }, 1_000);
  watchdog.unref();
  return {
    batches,
    /** One round; resolves with the number of messages echoed. */
    async round(): Promise<number> {
      pending = perStub * domains.length;
      roundStarted = performance.now();
      const back = new Promise<void>((resolve, reject) => {
        done = resolve;
        fail = reject;
      });
      for (let i = 0; i < perStub; i++) {
        // A fresh id each round, as an application gives each message: the
        // once-only window drops a repeat of a (from, to, id) it saw recently.
        for (const batch of batches) {
          batch[i].id = ++sequence;
          runtime.bus.postMessage(batch[i]);
        }
      }
      await back;
      return perStub * domains.length;
    },
    close() {
      clearInterval(watchdog);
      for (const remove of removers) remove();
    },
  };
}

export async function run(context: BenchContext): Promise<Figure[]> {
  const durationMs = context.smoke ? 20 : 250;
  const runs = context.smoke ? 2 : 5;
  const figures: Figure[] = [];
  for (const stub of ECHO_STUBS) {
    const catalogue = await echoCatalogue(stub);
    try {
      for (const [kind, path] of SANDBOXES.flatMap((k) => PATHS.map((p) => [k, p] as const))) {
        const runtime = echoRuntime(kind, path);
        const label = `${stub} ${path} ${kind}`;
        try {
          context.progress(`stub-boundary: ${label}: deploying`);
          const deployed = await runtime.deployStub(catalogue.origin);
          if (deployed.path?.kind !== path) throw new Error(`${label}: deployed through the ${deployed.path?.kind} path`);
          for (const batch of BATCHES) {
            context.progress(`stub-boundary: ${label} batch ${batch}: ${runs} runs of ${durationMs} ms`);
            const driver = echoDriver(runtime, [catalogue.domain], batch);
            const messages = driver.batches[0];
            const cbor = () => {
              decodeBatch(encodeBatch(messages));
              return messages.length;
            };
            const echoed: number[] = [];
            const ceiling: number[] = [];
            // Steady state: the JIT, the stub's first calls, a new worker's first second.
            const warmMs = context.smoke ? await ratePerSecond(durationMs, driver.round) : await warmUp(driver.round);
            await ratePerSecond(durationMs, cbor);
            await breathe();
            for (let r = 0; r < runs; r++) {
              echoed.push(await ratePerSecond(durationMs, driver.round));
              await breathe();
              ceiling.push(await ratePerSecond(durationMs, cbor));
              await breathe();
            }
            driver.close();
            figures.push(figure({
              bench: name, name: `${label} batch ${batch}`, unit: 'msg/s', better: 'higher',
              samples: echoed, ceilingName: `CBOR encode+decode, batch ${batch}`, ceilingSamples: ceiling,
              note: warmMs > 1_000 ? `steady after ${(warmMs / 1000).toFixed(1)} s` : undefined,
            }));
          }
          if (runtime.errors.length) throw new Error(`${label}: the runtime reported ${String(runtime.errors[0])}`);
        } finally {
          await runtime.close();
        }
      }
    } finally {
      await catalogue.close();
    }
  }
  figures.push(...await workerRoundTrip(context, runs));
  figures.push(...await onceWindowCost(context, durationMs, runs));
  return figures;
}

/**
 * One message to an echo stub in a worker and its answer back, one at a
 * time: the p50 of each run, beside the p50 of a bare postMessage round
 * trip to a Node worker that echoes (what the boundary cost before the
 * shared-memory rings, and what it falls back to without them).
 */
async function workerRoundTrip(context: BenchContext, runs: number): Promise<Figure[]> {
  const trips = context.smoke ? 50 : 4_000;
  const catalogue = await echoCatalogue('echo-c');
  const runtime = echoRuntime('worker', 'direct');
  const bare = await bareEchoWorker();
  try {
    await runtime.deployStub(catalogue.origin);
    const driver = echoDriver(runtime, [catalogue.domain], 1);
    const timed = async (once: () => Promise<unknown>) => {
      const times: number[] = [];
      for (let i = 0; i < trips; i++) {
        const started = performance.now();
        await once();
        times.push((performance.now() - started) * 1000);
      }
      return percentile(times.sort((a, b) => a - b), 0.5);
    };
    context.progress(`stub-boundary: worker round trip of one message, ${runs} runs of ${trips}`);
    if (!context.smoke) await warmUp(driver.round);
    await timed(driver.round);
    await timed(bare.trip);
    const samples: number[] = [];
    const ceiling: number[] = [];
    for (let r = 0; r < runs; r++) {
      samples.push(await timed(driver.round));
      await breathe();
      ceiling.push(await timed(bare.trip));
      await breathe();
    }
    driver.close();
    if (runtime.errors.length) throw new Error(`worker round trip: the runtime reported ${String(runtime.errors[0])}`);
    return [figure({
      bench: name, name: 'echo-c direct worker, round trip of one message, p50', unit: 'µs', better: 'lower',
      samples, ceilingName: 'bare postMessage round trip to a worker, p50', ceilingSamples: ceiling,
    })];
  } finally {
    await bare.close();
    await runtime.close();
    await catalogue.close();
  }
}

async function bareEchoWorker() {
  const { Worker } = await import('node:worker_threads');
  const worker = new Worker("require('node:worker_threads').parentPort.on('message', (m) => require('node:worker_threads').parentPort.postMessage(m));", { eval: true });
  const message = { s: 1, t: 'messages', batch: encodeBatch([{ id: 1, type: 'UPDATE', from: 'hyperty://a/client', to: 'hyperty://a/echo', body: echoBody(1) }]) };
  return {
    trip: () => new Promise<void>((resolve) => {
      worker.once('message', () => resolve());
      worker.postMessage(message);
    }),
    close: () => worker.terminate(),
  };
}

/**
 * What the once-only window costs: the fastest stub boundary (echo-c, direct,
 * in-thread), with the window and without it, runs interleaved; the ceiling
 * is the same runtime without it.
 */
async function onceWindowCost(context: BenchContext, durationMs: number, runs: number): Promise<Figure[]> {
  const catalogue = await echoCatalogue('echo-c');
  const on = echoRuntime('in-thread', 'direct');
  const off = echoRuntime('in-thread', 'direct', undefined, false);
  const figures: Figure[] = [];
  try {
    await Promise.all([on.deployStub(catalogue.origin), off.deployStub(catalogue.origin)]);
    for (const batch of [1, 256]) {
      context.progress(`stub-boundary: once-only window on/off, batch ${batch}: ${runs} runs of ${durationMs} ms each`);
      const [withWindow, without] = [echoDriver(on, [catalogue.domain], batch), echoDriver(off, [catalogue.domain], batch)];
      await ratePerSecond(durationMs, withWindow.round);
      await ratePerSecond(durationMs, without.round);
      const samples: number[] = [];
      const ceiling: number[] = [];
      for (let r = 0; r < runs; r++) {
        samples.push(await ratePerSecond(durationMs, withWindow.round));
        await breathe();
        ceiling.push(await ratePerSecond(durationMs, without.round));
        await breathe();
      }
      withWindow.close();
      without.close();
      figures.push(figure({
        bench: name, name: `echo-c direct in-thread batch ${batch}, once-only window on`, unit: 'msg/s', better: 'higher',
        samples, ceilingName: `the same, window off`, ceilingSamples: ceiling,
      }));
    }
    if (on.errors.length || off.errors.length) throw new Error(`once-only window: the runtime reported ${String(on.errors[0] ?? off.errors[0])}`);
  } finally {
    await Promise.all([on.close(), off.close()]);
    await catalogue.close();
  }
  return figures;
}
