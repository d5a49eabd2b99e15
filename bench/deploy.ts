// Deploy: a cold deploy (nothing transpiled or compiled, in memory or on
// disk) step by step, one from the disk cache (a new process: memory empty),
// and a warm one (a second runtime, the same component: the process-wide
// compiled cache), next to what no deploy can avoid — compiling the
// component's core modules and one HTTP round trip to the same catalogue.
//
// Each in a runtime of its own that is up (its spare worker started, see
// plugins/sandbox/worker/spare-workers.ts), as an application's is when it
// deploys; one more row shows a deploy that comes with its runtime. On a
// busy 2-core machine a figure moves with whatever else runs, so each run
// does all three back to back (disk-cached and warm in turns, after the
// cold one that fills the cache) and the ratios to cold come per run.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { startCatalogue } from '../domain/catalogue.ts';
import { LOCAL_STUBS, serveDomain } from '../domain/serve.ts';
import { clearComponentCache, clearDirectCache, createRuntime } from '../index.ts';
import { INLINE_SOURCE } from '../kernel/schemas.ts';
import { isSignatureWarning } from '../plugins/trust/plugin.ts';
import type { StepEvent, StepTiming } from '../kernel/types.ts';
import { transpileComponent } from '../plugins/sandbox/component-loader.ts';
import { builtStub } from '../test/helpers/built.ts';
import { breathe, figure, summarize, timeMs, type BenchContext, type Figure } from './stats.ts';

export const name = 'deploy';

/**
 * How long a runtime is up before it deploys: its spare worker starts with
 * it (≈45 ms alone here, up to ≈90 ms when the machine is busy).
 */
const UP_MS = 200;

/** Steps with a ceiling of their own; the rest are bookkeeping, reported together. */
const OWN_CEILING = new Set(['fetchDescriptor', 'loadSource', 'instantiate']);

interface Served {
  origin: string;
  brokerURL?: string;
  close(): Promise<void>;
}

/** `file`: the component's name where the catalogue serves it (`/stubs/<file>`). */
const STUBS: Array<{ stub: string; file: string; runs: number; serve(): Promise<Served> }> = [
  {
    stub: 'echo-c',
    file: 'echo-c.wasm',
    runs: 12,
    serve: () => startCatalogue({ entries: { default: { component: builtStub('echo-c') } } }),
  },
  // The local domain's default, then the TypeScript one beside it.
  ...(['mqtt-c', 'mqtt-ts'] as const).map((stub) => ({
    stub,
    file: LOCAL_STUBS[stub].file,
    // Each run of mqtt-ts moves its 12 MiB component about (download, hash, disk, compile): fewer.
    runs: stub === 'mqtt-c' ? 9 : 5,
    serve: async (): Promise<Served> => {
      const domain = await serveDomain({ stub });
      return { origin: domain.catalogue.origin, brokerURL: domain.brokerURL, close: () => domain.close() };
    },
  })),
];

export async function run(context: BenchContext): Promise<Figure[]> {
  const figures: Figure[] = [];
  for (const { stub, file, runs: fullRuns, serve } of STUBS) {
    const runs = context.smoke ? 1 : fullRuns;
    const served = await serve();
    try {
      figures.push(...await deployRuns(context, stub, file, runs, served));
    } finally {
      await served.close();
    }
  }
  return figures;
}

async function deployRuns(context: BenchContext, stub: string, file: string, runs: number, served: Served): Promise<Figure[]> {
  const descriptorURL = `${served.origin}/.well-known/protocolstub/default`;
  const descriptor = await (await fetch(descriptorURL)).json() as { sourcePackageURL: string };
  // Small components come inside the descriptor; the catalogue serves them
  // by URL too, which the raw-GET ceiling uses.
  const inline = descriptor.sourcePackageURL === INLINE_SOURCE;
  const sourceURL = new URL(inline ? `/stubs/${file}` : descriptor.sourcePackageURL, descriptorURL).href;
  // The ceiling's core modules, got the way the sandbox gets them; the
  // transpile itself is part of the deploy's cost, not of the ceiling.
  const got = await fetch(sourceURL);
  if (!got.ok) throw new Error(`deploy bench: ${sourceURL} answered ${got.status}`);
  const bytes = new Uint8Array(await got.arrayBuffer());
  let transpiled: Awaited<ReturnType<typeof transpileComponent>> | undefined;
  const transpileMs = await timeMs(async () => { transpiled = await transpileComponent(bytes); });
  const cores = Object.values(transpiled!.cores);

  const cold: StepTiming[][] = [];
  const warm: StepTiming[][] = [];
  const coldTotal: number[] = [];
  const diskTotal: number[] = [];
  const warmTotal: number[] = [];
  const withRuntimeTotal: number[] = [];
  const coldInThread: number[] = [];
  /** Sub-steps of the cold deploys (`instantiate/transpile`…), summed per run. */
  const coldSub = new Map<string, number[]>();
  const ceiling = { rtt: [] as number[], source: [] as number[], compile: [] as number[], connect: [] as number[] };
  // One untimed run first: the runtime's own code compiled by the JIT, as
  // in a process that has deployed before.
  const untimedRuns = context.smoke ? 0 : 1;
  for (let r = -untimedRuns; r < runs; r++) {
    const timed = r >= 0;
    if (timed) context.progress(`deploy: ${stub} run ${r + 1}/${runs}`);
    // An empty cache directory per run: the disk cache must not make cold warm.
    const cacheDir = await mkdtemp(join(tmpdir(), 'protofly-bench-cache-'));
    try {
      forgetCompiled();
      const sub = new Map<string, number>();
      const coldSteps: StepTiming[][] = [];
      const coldMs = await deployOnce(stub, served.origin, cacheDir, coldSteps, (e) => {
        if (e.parent && e.phase === 'end') sub.set(`${e.parent}/${e.hook}`, (sub.get(`${e.parent}/${e.hook}`) ?? 0) + e.ms);
      });
      // In turns, so neither always comes right after the cold deploy.
      let diskMs = 0;
      let warmMs = 0;
      const warmSteps: StepTiming[][] = [];
      const disk = async () => { forgetCompiled(); diskMs = await deployOnce(stub, served.origin, cacheDir, []); };
      const warmed = async () => { warmMs = await deployOnce(stub, served.origin, cacheDir, warmSteps); };
      for (const next of r % 2 === 0 ? [disk, warmed] : [warmed, disk]) await next();
      const withRuntimeMs = await deployOnce(stub, served.origin, cacheDir, [], undefined, 'worker', 0);
      if (timed) {
        coldTotal.push(coldMs);
        diskTotal.push(diskMs);
        warmTotal.push(warmMs);
        withRuntimeTotal.push(withRuntimeMs);
        cold.push(...coldSteps);
        warm.push(...warmSteps);
        for (const [key, ms] of sub) coldSub.set(key, [...(coldSub.get(key) ?? []), ms]);
      }
    } finally {
      await rm(cacheDir, { recursive: true, force: true });
    }
    if (!timed) continue;
    ceiling.rtt.push(await timeMs(async () => (await fetch(descriptorURL)).text()));
    ceiling.source.push(await timeMs(async () => (await fetch(sourceURL)).arrayBuffer()));
    ceiling.compile.push(await timeMs(async () => { for (const core of cores) await WebAssembly.compile(core as Uint8Array<ArrayBuffer>); }));
    if (served.brokerURL) {
      ceiling.connect.push(await timeMs(async () => {
        const client = await mqtt.connectAsync(served.brokerURL!, { protocolVersion: 4, reconnectPeriod: 0 });
        await client.endAsync();
      }));
    }
    await breathe();
  }

  // The same cold deploy without a worker to start: what the path itself
  // costs. Each run clears the caches; untimed ones first, so the runtime's
  // own code is compiled by the JIT as in a runtime that has deployed
  // stubs before. Each run has its ceiling measured right after it.
  const inThreadCeiling: number[] = [];
  const inThreadRuns = context.smoke ? 1 : runs * 6;
  const untimed = context.smoke ? 0 : 20;
  for (let r = -untimed; r < inThreadRuns; r++) {
    if (r === 0) context.progress(`deploy: ${stub} in-thread, ${inThreadRuns} runs`);
    forgetCompiled();
    const ms = await deployOnce(stub, served.origin, false, [], undefined, 'in-thread', 0);
    const rtt = await timeMs(async () => (await fetch(descriptorURL)).text());
    const compile = await timeMs(async () => { for (const core of cores) await WebAssembly.compile(core as Uint8Array<ArrayBuffer>); });
    if (r < 0) continue;
    coldInThread.push(ms);
    inThreadCeiling.push(rtt + compile);
    await breathe();
  }

  const stepMs = (all: StepTiming[][], pick: (hook: string) => boolean) =>
    all.map((steps) => steps.filter((s) => pick(s.hook)).reduce((sum, s) => sum + s.ms, 0));
  const base = ceiling.compile.map((ms, i) => ms + ceiling.rtt[i]);
  const liveHasCeiling = ceiling.connect.length > 0;
  const bookkeeping = (hook: string) => !OWN_CEILING.has(hook) && !(liveHasCeiling && hook === 'live');
  const ms = (label: string, samples: number[], ceilingName: string, ceilingSamples: number[], note?: string) => figure({
    bench: name, name: `${stub} ${label}`, unit: 'ms', better: 'lower', samples, ceilingName, ceilingSamples, note,
  });
  // Paired within each run, so a slow moment of the machine weighs on both.
  const perRun = (label: string, samples: number[], note: string) => figure({
    bench: name, name: `${stub} ${label} / cold, per run`, unit: '×', better: 'lower',
    samples: samples.map((value, i) => value / coldTotal[i]), ceilingName: 'the cold deploy of the same run', ceilingSamples: samples.map(() => 1), note,
  });
  const substeps = [...coldSub.keys()].filter((k) => k.startsWith('instantiate/'))
    .map((k) => `${k.slice('instantiate/'.length)} ${summarize(coldSub.get(k)!).median.toFixed(1)} ms`).join(' + ');
  const figures = [
    ms('cold deploy, total', coldTotal, 'compile + HTTP round trip', base,
      `worker sandbox, empty caches; ${(bytes.byteLength / 1024).toFixed(0)} KiB component${inline ? ' inside its descriptor (one request)' : ''}, jco transpile alone (outside any deploy, once) ${transpileMs.toFixed(0)} ms`),
    ms('cold deploy in-thread, total', coldInThread, 'compile + HTTP round trip', inThreadCeiling,
      `the same, in the runtime's thread: no worker to start (${coldInThread.length} runs, after ${untimed} untimed)`),
    ms('cold fetchDescriptor', stepMs(cold, (h) => h === 'fetchDescriptor'), 'HTTP round trip', ceiling.rtt),
    ms('cold loadSource', stepMs(cold, (h) => h === 'loadSource'), 'raw HTTP GET of the source', ceiling.source,
      inline ? 'the source came inside the descriptor: decoded and hashed, not fetched' : undefined),
    ms('cold instantiate', stepMs(cold, (h) => h === 'instantiate'), 'WebAssembly.compile of the cores', ceiling.compile,
      `${substeps || 'no sub-steps'} + the stub started in its worker (started ahead) and init (medians)`),
    ms('cold other steps', stepMs(cold, bookkeeping), 'HTTP round trip', ceiling.rtt,
      `the sum of ${[...new Set(cold.flat().map((s) => s.hook))].filter(bookkeeping).join(', ')}`),
    ms('disk-cached deploy, total', diskTotal, 'compile + HTTP round trip', base,
      `memory cache cleared, ${inline ? 'nothing read from disk (a component inside its descriptor is checked again, which is cheaper)' : 'prepared component on disk'}: the first deploy of a new process`),
    ms('warm deploy, total', warmTotal, 'compile + HTTP round trip', base, 'second runtime, compiled component cached'),
    perRun('disk-cached', diskTotal, 'median of disk-cached ÷ cold, each pair from one run'),
    perRun('warm', warmTotal, 'median of warm ÷ cold, each pair from one run'),
    ms('warm deploy with a new runtime, total', withRuntimeTotal, 'compile + HTTP round trip', base,
      'the runtime created just before: its deploy waits for the worker that started with it (the descriptor fetched meanwhile)'),
    ms('warm instantiate', stepMs(warm, (h) => h === 'instantiate'), 'WebAssembly.compile of the cores', ceiling.compile,
      'the stub started in its worker (started ahead): instantiate + init'),
  ];
  // The compile sub-step, whichever path (jco's or the direct one) reported it.
  const compile = coldSub.get('instantiate/compile');
  if (compile?.length === runs) {
    figures.splice(4, 0, ms('cold instantiate: compile', compile, 'WebAssembly.compile of the cores', ceiling.compile,
      'the sandbox also caps every memory first; on the direct path, what is left to wait for once the component is checked (a small core compiles then, in this thread; a large one starts compiling alongside the check)'));
  }
  if (liveHasCeiling) {
    figures.splice(figures.findIndex((f) => f.name.endsWith('disk-cached deploy, total')), 0, ms('cold live', stepMs(cold, (h) => h === 'live'), 'raw mqtt connect + CONNACK', ceiling.connect,
      'from instantiated to LIVE: the stub opens its WebSocket and logs in'));
  }
  return figures;
}

// Both process-wide caches: the jco path's and the direct path's.
function forgetCompiled(): void {
  clearComponentCache();
  clearDirectCache();
}

async function deployOnce(stub: string, origin: string, cacheDir: string | false, steps: StepTiming[][],
  onStep?: (event: StepEvent) => void, kind: 'worker' | 'in-thread' = 'worker', upMs = UP_MS): Promise<number> {
  const runtime = createRuntime({ cacheDir, sandbox: { kind } });
  if (upMs > 0) await new Promise((resolve) => setTimeout(resolve, upMs));
  const errors: unknown[] = [];
  // An unsigned stub's warning (plugins/trust) is not a failure of the deploy.
  runtime.hooks.error.tap('bench', (error) => { if (!isSignatureWarning(error)) errors.push(error); });
  if (onStep) runtime.hooks.step.tap('bench', onStep);
  try {
    let deployed: StepTiming[] | undefined;
    const ms = await timeMs(async () => { deployed = (await runtime.deployStub(origin)).deploySteps; });
    steps.push(deployed ?? []);
    if (errors.length) throw new Error(`${stub}: the runtime reported ${String(errors[0])}`);
    return ms;
  } finally {
    await runtime.close();
  }
}
