// protofly for Node: the kernel with its default plugins.
import WebSocket from 'ws';
import { createKernel, type Plugin, type Runtime, type RuntimeOptions } from './kernel/runtime.ts';
import { busPlugin } from './plugins/bus/plugin.ts';
import { descriptorPlugin, type DescriptorOptions } from './plugins/descriptor/plugin.ts';
import { domainRegistryPlugin, type DomainRegistryOptions } from './plugins/domain-registry/plugin.ts';
import { identityPlugin, type IdentityOptions } from './plugins/identity/plugin.ts';
import { lifecyclePlugin, type RestartPolicy } from './plugins/lifecycle/plugin.ts';
import { spawnNodeWorker } from './plugins/sandbox/worker/node-spawn.ts';
import { fileCache } from './plugins/sandbox/cache/file-cache.ts';
import type { BusOptions } from './plugins/bus/plugin.ts';
import { registryPlugin } from './plugins/registry/plugin.ts';
import { sandboxPlugin, type SandboxOptions } from './plugins/sandbox/plugin.ts';
import { transportPlugin, type WebSocketConstructor } from './plugins/transport/plugin.ts';

export interface CreateRuntimeOptions extends Omit<RuntimeOptions, 'plugins'> {
  identity?: IdentityOptions;
  descriptor?: DescriptorOptions;
  sandbox?: SandboxOptions;
  bus?: BusOptions;
  /** Where transpiled components are kept between processes (`false`: nowhere). */
  cacheDir?: string | false;
  restart?: RestartPolicy;
  /** Off by default (seed step 7 is optional). */
  domainRegistry?: DomainRegistryOptions | false;
  /** Plugins that run before the defaults: tap earlier to replace a step. */
  plugins?: Plugin[];
  /** Replaces the default plugins entirely (an expert's runtime). */
  defaultPlugins?: false;
}

export function defaultPlugins(options: CreateRuntimeOptions = {}): Plugin[] {
  const plugins = [
    registryPlugin(),
    busPlugin(options.bus),
    descriptorPlugin(options.descriptor),
    sandboxPlugin({
      spawnWorker: spawnNodeWorker,
      cache: options.cacheDir === false ? undefined : fileCache(options.cacheDir),
      ...options.sandbox,
    }),
    lifecyclePlugin(options.restart),
    transportPlugin({ WebSocket: WebSocket as unknown as WebSocketConstructor }),
    identityPlugin(options.identity),
  ];
  if (options.domainRegistry) plugins.push(domainRegistryPlugin(options.domainRegistry));
  return plugins;
}

export function createRuntime(options: CreateRuntimeOptions = {}): Runtime {
  const plugins = [...(options.plugins ?? []), ...(options.defaultPlugins === false ? [] : defaultPlugins(options))];
  return createKernel({ ...options, plugins });
}

export { createKernel } from './kernel/runtime.ts';
export type { Plugin, Runtime, RuntimeOptions, DeployOptions } from './kernel/runtime.ts';
export { createHooks, DEPLOY_STEPS, type Hooks, type DeployStep } from './kernel/hooks.ts';
export { ERRORS, ProtoflyError, isProtoflyError, type ErrorCode } from './kernel/errors.ts';
export * from './kernel/schemas.ts';
export type * from './kernel/types.ts';
export type * from './kernel/services.ts';
export { parseDomain, domainOfAddress, type Domain } from './kernel/address.ts';
export { statusMessage } from './kernel/status.ts';
export { encodeBatch, decodeBatch, encodeCbor, decodeCbor } from './kernel/cbor.ts';
export { busPlugin, registryPlugin, descriptorPlugin, domainRegistryPlugin, identityPlugin, sandboxPlugin, transportPlugin, lifecyclePlugin };
export { catalogueHostPlugin, parseDescriptor, WELL_KNOWN_PATH } from './plugins/descriptor/plugin.ts';
export { clearComponentCache, type SandboxOptions, type SandboxKind, type StubLimits } from './plugins/sandbox/plugin.ts';
