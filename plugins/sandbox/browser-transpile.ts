// jco's transpiler, in the page: its own component, loaded on the first
// cold deploy only (a cached deploy never loads it).
import { pfError, describe } from '../../kernel/errors.ts';
import type { TranspiledComponent } from './component-instance.ts';

export async function transpileInBrowser(bytes: Uint8Array): Promise<TranspiledComponent> {
  const { generate } = await import('@bytecodealliance/jco/component');
  let files: Array<[string, Uint8Array]>;
  try {
    ({ files } = await generate(bytes, {
      name: 'stub',
      noTypescript: true,
      instantiation: { tag: 'async' },
      validLiftingOptimization: true,
    }));
  } catch (error) {
    throw pfError('PF_ERR_COMPONENT_INVALID', [describe(error)], { cause: error });
  }
  const cores: Record<string, Uint8Array> = {};
  let glue = '';
  for (const [path, content] of files) {
    if (path.endsWith('.wasm')) cores[path] = content;
    if (path === 'stub.js') glue = new TextDecoder().decode(content);
  }
  return { glue, cores };
}
