// Runs the conformance checks in a worker thread, so that a stub whose call
// never returns (a loop) can be stopped from outside: the checks call into
// the stub synchronously.
import { parentPort, workerData } from 'node:worker_threads';
import { runConformance, type ConformanceOptions } from './run.ts';

const { component, options } = workerData as { component: string; options: ConformanceOptions };
runConformance(component, options).then(
  (report) => parentPort!.postMessage({ report }),
  (error: unknown) => parentPort!.postMessage({ error: error instanceof Error ? { message: error.message, code: (error as { code?: string }).code } : { message: String(error) } }),
);
