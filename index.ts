// protofly for Node: stubs in worker_threads, WebSocket from `ws`, and
// transpiled components kept in a cache directory.
import WebSocket from 'ws';
import { platformRuntime } from './create-runtime.ts';
import { fileCache } from './plugins/sandbox/cache/file-cache.ts';
import { spawnNodeWorker } from './plugins/sandbox/worker/node-spawn.ts';
import type { WebSocketConstructor } from './plugins/transport/plugin.ts';

export const { createRuntime, defaultPlugins } = platformRuntime({
  WebSocket: WebSocket as unknown as WebSocketConstructor,
  spawnWorker: spawnNodeWorker,
  cache: (options) => (options.cacheDir === false ? undefined : fileCache(options.cacheDir)),
});

export * from './api.ts';
