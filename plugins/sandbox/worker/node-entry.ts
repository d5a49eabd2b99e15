// The worker's entry in Node (worker_threads).
import { parentPort } from 'node:worker_threads';
import { runWorker, type ParentPort } from './worker-main.ts';

if (parentPort) runWorker(parentPort as unknown as ParentPort);
