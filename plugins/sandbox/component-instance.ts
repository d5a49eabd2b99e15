// Instantiates a prepared component with the host interface and nothing
// else. Runs inside the sandbox (a worker, or the runtime's thread), so it
// imports nothing heavy: no jco, no Node built-ins.
import { pfError, describe } from '../../kernel/errors.ts';
import { instantiateDirect } from './direct-instance.ts';
import { guardedInstantiateCore } from './jco-abi-guard.ts';

export const HOST_INTERFACE = 'protofly:stub/host';
export const STUB_INTERFACE = 'protofly:stub/stub@0.1.0';

/** The host side of the WIT, as jco's glue calls it. */
export interface HostImports {
  post(batch: Uint8Array): void;
  open(url: string, protocols: string[]): number;
  send(conn: number, frame: Uint8Array): void;
  close(conn: number): void;
  setTimer(ms: number): number;
  clearTimer(id: number): void;
  log(level: number, text: string): void;
}

/** The stub side of the WIT, as jco's glue exposes it. */
export interface StubExports {
  init(config: Uint8Array): void;
  onMessages(batch: Uint8Array): void;
  onOpen(conn: number): void;
  onFrame(conn: number, frame: Uint8Array): void;
  onClose(conn: number, reason: string): void;
  onTimer(id: number): void;
}

/** jco's output: the glue's source and the core modules' bytes. */
export interface TranspiledComponent {
  glue: string;
  cores: Record<string, Uint8Array>;
}

/**
 * Ready to instantiate, in this thread or (structured-cloned) in a worker:
 * jco's glue and core modules, or (the direct path) the stub's own core
 * module, called through hand-written canonical ABI code.
 */
export type PreparedComponent =
  | { kind: 'jco'; glue: string; modules: Record<string, WebAssembly.Module>; metered?: boolean }
  /** `metered`: its code counts loop iterations and calls `protofly:meter` `tick` (metering/meter.ts). */
  | { kind: 'direct'; module: WebAssembly.Module; postReturn: string[]; metered?: boolean };

type Instantiate = (
  getCoreModule: (path: string) => Promise<WebAssembly.Module>,
  imports: Record<string, unknown>,
  instantiateCore?: (module: WebAssembly.Module, imports?: WebAssembly.Imports) => Promise<{ exports: WebAssembly.Exports }>,
) => Promise<Record<string, unknown>>;

export interface Instantiated {
  exports: StubExports;
  /** The stub's linear memories, to tell "out of memory" from other traps. */
  memories: WebAssembly.Memory[];
}

/**
 * `tick`: what a metered stub calls every so many loop iterations and
 * calls (metering/meter.ts); it answers 1 to have the stub trap.
 */
export async function instantiateComponent(prepared: PreparedComponent, host: HostImports, tick: () => number = () => 0): Promise<Instantiated> {
  if (prepared.kind === 'direct') return instantiateDirect(prepared.module, prepared.postReturn, host, prepared.metered ? tick : undefined);
  // The glue of an instantiation-mode transpile imports nothing; it gets the
  // host interface below and no WASI at all.
  const { instantiate } = (await import(/* @vite-ignore */ moduleURL(prepared.glue))) as { instantiate: Instantiate };
  const memories: WebAssembly.Memory[] = [];
  // The canonical ABI's checks, which jco's glue does not make (jco-abi-guard.ts).
  const instantiateCore = guardedInstantiateCore(prepared.metered ? tick : undefined);
  let instance: Record<string, unknown>;
  try {
    instance = await instantiate(
      async (path) => {
        const module = prepared.modules[path];
        if (!module) throw new Error(`missing core module ${path}`);
        return module;
      },
      { [HOST_INTERFACE]: host, [`${HOST_INTERFACE}@0.1.0`]: host },
      async (module, imports) => {
        const created = await instantiateCore(module, imports);
        for (const value of Object.values(created.exports)) if (value instanceof WebAssembly.Memory) memories.push(value);
        return created;
      },
    );
  } catch (error) {
    throw pfError('PF_ERR_COMPONENT_INVALID', [describe(error)], { cause: error });
  }
  const exports = instance[STUB_INTERFACE] as StubExports | undefined;
  if (!exports || typeof exports.init !== 'function') throw pfError('PF_ERR_COMPONENT_INVALID', [`it does not export ${STUB_INTERFACE}`]);
  return { exports, memories };
}

const moduleURLs = new Map<string, string>();

// One URL per glue source, so the module is evaluated once and reused. A
// browser imports it from a blob: URL (CSP `script-src blob:` in the worker);
// Node cannot import blob: URLs and takes a data: URL.
function moduleURL(source: string): string {
  let url = moduleURLs.get(source);
  if (url) return url;
  const inNode = typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === 'string';
  if (!inNode) {
    url = URL.createObjectURL(new Blob([source], { type: 'text/javascript' }));
    moduleURLs.set(source, url);
    return url;
  }
  const bytes = new TextEncoder().encode(source);
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  url = `data:text/javascript;base64,${btoa(binary)}`;
  moduleURLs.set(source, url);
  return url;
}
