// The Sandbox Manager (seed steps 9–13): downloads the stub's source, checks
// its hash, turns the component into running code and starts it.
import { pfError } from '../../kernel/errors.ts';
import type { Plugin } from '../../kernel/runtime.ts';
import type { StubInstance } from '../../kernel/types.ts';
import { boundedGet } from '../http/get.ts';
import { statusMessage } from '../../kernel/status.ts';
import { loadComponent, type LoadedComponent } from './component-loader.ts';
import { startInThreadStub } from './in-thread-stub.ts';
import { sameIntegrity, sha256Integrity } from './integrity.ts';

export interface SandboxOptions {
  /** Sources larger than this are refused before being read whole. */
  maxSourceBytes?: number;
  timeoutMs?: number;
  maxTimers?: number;
}

// Transpiling is the slow part of a deploy; the same verified bytes (same
// hash, checked by loadSource) are transpiled once per process, whichever
// runtime asks. Instances are never shared: each deploy instantiates afresh.
const compiled = new Map<string, Promise<LoadedComponent>>();
const COMPILED_KEPT = 16;

function compiledOnce(hash: string, source: Uint8Array): Promise<LoadedComponent> {
  let component = compiled.get(hash);
  if (component) {
    compiled.delete(hash);
    compiled.set(hash, component);
    return component;
  }
  component = loadComponent(source);
  compiled.set(hash, component);
  component.catch(() => compiled.delete(hash));
  if (compiled.size > COMPILED_KEPT) compiled.delete(compiled.keys().next().value!);
  return component;
}

export function sandboxPlugin(options: SandboxOptions = {}): Plugin {
  const maxSourceBytes = options.maxSourceBytes ?? 64 * 1024 * 1024;
  const timeoutMs = options.timeoutMs ?? 30_000;
  return {
    name: 'SandboxPlugin',
    apply(runtime) {
      const instances = new Map<string, StubInstance>();

      runtime.hooks.createSandbox.tapPromise('SandboxPlugin', async () => ({ kind: 'in-thread' }));

      runtime.hooks.loadSource.tapPromise('SandboxPlugin', async (context) => {
        const descriptor = context.descriptor!;
        const where = { domain: context.domain.name, stubURL: context.stub?.stubURL };
        const url = new URL(descriptor.sourcePackageURL, context.descriptorURL).href;
        const result = await boundedGet(url, { maxBytes: maxSourceBytes, timeoutMs });
        if (!result.ok) {
          if (result.reason === 'too-large') throw pfError('PF_ERR_TOO_LARGE', [`the stub source at ${url}`, maxSourceBytes], where);
          const detail = result.reason === 'status' ? `HTTP ${result.status}` : result.detail;
          throw pfError('PF_ERR_SOURCE_UNREACHABLE', [`${url} (${detail})`], where);
        }
        const actual = await sha256Integrity(result.bytes);
        if (!sameIntegrity(descriptor.sourceHash, actual)) throw pfError('PF_ERR_INTEGRITY', [descriptor.sourceHash, actual], where);
        return result.bytes;
      });

      runtime.hooks.instantiate.tapPromise('SandboxPlugin', async (context) => {
        const record = context.stub!;
        const hash = context.descriptor!.sourceHash;
        const component = compiledOnce(hash, context.source!);
        const instance = await startInThreadStub({
          runtime,
          record,
          component: await component,
          maxTimers: options.maxTimers ?? 256,
          config: {
            runtimeURL: runtime.runtimeURL,
            stubURL: record.stubURL,
            domain: record.domain.name,
            configuration: context.descriptor!.configuration,
            credentials: context.credentials ?? null,
          },
          // A dead stub cannot speak: the runtime publishes FAILED for it.
          onFault(error) {
            runtime.bus.postMessage(statusMessage(record.stubURL, 'FAILED', { reason: error.message, code: error.code }));
            runtime.hooks.error.call(error);
            void runtime.hooks.undeploy.promise(record, error.message);
          },
        });
        instances.set(record.stubURL, instance);
        return instance;
      });

      runtime.hooks.undeploy.tapPromise('SandboxPlugin', async (record, reason) => {
        const instance = instances.get(record.stubURL);
        instances.delete(record.stubURL);
        await instance?.dispose(reason);
      });
    },
  };
}
