// Turns a component into something runnable, at run time, with jco: its
// transpiler emits JS glue plus core modules, compiled here with the stub's
// memory cap. Runs where the runtime runs; the sandbox only instantiates.
import { transpile } from '@bytecodealliance/jco';
import { pfError, describe } from '../../kernel/errors.ts';
import type { PreparedComponent, TranspiledComponent } from './component-instance.ts';
import { capMemory } from './memory-limit.ts';

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

/** Compiles the core modules with every memory capped at `maxPages`. */
export async function compileComponent(transpiled: TranspiledComponent, maxPages: number): Promise<PreparedComponent> {
  const modules: Record<string, WebAssembly.Module> = {};
  for (const [path, bytes] of Object.entries(transpiled.cores)) {
    modules[path] = await WebAssembly.compile(capMemory(bytes, maxPages) as Uint8Array<ArrayBuffer>);
  }
  return { kind: 'jco', glue: transpiled.glue, modules };
}

