// What every benchmark reports: a figure measured over several runs, next to
// the ceiling it is measured against in the same run, and their ratio. One
// shape for all of them, so the table, the JSON and the smoke test agree.

/** Several runs of one measurement, summarised. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  q1: number;
  q3: number;
  runs: number;
}

/** `higher`: rates (the ratio is the share of the ceiling reached); `lower`: times, sizes (how many times the ceiling). */
export type Better = 'higher' | 'lower';

export interface Figure {
  bench: string;
  name: string;
  unit: string;
  better: Better;
  value: Spread;
  ceiling: { name: string; value: Spread };
  /** value.median / ceiling.median. */
  ratio: number;
  note?: string;
}

export interface BenchContext {
  /** Tiny sizes: proves every benchmark still runs, measures nothing worth reading. */
  smoke: boolean;
  /** One line of progress, on stderr. */
  progress(text: string): void;
}

export interface Benchmark {
  name: string;
  run(context: BenchContext): Promise<Figure[]>;
}

/** Linear interpolation between closest ranks; `sorted` ascending, p in [0, 1]. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const at = (sorted.length - 1) * p;
  const low = Math.floor(at);
  const high = Math.ceil(at);
  return sorted[low] + (sorted[high] - sorted[low]) * (at - low);
}

export function summarize(samples: readonly number[]): Spread {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    median: percentile(sorted, 0.5),
    min: sorted[0] ?? Number.NaN,
    max: sorted[sorted.length - 1] ?? Number.NaN,
    q1: percentile(sorted, 0.25),
    q3: percentile(sorted, 0.75),
    runs: sorted.length,
  };
}

export function figure(parts: {
  bench: string; name: string; unit: string; better: Better;
  samples: readonly number[]; ceilingName: string; ceilingSamples: readonly number[]; note?: string;
}): Figure {
  const value = summarize(parts.samples);
  const ceiling = summarize(parts.ceilingSamples);
  return {
    bench: parts.bench,
    name: parts.name,
    unit: parts.unit,
    better: parts.better,
    value,
    ceiling: { name: parts.ceilingName, value: ceiling },
    ratio: value.median / ceiling.median,
    ...(parts.note ? { note: parts.note } : {}),
  };
}

/**
 * Runs `round` back to back for about `durationMs` and returns units per
 * second; time-boxed rather than count-boxed so slow and fast paths both
 * get a fair sample without a per-path tuning.
 */
export async function ratePerSecond(durationMs: number, round: () => number | Promise<number>): Promise<number> {
  let units = 0;
  const started = performance.now();
  let elapsed = 0;
  do {
    units += await round();
    elapsed = performance.now() - started;
  } while (elapsed < durationMs);
  return (units / elapsed) * 1000;
}

/**
 * Lets timers and I/O run between runs: a closed loop of microtasks (an
 * in-thread stub) starves them, and sockets left unserved for seconds get
 * reset under the next step.
 */
export function breathe(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Milliseconds one call takes. */
export async function timeMs(run: () => unknown): Promise<number> {
  const started = performance.now();
  await run();
  return performance.now() - started;
}

/**
 * Runs `round` until its rate is steady: windows of `windowMs` until one is
 * within 10% of the one before and no faster (the JIT has done its work: a
 * stub's worker starts cold, and its first second runs several times slower
 * than the rest), at least `minMs` and at most `maxMs` in all. Returns how
 * long it took, in ms: worth a note when it is long.
 */
export async function warmUp(round: () => number | Promise<number>, { windowMs = 250, minMs = 500, maxMs = 4_000 } = {}): Promise<number> {
  const started = performance.now();
  let before = await ratePerSecond(windowMs, round);
  for (;;) {
    await breathe();
    const rate = await ratePerSecond(windowMs, round);
    const elapsed = performance.now() - started;
    if (elapsed >= maxMs) return elapsed;
    if (elapsed >= minMs && rate <= before * 1.1 && rate >= before * 0.9) return elapsed;
    before = rate;
  }
}
