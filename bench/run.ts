// `npm run bench [-- --smoke] [-- --json] [-- --only=a,b]`: runs the
// benchmarks one after another in this process, progress on stderr, then the
// table (or, with --json, one JSON object) on stdout.
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { prepareNodeWorkers } from '../plugins/sandbox/worker/node-spawn.ts';
import * as brokerE2e from './broker-e2e.ts';
import * as busRouting from './bus-routing.ts';
import * as deploy from './deploy.ts';
import * as exportCall from './export-call.ts';
import * as recovery from './recovery.ts';
import * as scale from './scale.ts';
import * as signedDeploy from './signed-deploy.ts';
import type { BenchContext, Benchmark, Figure } from './stats.ts';
import * as stubBoundary from './stub-boundary.ts';
import { renderTable } from './table.ts';

const BENCHMARKS: Benchmark[] = [busRouting, exportCall, stubBoundary, brokerE2e, recovery, deploy, signedDeploy, scale];

interface Args { smoke: boolean; json: boolean; only: string[] }

function parseArgs(argv: string[]): Args {
  const args: Args = { smoke: false, json: false, only: [] };
  for (const arg of argv) {
    if (arg === '--smoke') args.smoke = true;
    else if (arg === '--json') args.json = true;
    else if (arg.startsWith('--only=')) args.only = arg.slice('--only='.length).split(',').filter(Boolean);
    else throw new Error(`unknown argument ${arg} (use --smoke, --json, --only=${BENCHMARKS.map((b) => b.name).join(',')})`);
  }
  const unknown = args.only.filter((n) => !BENCHMARKS.some((b) => b.name === n));
  if (unknown.length) throw new Error(`no benchmark named ${unknown.join(', ')}`);
  return args;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const started = performance.now();
  // Other work on the machine skews every figure: the reader should know.
  const loadBefore = loadavg()[0];
  const elapsed = () => ((performance.now() - started) / 1000).toFixed(1);
  const context: BenchContext = {
    smoke: args.smoke,
    progress: (text) => process.stderr.write(`[${elapsed()}s] ${text}\n`),
  };
  // Run from source, the first worker bundles its entry with esbuild; the
  // shipped package has it prebuilt, so no figure should carry that cost.
  await prepareNodeWorkers();

  const figures: Figure[] = [];
  const failures: Array<{ bench: string; error: string }> = [];
  for (const bench of BENCHMARKS) {
    if (args.only.length && !args.only.includes(bench.name)) continue;
    context.progress(`${bench.name}: start`);
    try {
      figures.push(...await bench.run(context));
    } catch (error) {
      const text = error instanceof Error ? error.stack ?? error.message : String(error);
      failures.push({ bench: bench.name, error: text });
      context.progress(`${bench.name}: FAILED ${text}`);
    }
  }
  const totalSeconds = (performance.now() - started) / 1000;
  context.progress(`done in ${totalSeconds.toFixed(1)} s`);

  const machine = {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    loadAverage: { before: loadBefore, after: loadavg()[0] },
  };
  if (args.json) {
    process.stdout.write(`${JSON.stringify({ mode: args.smoke ? 'smoke' : 'full', machine, totalSeconds, figures, failures }, null, 2)}\n`);
  } else {
    process.stdout.write(`protofly bench (${args.smoke ? 'smoke' : 'full'}) — node ${machine.node}, ${machine.cpus} cpus (${machine.cpuModel}), ${totalSeconds.toFixed(0)} s, load average ${loadBefore.toFixed(1)} → ${machine.loadAverage.after.toFixed(1)}\n\n`);
    process.stdout.write(`${renderTable(figures)}\n`);
    for (const f of failures) process.stdout.write(`\nFAILED ${f.bench}: ${f.error}\n`);
  }
  if (failures.length) process.exitCode = 1;
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 2;
});
