// A whole local domain: the catalogue (descriptors + components over HTTP)
// and its back-end (the embedded MQTT broker unless one is named).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEmbeddedBroker, type EmbeddedBroker } from './broker.ts';
import { startCatalogue, type Catalogue, type CatalogueEntry, type CatalogueOptions } from './catalogue.ts';
import { builtComponent, readStubFolder } from '../kit/stub-folder.ts';
import { OPENMETRICS_CONTENT_TYPE } from '../plugins/metrics/openmetrics.ts';
import type { KeyPair } from '../plugins/trust/keys.ts';

/** The package's built stubs (`mqtt.wasm`, `mqtt-c.wasm`, `nats-rust.wasm`…), where it is installed or cloned. */
export const BUILT_STUBS = fileURLToPath(new URL('../build/stubs/', import.meta.url));

/**
 * The MQTT stubs a local domain serves, each under its own descriptor name.
 * The C one is the `default`: it carries messages as fast as a raw MQTT
 * client (the bench's broker-e2e), the TypeScript one at a fraction of that.
 */
export const LOCAL_STUBS = {
  'mqtt-c': { file: 'mqtt-c.wasm', language: 'C' },
  'mqtt-ts': { file: 'mqtt.wasm', language: 'TypeScript' },
} as const;
export type LocalStubName = keyof typeof LOCAL_STUBS;
export const DEFAULT_LOCAL_STUB: LocalStubName = 'mqtt-c';

export interface LocalDomain {
  catalogue: Catalogue;
  /** The broker's WebSocket URL. */
  brokerURL: string;
  broker?: EmbeddedBroker;
  /** The domain's public key, `ed25519:<base64>`, when it signs its stubs: what runtimes pin for `catalogue.domain`. */
  publicKey?: string;
  close(): Promise<void>;
}

export interface ServeOptions {
  port?: number;
  /** An existing broker's WebSocket URL; the embedded one otherwise. */
  brokerURL?: string;
  brokerPort?: number;
  /** Broker logins (username → password); open broker when absent. */
  users?: Record<string, string>;
  /** Folder of built components (`build/stubs`). */
  stubsDir?: string;
  /** Extra or replacement descriptors, by name. */
  entries?: Record<string, CatalogueEntry>;
  registry?: boolean;
  /** A stub folder (`protofly stub new`, then `stub build`): its component is the domain's default stub. */
  stubDir?: string;
  /** Which of LOCAL_STUBS is the domain's `default` (`mqtt-c` unless asked). */
  stub?: LocalStubName;
  /** The domain's key pair (`parseKeyPair` of a `protofly stub keygen` file): its stubs and descriptors are served signed. */
  sign?: KeyPair;
  /**
   * What `GET /metrics` answers, as OpenMetrics text: the metrics of a
   * runtime the serving process runs (`runtime.metrics({ format: 'openmetrics' })`).
   * No `/metrics` when absent, or while it returns undefined.
   */
  metrics?: () => string | undefined;
}

export const METRICS_PATH = '/metrics';

export async function serveDomain(options: ServeOptions = {}): Promise<LocalDomain> {
  const broker = options.brokerURL ? undefined : await startEmbeddedBroker({ port: options.brokerPort, users: options.users });
  const brokerURL = options.brokerURL ?? broker!.url;
  try {
    const catalogue = await startCatalogue({
      port: options.port,
      registry: options.registry,
      sign: options.sign,
      extra: options.metrics && metricsEndpoint(options.metrics),
      entries: {
        ...await localStubEntries(options.stubsDir ?? BUILT_STUBS, brokerURL, options.stub ?? DEFAULT_LOCAL_STUB),
        ...(options.stubDir ? { default: await folderEntry(options.stubDir, brokerURL) } : {}),
        ...options.entries,
      },
    });
    return {
      catalogue,
      brokerURL,
      broker,
      publicKey: catalogue.publicKey,
      async close() {
        await catalogue.close();
        await broker?.close();
      },
    };
  } catch (error) {
    await broker?.close();
    throw error;
  }
}

// Every local MQTT stub that is built, under its own name, and the chosen one
// again as `default`; the default must be there, the others may be missing
// (`npm start` builds only what the demo runs).
async function localStubEntries(dir: string, brokerURL: string, chosen: LocalStubName): Promise<Record<string, CatalogueEntry>> {
  if (!Object.hasOwn(LOCAL_STUBS, chosen)) throw new Error(`no local stub "${chosen}" (${Object.keys(LOCAL_STUBS).join(', ')})`);
  const entries: Record<string, CatalogueEntry> = {};
  for (const [name, { file }] of Object.entries(LOCAL_STUBS)) {
    const component = join(dir, file);
    if (!existsSync(component)) {
      if (name === chosen) throw new Error(`the ${name} stub is not built at ${component}: npm run build:stubs -- ${file.replace(/\.wasm$/, '')}`);
      continue;
    }
    entries[name] = { component, name, configuration: { url: brokerURL }, connect: [brokerURL] };
  }
  entries.default = entries[chosen];
  return entries;
}

// The folder's stub, pointed at this domain's back-end the way the repo's
// stubs expect (`configuration.url`, allowed by `connect`); what its
// stub.json says comes on top.
async function folderEntry(dir: string, brokerURL: string): Promise<CatalogueEntry> {
  const folder = await readStubFolder(dir);
  await builtComponent(folder);  // a clear error now rather than a missing file later
  const { manifest } = folder;
  return {
    component: folder.componentPath,
    // The stub's own name, as `protofly stub build` printed it (the
    // catalogue would otherwise name it after the URI, `default`).
    name: manifest.name,
    version: manifest.version,
    configuration: { url: brokerURL, ...manifest.configuration },
    connect: [...new Set([...(manifest.connect ?? []), brokerURL])],
  };
}

// What a Prometheus scrape reads (README, "Metrics").
function metricsEndpoint(metrics: () => string | undefined): NonNullable<CatalogueOptions['extra']> {
  return (path, req, res) => {
    if (path !== METRICS_PATH || (req.method !== 'GET' && req.method !== 'HEAD')) return false;
    const text = metrics();
    if (text === undefined) return false;
    res.writeHead(200, { 'content-type': OPENMETRICS_CONTENT_TYPE, 'cache-control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : text);
    return true;
  };
}
