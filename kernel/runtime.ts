// The Runtime UA: the seed's "Deploy Protocol Stub" flow as a short sequence
// of hook calls. It knows no HTTP, no WebSocket, no WebAssembly: plugins do.
import { parseDomain, type Domain } from './address.ts';
import { describe, isProtoflyError, pfError, ProtoflyError } from './errors.ts';
import { createHooks, type Hooks } from './hooks.ts';
import { installHookPolicy, type HookPolicies } from './hook-policy.ts';
import type { MetricsOptions, MetricsSnapshot } from './metrics.ts';
import { compareVersions } from './version.ts';
import type { Services } from './services.ts';
import type { Descriptor } from './schemas.ts';
import type { DeployContext, StubRecord } from './types.ts';

export interface Plugin {
  name: string;
  apply(runtime: Runtime): void;
}

export interface RuntimeOptions {
  plugins?: Plugin[];
  /** How long a deploy waits for the stub's LIVE before giving up. */
  liveTimeoutMs?: number;
  /** This runtime's own URL; random when not given. */
  runtimeURL?: string;
  /**
   * Per hook, or per tap of a hook, whether a tap's failure fails it (`required`) or is reported on
   * the `error` hook and passed over (`optional`): `{ registerInDomain: 'optional' }`. Defaults and
   * precedence: kernel/hook-policy.ts.
   */
  hookPolicy?: HookPolicies;
  [option: string]: unknown;
}

export interface DeployOptions {
  /**
   * Which descriptor of the domain (`/.well-known/protocolstub/<name>`): each
   * name is a stub of its own, with its own runtime URL and status. Default `default`.
   */
  name?: string;
  /** Makes it the stub that carries the domain's remote addresses too (`runtime.route(domain, name)`). */
  route?: boolean;
}

export interface UndeployOptions {
  name?: string;
  reason?: string;
}

export interface UpdateOptions {
  name?: string;
  /** Take a descriptor whose `version` is older (semver) than the running one; refused with PF_ERR_DOWNGRADE otherwise. */
  allowDowngrade?: boolean;
}

export interface Runtime {
  readonly runtimeURL: string;
  readonly hooks: Hooks;
  readonly options: Readonly<RuntimeOptions>;
  deployStub(domain: string, options?: DeployOptions): Promise<StubRecord>;
  /** Undeploys the domain's stub of that name (`default`); a string is the reason. */
  undeployStub(domain: string, options?: UndeployOptions | string): Promise<void>;
  /** Starts a failed stub again in a new sandbox; its runtime URL is kept. */
  restartStub(stub: StubRecord, reason?: string): Promise<StubRecord>;
  /**
   * Fetches the domain's descriptor again; a new version or hash swaps the
   * running stub for the new one (same runtime URL, queued messages kept).
   * An older version is refused (PF_ERR_DOWNGRADE) unless `allowDowngrade`.
   */
  updateStub(domain: string, options?: UpdateOptions): Promise<StubRecord>;
  /**
   * Which of the domain's stubs carries messages for its remote addresses
   * (`default` until this is called). Addresses listened to here move to it;
   * it is deployed by the next message that needs it.
   */
  route(domain: string, name: string): void;
  provide<K extends keyof Services>(name: K, service: Services[K]): void;
  service<K extends keyof Services>(name: K): Services[K];
  readonly bus: Services['bus'];
  readonly registry: Services['registry'];
  /** Counters and timings per stub and in total; as OpenMetrics text with `{ format: 'openmetrics' }`. */
  metrics(options?: MetricsOptions & { format?: 'json' }): MetricsSnapshot;
  metrics(options: MetricsOptions & { format: 'openmetrics' }): string;
  close(): Promise<void>;
}

const DEFAULT_LIVE_TIMEOUT_MS = 15_000;

export function createKernel(options: RuntimeOptions = {}): Runtime {
  const hooks = createHooks();
  installHookPolicy(hooks, options.hookPolicy);
  const services: Partial<Services> = {};
  const inflight = new Map<string, Promise<StubRecord>>();
  /** Restarts and updates in progress, by stub URL. */
  const relaunching = new Map<string, Promise<StubRecord>>();
  /** Rejects the wait for a stub's LIVE, by stub URL. */
  const abortLive = new Map<string, (error: ProtoflyError) => void>();
  const runtimeURL = options.runtimeURL ?? `hyperty-runtime://${randomId()}`;
  const liveTimeoutMs = options.liveTimeoutMs ?? DEFAULT_LIVE_TIMEOUT_MS;

  const runtime: Runtime = {
    runtimeURL,
    hooks,
    options,
    provide(name, service) {
      services[name] = service;
    },
    service(name) {
      const found = services[name];
      if (!found) throw pfError('PF_ERR_NO_HANDLER', [`service:${name}`], { hook: name });
      return found;
    },
    get bus() { return runtime.service('bus'); },
    get registry() { return runtime.service('registry'); },
    metrics: ((metricsOptions: MetricsOptions = {}) => {
      const metrics = runtime.service('metrics');
      return metricsOptions.format === 'openmetrics' ? metrics.openMetrics() : metrics.snapshot();
    }) as Runtime['metrics'],

    // Steps 1–2: whoever asks (the app, the registry, the bus routing a first
    // message) gets the domain's one stub of that name; concurrent asks share a deploy.
    async deployStub(input, deployOptions = {}) {
      const domain = parseDomain(input);
      const name = stubName(deployOptions.name);
      // Routed first: the stub learns the addresses listened to when it attaches.
      if (deployOptions.route) runtime.bus.route(domain.name, name);
      const key = `${domain.name}#${name}`;
      const pending = inflight.get(key);
      if (pending) return pending;
      const deploy = resolveOrDeploy(domain, name)
        .finally(() => inflight.delete(key));
      inflight.set(key, deploy);
      return deploy;
    },

    async undeployStub(input, undeployOptions = {}) {
      const { name, reason = 'undeployed' } = typeof undeployOptions === 'string' ? { reason: undeployOptions } : undeployOptions;
      const record = services.registry?.get(parseDomain(input).name, stubName(name));
      if (record) await hooks.undeploy.promise(record, reason);
    },

    route(input, name) {
      runtime.bus.route(parseDomain(input).name, stubName(name));
    },

    async restartStub(stub, reason = 'restart') {
      return relaunch(stub, stub.descriptor, reason);
    },

    async updateStub(input, updateOptions = {}) {
      const { name } = parseDomain(input);
      const stub = services.registry?.get(name, stubName(updateOptions.name));
      if (!stub) return runtime.deployStub(input, { name: updateOptions.name });
      const context: DeployContext = { runtime, domain: stub.domain, descriptorName: stub.name, steps: [], stub, descriptorURL: stub.descriptorURL };
      const descriptor = await step(context, 'fetchDescriptor', () => fetchDescriptor(context));
      if (descriptor.version === stub.descriptor.version && descriptor.sourceHash === stub.descriptor.sourceHash) return stub;
      // An old version served again (a replayed descriptor, signed or not) is
      // not an update: whoever serves it may be after a fixed vulnerability.
      if (!updateOptions.allowDowngrade && (compareVersions(descriptor.version, stub.descriptor.version) ?? 0) < 0) {
        throw pfError('PF_ERR_DOWNGRADE', [name, stub.descriptor.version, descriptor.version], { domain: name, stubURL: stub.stubURL, hook: 'fetchDescriptor' });
      }
      const previous = stub.descriptor;
      try {
        return await relaunch(stub, descriptor, `update to ${descriptor.version}`);
      } catch (error) {
        // The old version comes back through the usual restart path.
        stub.descriptor = previous;
        const failure = asProtoflyError(error, context);
        hooks.stubFailed.call(stub, failure, [], 0);
        throw failure;
      }
    },

    async close() {
      await Promise.allSettled([...inflight.values()]);
      for (const record of services.registry?.list() ?? []) {
        await hooks.undeploy.promise(record, 'runtime closed');
      }
      await hooks.close.promise();
    },
  };

  async function resolveOrDeploy(domain: Domain, descriptorName: string): Promise<StubRecord> {
    const context: DeployContext = { runtime, domain, descriptorName, steps: [] };
    const existing = await step(context, 'resolveStub', () => hooks.resolveStub.promise(domain, descriptorName), true);
    if (existing) return existing;
    try {
      return await deploy(context);
    } catch (thrown) {
      const error = asProtoflyError(thrown, context);
      await hooks.deployFailed.promise(context, error).catch((cleanup) => {
        hooks.error.call(asProtoflyError(cleanup, context));
      });
      throw error;
    }
  }

  async function deploy(context: DeployContext): Promise<StubRecord> {
    const { domain } = context;
    // Steps 3–4: the descriptor, from the domain's well-known URI.
    context.descriptorURL = await step(context, 'descriptorUrl', async () =>
      hooks.descriptorUrl.call('', domain, context.descriptorName) || undefined);
    context.descriptor = await step(context, 'fetchDescriptor', () => fetchDescriptor(context));
    // Steps 5–8: a runtime URL from the registry, which starts watching its status.
    const stub = context.stub = await step(context, 'registerStub', () => hooks.registerStub.promise(context));
    await step(context, 'registerInDomain', async () => { await hooks.registerInDomain.promise(stub); return true; });
    await launch(context);
    return stub;
  }

  // A descriptor is fetched, then checked (signature, origins) before
  // anything it names is fetched or run.
  async function fetchDescriptor(context: DeployContext): Promise<Descriptor | undefined> {
    const descriptor = await hooks.fetchDescriptor.promise(context.descriptorURL!, context);
    if (descriptor) await hooks.checkDescriptor.promise(descriptor, context);
    return descriptor;
  }

  // Steps 9–17, for a first deploy, a restart and an update alike.
  async function launch(context: DeployContext): Promise<void> {
    const stub = context.stub!;
    const live = waitForLive(stub);
    try {
      // Steps 9–13: a sandbox, the verified source, the domain login, a running stub.
      context.sandbox = await step(context, 'createSandbox', () => hooks.createSandbox.promise(context));
      context.source = await step(context, 'loadSource', () => hooks.loadSource.promise(context));
      context.credentials = await step(context, 'credentials', () => hooks.credentials.promise(context));
      context.instance = await step(context, 'instantiate', () => hooks.instantiate.promise(context));
      // Steps 14–15: the stub's listener on the bus.
      await step(context, 'attach', () => hooks.attach.promise(context));
      // Steps 16–17: deployed means LIVE, not merely started.
      await step(context, 'live', () => live.promise);
    } finally {
      live.cancel();
    }
    stub.deploySteps = context.steps;
  }

  async function relaunch(stub: StubRecord, descriptor: Descriptor, reason: string): Promise<StubRecord> {
    const context: DeployContext = {
      runtime, domain: stub.domain, descriptorName: stub.name, steps: [], stub,
      descriptorURL: stub.descriptorURL, descriptor,
    };
    const attempt = (async () => {
      await hooks.stopInstance.promise(stub, reason);
      stub.descriptor = descriptor;
      const failure = await launch(context).then(() => undefined, (error: unknown) => error);
      // A restart takes a while; the stub may have been undeployed meanwhile.
      // What the restart started is then stopped, not left running for nobody.
      if (services.registry?.byStubURL(stub.stubURL) !== stub) {
        await hooks.stopInstance.promise(stub, 'undeployed while restarting');
        throw pfError('PF_ERR_UNDEPLOYED', [stub.domain.name], { domain: stub.domain.name, stubURL: stub.stubURL });
      }
      if (failure) throw failure;
      return stub;
    })();
    relaunching.set(stub.stubURL, attempt);
    try {
      return await attempt;
    } finally {
      if (relaunching.get(stub.stubURL) === attempt) relaunching.delete(stub.stubURL);
    }
  }

  // Resolves on the stub's first LIVE; fails on its first sign of not making it.
  function waitForLive(stub: StubRecord) {
    let cancel = () => {};
    const promise = new Promise<true>((resolve, reject) => {
      const context = { domain: stub.domain.name, stubURL: stub.stubURL };
      const timer = setTimeout(() => reject(pfError('PF_ERR_LIVE_TIMEOUT', [liveTimeoutMs], context)), liveTimeoutMs);
      const waiter = (record: StubRecord, value: string) => {
        if (record !== stub) return;
        const reason = String(record.statusBody.reason ?? value);
        if (value === 'LIVE') resolve(true);
        else if (value === 'FAILED') reject(failureOf(record, reason, context));
        else if (value === 'DISCONNECTED') {
          reject(record.statusBody.code === 'PF_ERR_LOGIN' ? pfError('PF_ERR_LOGIN', [reason], context)
            // Why its connection failed, when the transport knows better than the stub can say.
            : record.connectionError ?? pfError('PF_ERR_BACKEND_UNREACHABLE', [reason], context));
        }
      };
      statusWaiters.add(waiter);
      abortLive.set(stub.stubURL, reject);
      cancel = () => { clearTimeout(timer); statusWaiters.delete(waiter); abortLive.delete(stub.stubURL); };
    });
    promise.catch(() => {}); // observed by the deploy, maybe after other steps fail first
    return { promise, cancel: () => cancel() };
  }

  function failureOf(record: StubRecord, reason: string, context: { domain: string; stubURL: string }) {
    const code = record.statusBody.code;
    return typeof code === 'string' && code.startsWith('PF_ERR_')
      ? new ProtoflyError(code as ProtoflyError['code'], reason, context)
      : pfError('PF_ERR_STUB_TRAP', [reason], context);
  }

  // Runs one step: times it, reports it, and names the hook nobody answered.
  async function step<T>(context: DeployContext, hook: string, run: () => Promise<T | undefined>, optional = false): Promise<T> {
    const domain = context.domain.name;
    const name = context.descriptorName;
    hooks.step.call({ domain, name, hook, ms: 0, phase: 'start' });
    const started = now();
    try {
      const result = await run();
      if (result === undefined && !optional) throw pfError('PF_ERR_NO_HANDLER', [hook], { domain, hook });
      const ms = now() - started;
      context.steps.push({ hook, ms });
      hooks.step.call({ domain, name, hook, ms, phase: 'end' });
      return result as T;
    } catch (error) {
      hooks.step.call({ domain, name, hook, ms: now() - started, phase: 'error', error });
      throw asProtoflyError(error, context, hook);
    }
  }

  function asProtoflyError(error: unknown, context: DeployContext, hook?: string): ProtoflyError {
    if (isProtoflyError(error)) return error;
    return pfError('PF_ERR_PLUGIN', [hook ?? 'deployStub', describe(error)], {
      domain: context.domain.name, stubURL: context.stub?.stubURL, hook, cause: error,
    });
  }

  const statusWaiters = new Set<(record: StubRecord, value: string) => void>();
  // Undeployed while being restarted: the restart stops waiting for a LIVE
  // nobody will hear (the registry no longer follows its status), stops what
  // it started, and the undeploy returns only after that.
  hooks.undeploy.tapPromise({ name: 'RuntimeUA', stage: 200 }, async (record) => {
    abortLive.get(record.stubURL)?.(pfError('PF_ERR_UNDEPLOYED', [record.domain.name], { domain: record.domain.name, stubURL: record.stubURL }));
    await relaunching.get(record.stubURL)?.catch(() => {});
  });
  hooks.status.tap('RuntimeUA', (record, value) => {
    for (const waiter of statusWaiters) waiter(record, value);
  });

  for (const plugin of options.plugins ?? []) plugin.apply(runtime);
  return runtime;
}

/** A descriptor's name: a path segment of the well-known URI, `default` when not given. */
function stubName(name: string | undefined): string {
  if (name === undefined) return 'default';
  if (typeof name !== 'string' || !/^[A-Za-z0-9._~-]{1,64}$/.test(name) || name === '.' || name === '..') {
    throw pfError('PF_ERR_STUB_NAME', [String(name)]);
  }
  return name;
}

function now(): number {
  return globalThis.performance.now();
}

function randomId(): string {
  return globalThis.crypto.randomUUID();
}
