// The worker's entry in a browser (a module Web Worker).
import { runWorker, type ParentPort } from './worker-main.ts';
import type { ToWorker } from './protocol.ts';

const scope = globalThis as unknown as {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  addEventListener(type: 'message', listener: (event: { data: ToWorker }) => void): void;
};

const port: ParentPort = {
  postMessage: (message, transfer) => scope.postMessage(message, transfer ?? []),
  on: (_event, listener) => scope.addEventListener('message', (event) => listener(event.data)),
};
runWorker(port);
