// What checking signatures adds to a cold deploy: the same stub served twice,
// unsigned and signed (component and descriptor, as `protofly stub build
// --key` makes them), deployed cold by a runtime that pins nothing and by one
// that pins the domain's key. Per run, both deploys back to back in turns,
// so a slow moment of the machine weighs on both; the ratio is per run.
// Then the signed stub deployed from the disk cache (a new process: memory
// empty, the prepared component and its signer on disk) against its own
// cold deploy of the same run (issue 15: it must not be slower).
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedBroker } from '../domain/broker.ts';
import { startCatalogue, type Catalogue } from '../domain/catalogue.ts';
import { clearComponentCache, createRuntime } from '../index.ts';
import type { StepEvent } from '../kernel/types.ts';
import { generateKeyPair, publicKeyToText } from '../plugins/trust/keys.ts';
import { builtStub } from '../test/helpers/built.ts';
import { breathe, figure, summarize, timeMs, type BenchContext, type Figure } from './stats.ts';

export const name = 'signed-deploy';

/** As bench/deploy.ts: a runtime is up (its spare worker started) before it deploys. */
const UP_MS = 200;

export async function run(context: BenchContext): Promise<Figure[]> {
  const pair = await generateKeyPair();
  const broker = await startEmbeddedBroker();
  const figures: Figure[] = [];
  try {
    for (const [stub, runs] of [['echo-c', 12], ['mqtt-c', 9]] as const) {
      const entry = stub === 'mqtt-c' ? { configuration: { url: broker.url }, connect: [broker.url] } : {};
      const unsigned = await startCatalogue({ entries: { default: { component: builtStub(stub), ...entry } } });
      // Signed as a domain that signs serves it: the component first, then the descriptor naming the signed bytes' hash.
      const signed = await startCatalogue({ entries: { default: { component: builtStub(stub), ...entry } }, sign: pair });
      try {
        figures.push(...await compare(context, stub, context.smoke ? 1 : runs, unsigned, signed, publicKeyToText(pair.publicKey)));
        figures.push(await fromDisk(context, stub, context.smoke ? 1 : runs, signed, publicKeyToText(pair.publicKey)));
      } finally {
        await unsigned.close();
        await signed.close();
      }
    }
  } finally {
    await broker.close();
  }
  return figures;
}

async function compare(context: BenchContext, stub: string, runs: number, unsigned: Catalogue, signed: Catalogue, key: string): Promise<Figure[]> {
  const plain: number[] = [];
  const checked: number[] = [];
  const checks: number[] = [];
  const untimed = context.smoke ? 0 : 1;
  for (let r = -untimed; r < runs; r++) {
    if (r >= 0) context.progress(`signed-deploy: ${stub} run ${r + 1}/${runs}`);
    let plainMs = 0;
    let checkedMs = 0;
    let checkMs = 0;
    const withoutKeys = async () => { plainMs = await coldDeploy(unsigned.origin, {}); };
    const pinned = async () => {
      checkMs = 0;
      checkedMs = await coldDeploy(signed.origin, { keys: { [signed.domain]: [key] } }, (event) => {
        if (event.hook === 'signature' && event.phase === 'end') checkMs += event.ms;
      });
    };
    for (const next of r % 2 === 0 ? [withoutKeys, pinned] : [pinned, withoutKeys]) await next();
    if (r < 0) continue;
    plain.push(plainMs);
    checked.push(checkedMs);
    checks.push(checkMs);
    await breathe();
  }
  const bytes = (await readFile(builtStub(stub))).byteLength;
  const perRun = (values: number[]) => values.map((value, i) => value / plain[i]);
  return [
    figure({
      bench: name, name: `${stub} signed cold deploy / unsigned, per run`, unit: '×', better: 'lower',
      samples: perRun(checked), ceilingName: 'the unsigned cold deploy of the same run', ceilingSamples: plain.map(() => 1),
      note: `${(bytes / 1024).toFixed(0)} KiB component; the key pinned; both in a worker sandbox with empty caches (unsigned median ${summarize(plain).median.toFixed(1)} ms)`,
    }),
    figure({
      bench: name, name: `${stub} signature checks / unsigned cold deploy, per run`, unit: '×', better: 'lower',
      samples: perRun(checks), ceilingName: 'the unsigned cold deploy of the same run', ceilingSamples: plain.map(() => 1),
      note: `the descriptor's and the component's signature sub-steps together (median ${summarize(checks).median.toFixed(2)} ms)`,
    }),
  ];
}

async function fromDisk(context: BenchContext, stub: string, runs: number, signed: Catalogue, key: string): Promise<Figure> {
  const trust = { keys: { [signed.domain]: [key] } };
  const cold: number[] = [];
  const disk: number[] = [];
  let downloads = 0;
  let inline = 0;
  const untimed = context.smoke ? 0 : 1;
  for (let r = -untimed; r < runs; r++) {
    if (r >= 0) context.progress(`signed-deploy: ${stub} from disk, run ${r + 1}/${runs}`);
    // An empty cache directory per run: the cold deploy fills it.
    const cacheDir = await mkdtemp(join(tmpdir(), 'protofly-bench-cache-'));
    try {
      const coldMs = await coldDeploy(signed.origin, trust, undefined, cacheDir);
      // clearComponentCache (in coldDeploy): what a new process starts with.
      const diskMs = await coldDeploy(signed.origin, trust, (event) => {
        if (event.hook === 'download' && event.phase === 'end' && r >= 0) downloads++;
        if (event.hook === 'inline' && event.phase === 'end' && r >= 0) inline++;
      }, cacheDir);
      if (r < 0) continue;
      cold.push(coldMs);
      disk.push(diskMs);
    } finally {
      await rm(cacheDir, { recursive: true, force: true });
    }
    await breathe();
  }
  return figure({
    bench: name, name: `${stub} signed disk-cached deploy / signed cold, per run`, unit: '×', better: 'lower',
    samples: disk.map((value, i) => value / cold[i]), ceilingName: 'the signed cold deploy of the same run', ceilingSamples: cold.map(() => 1),
    note: `the key pinned; memory cleared, the cold deploy's cache directory kept: the first deploy of a new process (${inline ? 'the component is inside its descriptor: checked again, nothing to download' : `${downloads}/${disk.length} downloaded the component again`}; median ${summarize(disk).median.toFixed(1)} against ${summarize(cold).median.toFixed(1)} ms)`,
  });
}

async function coldDeploy(origin: string, trust: { keys?: Record<string, string[]> }, onStep?: (event: StepEvent) => void,
  cacheDir: string | false = false): Promise<number> {
  clearComponentCache();
  const runtime = createRuntime({ cacheDir, trust });
  if (onStep) runtime.hooks.step.tap('bench', onStep);
  await new Promise((resolve) => setTimeout(resolve, UP_MS));
  try {
    return await timeMs(() => runtime.deployStub(origin));
  } finally {
    await runtime.close();
  }
}
