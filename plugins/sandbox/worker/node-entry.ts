// The worker's entry in Node (worker_threads): stubs here may hold their
// own sockets (`ws`, as the runtime's thread uses).
import { parentPort } from 'node:worker_threads';
import WebSocket from 'ws';
import type { WebSocketConstructor } from '../../transport/stub-sockets.ts';
import { runWorker, type ParentPort } from './worker-main.ts';

if (parentPort) runWorker(parentPort as unknown as ParentPort, { WebSocket: WebSocket as unknown as WebSocketConstructor });
