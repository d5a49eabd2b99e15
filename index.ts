// protofly for Node: stubs in worker_threads, WebSocket from `ws`, and
// transpiled components kept in a cache directory.
import WebSocket from 'ws';
import { platformRuntime } from './create-runtime.ts';
import { fileCache } from './plugins/sandbox/cache/file-cache.ts';
import { useNativeChecks } from './plugins/trust/ed25519.ts';
import { nodeChecks } from './plugins/trust/ed25519-node.ts';
import { fileKeyStore } from './plugins/trust/key-store-file.ts';
import { sha256IntegrityNode } from './plugins/sandbox/integrity-node.ts';
import { spawnNodeWorker } from './plugins/sandbox/worker/node-spawn.ts';
import type { WebSocketConstructor } from './plugins/transport/plugin.ts';

useNativeChecks(nodeChecks);

export const { createRuntime, defaultPlugins } = platformRuntime({
  WebSocket: WebSocket as unknown as WebSocketConstructor,
  spawnWorker: spawnNodeWorker,
  // Its workers bundle `ws` (worker/node-entry.ts).
  socketsInWorker: true,
  cache: (options) => (options.cacheDir === false ? undefined : fileCache(options.cacheDir)),
  integrity: sha256IntegrityNode,
  keyStore: (file) => fileKeyStore(file),
});

export * from './api.ts';

// A local domain to deploy from (Node only): catalogue, embedded broker.
export { serveDomain, BUILT_STUBS, LOCAL_STUBS, type LocalDomain, type LocalStubName, type ServeOptions } from './domain/serve.ts';
export { startCatalogue, type Catalogue, type CatalogueEntry } from './domain/catalogue.ts';
export { startEmbeddedBroker, type EmbeddedBroker } from './domain/broker.ts';
