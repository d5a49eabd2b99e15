// Turns a component into something runnable, at run time, with jco: its
// transpiler emits JS glue plus core modules; the glue is loaded as a module
// of its own and given nothing but the host interface.
import { transpile } from '@bytecodealliance/jco';
import { pfError, describe } from '../../kernel/errors.ts';

export const HOST_INTERFACE = 'protofly:stub/host';
export const STUB_INTERFACE = 'protofly:stub/stub@0.1.0';

export interface HostImports {
  post(batch: Uint8Array): void;
  open(url: string, protocols: string[]): number;
  send(conn: number, frame: Uint8Array): void;
  close(conn: number): void;
  setTimer(ms: number): number;
  clearTimer(id: number): void;
  log(level: number, text: string): void;
}

export interface StubExports {
  init(config: Uint8Array): void;
  onMessages(batch: Uint8Array): void;
  onOpen(conn: number): void;
  onFrame(conn: number, frame: Uint8Array): void;
  onClose(conn: number, reason: string): void;
  onTimer(id: number): void;
}

export interface LoadedComponent {
  instantiate(host: HostImports): Promise<StubExports>;
}

type Instantiate = (
  getCoreModule: (path: string) => Promise<WebAssembly.Module>,
  imports: Record<string, unknown>,
) => Promise<Record<string, unknown>>;

/** Transpiles once; each `instantiate` makes a fresh, separate instance. */
export async function loadComponent(bytes: Uint8Array): Promise<LoadedComponent> {
  let files: Record<string, Uint8Array>;
  try {
    const out = await transpile(bytes, {
      name: 'stub',
      instantiation: 'async',
      noTypescript: true,
      validLiftingOptimization: true,
    });
    files = out.files as unknown as Record<string, Uint8Array>;
  } catch (error) {
    throw pfError('PF_ERR_COMPONENT_INVALID', [describe(error)], { cause: error });
  }
  const glue = new TextDecoder().decode(files['stub.js']);
  // The glue of an instantiation-mode transpile imports nothing; a WASI
  // import would show up as a missing host interface at instantiate time.
  const { instantiate } = (await import(/* @vite-ignore */ moduleURL(glue))) as { instantiate: Instantiate };
  const modules = new Map<string, Promise<WebAssembly.Module>>();
  const getCoreModule = (path: string) => {
    let module = modules.get(path);
    if (!module) {
      const source = files[path];
      if (!source) return Promise.reject(new Error(`missing core module ${path}`));
      module = WebAssembly.compile(source as Uint8Array<ArrayBuffer>);
      modules.set(path, module);
    }
    return module;
  };
  return {
    async instantiate(host) {
      let instance: Record<string, unknown>;
      try {
        instance = await instantiate(getCoreModule, { [HOST_INTERFACE]: host, [`${HOST_INTERFACE}@0.1.0`]: host });
      } catch (error) {
        throw pfError('PF_ERR_COMPONENT_INVALID', [describe(error)], { cause: error });
      }
      const stub = instance[STUB_INTERFACE] as StubExports | undefined;
      if (!stub || typeof stub.init !== 'function') throw pfError('PF_ERR_COMPONENT_INVALID', [`it does not export ${STUB_INTERFACE}`]);
      return stub;
    },
  };
}

function moduleURL(source: string): string {
  const bytes = new TextEncoder().encode(source);
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return `data:text/javascript;base64,${btoa(binary)}`;
}
