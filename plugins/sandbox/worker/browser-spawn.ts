// Spawns a stub worker in a browser: a module Web Worker from the same
// origin as the protofly bundle (CSP: `worker-src 'self'`).
import type { SpawnWorker } from './protocol.ts';

const ENTRY = new URL('./stub-worker.js', import.meta.url);

export const spawnBrowserWorker: SpawnWorker = () => {
  const worker = new Worker(ENTRY, { type: 'module', name: 'protofly-stub' });
  return {
    postMessage: (message, transfer) => worker.postMessage(message, transfer ?? []),
    onMessage: (listener) => worker.addEventListener('message', (event) => listener(event.data)),
    onError: (listener) => worker.addEventListener('error', (event) => {
      event.preventDefault();
      listener(new Error(event.message || 'the worker failed'));
    }),
    terminate: () => worker.terminate(),
  };
};
