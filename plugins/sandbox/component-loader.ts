// Turns a component into something runnable, at run time, with jco: its
// transpiler emits JS glue plus core modules, compiled here with the stub's
// memory cap. Runs where the runtime runs; the sandbox only instantiates.
import { transpile } from '@bytecodealliance/jco';
import { pfError, describe } from '../../kernel/errors.ts';
import type { PreparedComponent, TranspiledComponent } from './component-instance.ts';
import { capMemory } from './memory-limit.ts';
import { meterOrRefuse } from './metering/meter.ts';

export async function transpileComponent(bytes: Uint8Array): Promise<TranspiledComponent> {
  let files: Record<string, Uint8Array>;
  try {
    const out = await transpile(bytes, { name: 'stub', instantiation: 'async', noTypescript: true, validLiftingOptimization: true });
    files = out.files as unknown as Record<string, Uint8Array>;
  } catch (error) {
    throw pfError('PF_ERR_COMPONENT_INVALID', [describe(error)], { cause: error });
  }
  const cores: Record<string, Uint8Array> = {};
  for (const [path, content] of Object.entries(files)) if (path.endsWith('.wasm')) cores[path] = content;
  return { glue: new TextDecoder().decode(files['stub.js']), cores };
}

/** The same component with every core module metered (metering/meter.ts), for a stub in the runtime's thread. */
export function meterComponent(transpiled: TranspiledComponent): TranspiledComponent & { metered: true } {
  const cores: Record<string, Uint8Array> = {};
  for (const [path, bytes] of Object.entries(transpiled.cores)) cores[path] = meterOrRefuse(bytes);
  return { glue: transpiled.glue, cores, metered: true };
}

/** Compiles the core modules with every memory capped at `maxPages`. */
export async function compileComponent(transpiled: TranspiledComponent & { metered?: true }, maxPages: number): Promise<PreparedComponent> {
  const modules: Record<string, WebAssembly.Module> = {};
  for (const [path, bytes] of Object.entries(transpiled.cores)) {
    modules[path] = await WebAssembly.compile(capMemory(bytes, maxPages) as Uint8Array<ArrayBuffer>);
  }
  return { kind: 'jco', glue: transpiled.glue, modules, ...(transpiled.metered ? { metered: true } : {}) };
}

