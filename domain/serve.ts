// A whole local domain: the catalogue (descriptors + components over HTTP)
// and its back-end (the embedded MQTT broker unless one is named).
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEmbeddedBroker, type EmbeddedBroker } from './broker.ts';
import { startCatalogue, type Catalogue, type CatalogueEntry } from './catalogue.ts';

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
        default: { component: join(stubs, 'mqtt.wasm'), configuration: { url: brokerURL }, connect: [brokerURL] },
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
