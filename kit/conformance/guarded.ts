// The conformance checks with a deadline: in a worker thread, terminated if
// the stub never lets them finish.
import { Worker } from 'node:worker_threads';
import { ProtoflyError, type ErrorCode } from '../../kernel/errors.ts';
import type { ConformanceOptions, ConformanceReport } from './types.ts';

// Run from source (tests, tsx), the worker registers tsx itself: Node 20
// carries no module hooks into a worker. From dist, the bundled entry.
const FROM_SOURCE = import.meta.url.endsWith('.ts');

function entry(): URL | string {
  if (!FROM_SOURCE) return new URL('./conformance-worker.js', import.meta.url);
  const source = new URL('./worker-entry.ts', import.meta.url).href;
  return `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then(({ register }) => { register(); return import(${JSON.stringify(source)}); })`;
}

export function runConformanceGuarded(component: string, options: ConformanceOptions, timeoutMs: number): Promise<ConformanceReport> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(entry(), { eval: FROM_SOURCE, workerData: { component, options } });
    const timer = setTimeout(() => {
      void worker.terminate();
      resolve({
        component,
        ok: false,
        checks: [{
          name: 'completes',
          ok: false,
          detail: `the checks did not finish within ${timeoutMs / 1000} s: a call into the stub never returned (a loop?)`,
        }],
      });
    }, timeoutMs);
    worker.once('message', (message: { report?: ConformanceReport; error?: { message: string; code?: string } }) => {
      clearTimeout(timer);
      void worker.terminate();
      if (message.report) resolve(message.report);
      else reject(new ProtoflyError((message.error?.code ?? 'PF_ERR_KIT_USAGE') as ErrorCode, message.error?.message ?? 'conformance failed'));
    });
    worker.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}
