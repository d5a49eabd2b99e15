// asc's Node API, run in a worker thread by stubs/toolchain/as.ts: the
// compiler's input comes in workerData, the core module goes back in
// memory, nothing is written to disk.
import { parentPort, workerData } from 'node:worker_threads';
import { WorldExports } from './as-world-exports.ts';

export interface AscJob {
  /** Where assemblyscript/asc resolved for the parent (the worker has no say in it). */
  ascURL: string;
  argv: string[];
}

export interface AscResult {
  core?: Uint8Array;
  /** asc's errors and warnings, as it prints them. */
  diagnostics: string;
  error?: string;
}

type Asc = typeof import('assemblyscript/asc');

async function compile({ ascURL, argv }: AscJob): Promise<AscResult> {
  const asc = (await import(ascURL)) as Asc;
  const outputs = new Map<string, Uint8Array>();
  const stderr = asc.createMemoryStream();
  const { error } = await asc.main(argv, {
    stdout: asc.createMemoryStream(),
    stderr,
    writeFile: (name, contents) => { outputs.set(name.split(/[\\/]/).pop()!, contents as Uint8Array); },
    // asc instantiates a transform class itself (its typings want an instance).
    transforms: [WorldExports as never],
  });
  return { core: outputs.get('core.wasm'), diagnostics: stderr.toString().trim(), error: error?.message };
}

compile(workerData as AscJob).then(
  (result) => parentPort!.postMessage(result),
  (error: unknown) => parentPort!.postMessage({ diagnostics: '', error: error instanceof Error ? error.stack ?? error.message : String(error) }),
);
