// Scale: 1, 10, 100 echo-c stubs of different domains in one runtime — total
// deploy time, memory per stub, and messages/s with all of them busy — next
// to what one stub does alone (times N for totals) and, for memory, to the
// stub's own linear memory. In-thread, a worker each, and ten to a worker.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Catalogue } from '../domain/catalogue.ts';
import { transpileComponent, compileComponent } from '../plugins/sandbox/component-loader.ts';
import { instantiateComponent } from '../plugins/sandbox/component-instance.ts';
import { readFile } from 'node:fs/promises';
import { builtStub } from '../test/helpers/built.ts';
import { breathe, figure, ratePerSecond, summarize, timeMs, type BenchContext, type Figure } from './stats.ts';
import { echoCatalogue, echoDriver, echoRuntime, type SANDBOXES } from './stub-boundary.ts';

export const name = 'scale';

const PER_STUB = 16;
const KiB = 1024;

// `--expose-gc` when given; otherwise V8 is asked for it at run time, so the
// bench script needs no extra node flag.
function collector(): () => void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed) return exposed;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

interface Sample { deployMs: number; rssKiB: number; heapKiB: number; rate: number }

const SHARED = 10;
const PLACES: Record<string, { kind: (typeof SANDBOXES)[number]; stubsPerWorker?: number }> = {
  'in-thread': { kind: 'in-thread' },
  worker: { kind: 'worker' },
  [`${SHARED} per worker`]: { kind: 'worker', stubsPerWorker: SHARED },
};

export async function run(context: BenchContext): Promise<Figure[]> {
  const counts: Record<keyof typeof PLACES, number[]> = context.smoke
    ? { 'in-thread': [1, 3], worker: [1, 2], [`${SHARED} per worker`]: [1, 3] }
    : { 'in-thread': [1, 10, 100], worker: [1, 10, 30], [`${SHARED} per worker`]: [1, 10, 100] };
  const runs = context.smoke ? 1 : 3;
  const durationMs = context.smoke ? 30 : 300;
  const gc = collector();
  const linearKiB = await linearMemoryKiB();

  // One deploy first, so every measured one finds the component compiled:
  // the figures are about N stubs, not about one compile.
  const warmCatalogue = await echoCatalogue('echo-c');
  const warmRuntime = echoRuntime('in-thread');
  await warmRuntime.deployStub(warmCatalogue.origin);
  await warmRuntime.close();
  await warmCatalogue.close();

  const figures: Figure[] = [];
  for (const place of Object.keys(PLACES)) {
    const byCount = new Map<number, Sample[]>();
    for (const count of counts[place]) {
      const samples: Sample[] = [];
      for (let r = 0; r < runs; r++) {
        context.progress(`scale: ${count} × echo-c ${place}, run ${r + 1}/${runs}`);
        samples.push(await once(place, count, durationMs, gc));
        await breathe();
      }
      byCount.set(count, samples);
    }
    const one = byCount.get(1)!;
    const oneDeploy = summarize(one.map((s) => s.deployMs)).median;
    const oneRate = one.map((s) => s.rate);
    for (const [count, samples] of byCount) {
      const label = `${count} × ${place}`;
      figures.push(
        figure({
          bench: name, name: `${label}: deploy all`, unit: 'ms', better: 'lower',
          samples: samples.map((s) => s.deployMs), ceilingName: `${count} × one deploy alone`,
          ceilingSamples: one.map((s) => s.deployMs * count),
          note: count === 1 ? `concurrent deploys, compiled component cached; one deploy alone: ${oneDeploy.toFixed(1)} ms` : undefined,
        }),
        figure({
          bench: name, name: `${label}: RSS per stub`, unit: 'KiB', better: 'lower',
          samples: samples.map((s) => s.rssKiB), ceilingName: 'the stub\'s linear memory', ceilingSamples: [linearKiB],
          note: count === 1 ? 'process RSS with the stubs deployed and after echoing − before, after a gc, ÷ N (includes worker isolates)' : undefined,
        }),
        figure({
          bench: name, name: `${label}: heap per stub`, unit: 'KiB', better: 'lower',
          samples: samples.map((s) => s.heapKiB), ceilingName: 'the stub\'s linear memory', ceilingSamples: [linearKiB],
          note: count === 1 ? 'main thread heapUsed, measured the same way (worker heaps are not in it)' : undefined,
        }),
        figure({
          bench: name, name: `${label}: echo, all busy`, unit: 'msg/s', better: 'higher',
          samples: samples.map((s) => s.rate), ceilingName: 'one stub alone', ceilingSamples: oneRate,
          note: count === 1 ? `${PER_STUB} messages per stub per round, round-robin, closed loop` : undefined,
        }),
      );
    }
  }
  return figures;
}

async function once(place: keyof typeof PLACES, count: number, durationMs: number, gc: () => void): Promise<Sample> {
  // One catalogue per domain: a domain is its origin's host:port.
  const catalogues: Catalogue[] = [];
  try {
    for (let i = 0; i < count; i++) catalogues.push(await echoCatalogue('echo-c'));
    const runtime = echoRuntime(PLACES[place].kind, 'direct', PLACES[place].stubsPerWorker);
    try {
      // A runtime keeps a spare worker, started with it and replaced when a
      // stub takes it: the runtime's cost, not its stubs', so it is running
      // (and up: a worker starts in well under this) in both measurements.
      if (PLACES[place].kind === 'worker') await new Promise((resolve) => setTimeout(resolve, 300));
      await settle(gc);
      const before = process.memoryUsage();
      const deployMs = await timeMs(() => Promise.all(catalogues.map((c) => runtime.deployStub(c.origin))));
      const driver = echoDriver(runtime, catalogues.map((c) => c.domain), PER_STUB);
      await ratePerSecond(durationMs / 3, driver.round); // warm-up
      const rate = await ratePerSecond(durationMs, driver.round);
      driver.close();
      // Measured once the stubs have worked: a linear memory's pages count
      // in the RSS only once touched, and a working stub touches them.
      await settle(gc);
      const after = process.memoryUsage();
      if (runtime.errors.length) throw new Error(`${count} × ${place}: the runtime reported ${String(runtime.errors[0])}`);
      return {
        deployMs,
        rssKiB: (after.rss - before.rss) / count / KiB,
        heapKiB: (after.heapUsed - before.heapUsed) / count / KiB,
        rate,
      };
    } finally {
      await runtime.close();
    }
  } finally {
    await Promise.allSettled(catalogues.map((c) => c.close()));
  }
}

// Two collections around a turn: the first one's finalizers free more.
async function settle(gc: () => void): Promise<void> {
  gc();
  await breathe();
  gc();
}

// The least a stub instance can take: its linear memories as instantiated.
async function linearMemoryKiB(): Promise<number> {
  const prepared = await compileComponent(await transpileComponent(await readFile(builtStub('echo-c'))), 65_536);
  const ignore = () => {};
  const { memories } = await instantiateComponent(prepared, {
    post: ignore, open: () => 0, send: ignore, close: ignore, setTimer: () => 0, clearTimer: ignore, log: ignore,
  });
  return memories.reduce((sum, m) => sum + m.buffer.byteLength, 0) / KiB;
}
