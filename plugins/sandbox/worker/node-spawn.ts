// Spawns a stub worker with Node's worker_threads.
import { Worker } from 'node:worker_threads';
import type { SpawnWorker } from './protocol.ts';

// From dist, the entry is the bundled JavaScript beside this module. Run from
// source (tests, tsx), Node 20 carries no module hooks into a worker, so the
// entry is bundled once per process with esbuild (a dev dependency).
const FROM_SOURCE = import.meta.url.endsWith('.ts');
let entry: Promise<URL> | undefined;

function workerEntry(): Promise<URL> {
  entry ??= FROM_SOURCE ? bundleFromSource() : Promise.resolve(new URL('./stub-worker.js', import.meta.url));
  return entry;
}

async function bundleFromSource(): Promise<URL> {
  const [{ build }, { mkdtemp }, { tmpdir }, { join }, { pathToFileURL }] = await Promise.all([
    import('esbuild'), import('node:fs/promises'), import('node:os'), import('node:path'), import('node:url'),
  ]);
  const outfile = join(await mkdtemp(join(tmpdir(), 'protofly-worker-')), 'stub-worker.mjs');
  await build({
    entryPoints: [new URL('./node-entry.ts', import.meta.url).pathname],
    outfile, bundle: true, format: 'esm', platform: 'node', target: 'node20', logLevel: 'error',
    // `ws` is CommonJS and requires Node's own modules: an ES module bundle
    // needs a `require` for them.
    banner: { js: "import { createRequire as protoflyRequire } from 'node:module'; const require = protoflyRequire(import.meta.url);" },
  });
  return pathToFileURL(outfile);
}

/** Resolves once the entry is ready, so the first deploy does not pay for it twice. */
export async function prepareNodeWorkers(): Promise<void> {
  await workerEntry();
}

export const spawnNodeWorker: SpawnWorker = async ({ maxHeapMiB }) => {
  const worker = new Worker(await workerEntry(), {
    resourceLimits: { maxOldGenerationSizeMb: maxHeapMiB, maxYoungGenerationSizeMb: Math.min(32, maxHeapMiB) },
    // The stub gets the host interface and nothing else: no environment,
    // and none of the host process's flags. A preload such as `--import tsx`
    // would otherwise run again in every worker (≈70 ms each, measured);
    // the entry is a bundle that needs no loader.
    env: {},
    execArgv: [],
    stdout: false,
    stderr: false,
  });
  worker.unref();
  return {
    postMessage: (message, transfer) => worker.postMessage(message, transfer as never),
    onMessage: (listener) => { worker.on('message', listener); },
    onError: (listener) => { worker.on('error', listener); },
    terminate: () => worker.terminate(),
  };
};
