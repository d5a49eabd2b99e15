// protofly for web pages: stubs in Web Workers, the page's WebSocket,
// components transpiled in the page and kept in IndexedDB.
import { platformRuntime } from './create-runtime.ts';
import { indexedDbCache } from './plugins/sandbox/cache/indexeddb-cache.ts';
import { transpileInBrowser } from './plugins/sandbox/browser-transpile.ts';
import { spawnBrowserWorker } from './plugins/sandbox/worker/browser-spawn.ts';
import { indexedDbKeyStore } from './plugins/trust/key-store-indexeddb.ts';
import type { WebSocketConstructor } from './plugins/transport/plugin.ts';

export const { createRuntime, defaultPlugins } = platformRuntime({
  WebSocket: globalThis.WebSocket as unknown as WebSocketConstructor,
  spawnWorker: spawnBrowserWorker,
  cache: (options) => (options.cacheDir === false || typeof indexedDB === 'undefined' ? undefined : indexedDbCache()),
  transpile: transpileInBrowser,
  keyStore: (name) => indexedDbKeyStore(name),
});

export * from './api.ts';
