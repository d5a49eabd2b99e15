// The kernel with its default plugins, for a given platform (Node, browser):
// the platform brings what differs — WebSocket, workers, where transpiled
// components are kept, the transpiler — and everything else is shared.
import { createKernel, type Plugin, type Runtime, type RuntimeOptions } from './kernel/runtime.ts';
import { busPlugin, type BusOptions } from './plugins/bus/plugin.ts';
import { descriptorPlugin, type DescriptorOptions } from './plugins/descriptor/plugin.ts';
import { directPathPlugin } from './plugins/direct/plugin.ts';
import { domainRegistryPlugin, type DomainRegistryOptions } from './plugins/domain-registry/plugin.ts';
import { identityPlugin, type IdentityOptions } from './plugins/identity/plugin.ts';
import { lifecyclePlugin, type RestartPolicy } from './plugins/lifecycle/plugin.ts';
import { metricsPlugin } from './plugins/metrics/plugin.ts';
import { registryPlugin } from './plugins/registry/plugin.ts';
import { sandboxPlugin, type SandboxOptions } from './plugins/sandbox/plugin.ts';
import type { ComponentCache } from './plugins/sandbox/cache/component-cache.ts';
import type { TranspiledComponent } from './plugins/sandbox/component-instance.ts';
import type { SpawnWorker } from './plugins/sandbox/worker/protocol.ts';
import type { KeyStore } from './plugins/trust/key-store.ts';
import { trustPlugin, type TrustOptions } from './plugins/trust/plugin.ts';
import { transportPlugin, type TransportOptions, type WebSocketConstructor } from './plugins/transport/plugin.ts';

export interface CreateRuntimeOptions extends Omit<RuntimeOptions, 'plugins'> {
  identity?: IdentityOptions;
  descriptor?: DescriptorOptions;
  sandbox?: SandboxOptions;
  bus?: BusOptions;
  /**
   * Stub connections. `ca`: certificate authorities (PEM) trusted for `wss://`
   * besides the platform's own (Node; a browser uses its own trust store).
   * `socketsInWorker: false`: a stub in a worker still has its sockets in the
   * runtime's thread (by default it holds them in its worker where the
   * platform can: Node).
   */
  transport?: Pick<TransportOptions, 'ca' | 'socketsInWorker'>;
  /**
   * Signed stubs (plugins/trust): the keys each domain signs with, whether
   * every domain must sign, trust on first use. `store` may also be where
   * first-use keys are kept: a file in Node, an IndexedDB name in a page.
   */
  trust?: Omit<TrustOptions, 'store'> & { store?: KeyStore | string };
  /** Where transpiled components are kept between runs: a directory in Node (`false`: nowhere). */
  cacheDir?: string | false;
  restart?: RestartPolicy;
  /** Off by default (seed step 7 is optional). */
  domainRegistry?: DomainRegistryOptions | false;
  /** Components that are exactly the stub world skip jco's per-call glue; `false` sends all through jco. */
  directPath?: false;
  /** Plugins that run before the defaults: tap earlier to replace a step. */
  plugins?: Plugin[];
  /** Replaces the default plugins entirely (an expert's runtime). */
  defaultPlugins?: false;
}

export interface Platform {
  WebSocket: WebSocketConstructor;
  spawnWorker: SpawnWorker;
  cache(options: CreateRuntimeOptions): ComponentCache | undefined;
  transpile?: (component: Uint8Array) => Promise<TranspiledComponent>;
  /** Whether its stub workers can hold the stubs' sockets (they have a WebSocket of their own). */
  socketsInWorker?: boolean;
  /** Where trust on first use keeps keys: `location` is a file (Node) or a database name (browser). */
  keyStore?(location?: string): KeyStore;
  /** The platform's SHA-256 as `sha256-<base64>`, when faster than Web Crypto's. */
  integrity?: (bytes: Uint8Array) => string | Promise<string>;
}

export function platformRuntime(platform: Platform) {
  function defaultPlugins(options: CreateRuntimeOptions = {}): Plugin[] {
    const cache = options.sandbox?.cache ?? platform.cache(options);
    const plugins = [
      registryPlugin(),
      busPlugin(options.bus),
      descriptorPlugin(options.descriptor),
      trustPlugin({ ...trustOptions(options), cache }),
      ...(options.directPath === false ? [] : [directPathPlugin({ cache })]),
      sandboxPlugin({
        spawnWorker: platform.spawnWorker,
        transpile: platform.transpile,
        integrity: platform.integrity,
        ...options.sandbox,
        cache,
      }),
      lifecyclePlugin(options.restart),
      transportPlugin({ WebSocket: platform.WebSocket, socketsInWorker: platform.socketsInWorker, ...options.transport }),
      identityPlugin(options.identity),
      metricsPlugin(),
    ];
    if (options.domainRegistry) plugins.push(domainRegistryPlugin(options.domainRegistry));
    return plugins;
  }

  function trustOptions({ trust = {} }: CreateRuntimeOptions): TrustOptions {
    const { store, ...rest } = trust;
    if (!rest.firstUse) return rest;
    return { ...rest, store: typeof store === 'object' ? store : platform.keyStore?.(store) };
  }

  function createRuntime(options: CreateRuntimeOptions = {}): Runtime {
    const plugins = [...(options.plugins ?? []), ...(options.defaultPlugins === false ? [] : defaultPlugins(options))];
    return createKernel({ ...options, plugins });
  }

  return { createRuntime, defaultPlugins };
}
