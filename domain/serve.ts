// A whole local domain: the catalogue (descriptors + components over HTTP)
// and its back-end (the embedded MQTT broker unless one is named).
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEmbeddedBroker, type EmbeddedBroker } from './broker.ts';
import { startCatalogue, type Catalogue, type CatalogueEntry } from './catalogue.ts';
import { builtComponent, readStubFolder } from '../kit/stub-folder.ts';

/** The package's built stubs (`mqtt.wasm`, `mqtt-c.wasm`, `nats-rust.wasm`…), where it is installed or cloned. */
export const BUILT_STUBS = fileURLToPath(new URL('../build/stubs/', import.meta.url));

export interface LocalDomain {
  catalogue: Catalogue;
  /** The broker's WebSocket URL. */
  brokerURL: string;
  broker?: EmbeddedBroker;
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
}

export async function serveDomain(options: ServeOptions = {}): Promise<LocalDomain> {
  const broker = options.brokerURL ? undefined : await startEmbeddedBroker({ port: options.brokerPort, users: options.users });
  const brokerURL = options.brokerURL ?? broker!.url;
  const stubs = options.stubsDir ?? BUILT_STUBS;
  try {
    const catalogue = await startCatalogue({
      port: options.port,
      registry: options.registry,
      entries: {
        default: options.stubDir
          ? await folderEntry(options.stubDir, brokerURL)
          : { component: join(stubs, 'mqtt.wasm'), configuration: { url: brokerURL }, connect: [brokerURL] },
        ...options.entries,
      },
    });
    return {
      catalogue,
      brokerURL,
      broker,
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
