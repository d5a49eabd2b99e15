// The cost of one call into a stub, with nothing for the stub to do
// (`on-timer` of the C echo stub): the direct path against jco's glue,
// next to a plain JS function call.
import { readFile } from 'node:fs/promises';
import { recognise } from '../plugins/direct/component-shape.ts';
import { instantiateComponent, type HostImports, type PreparedComponent } from '../plugins/sandbox/component-instance.ts';
import { compileComponent, transpileComponent } from '../plugins/sandbox/component-loader.ts';
import { encodeCbor } from '../kernel/cbor.ts';
import { builtStub } from '../test/helpers/built.ts';
import { breathe, figure, type BenchContext, type Figure } from './stats.ts';

export const name = 'export-call';

const host: HostImports = {
  post() {}, open() { return 1; }, send() {}, close() {}, setTimer() { return 1; }, clearTimer() {}, log() {},
};

async function prepare(path: 'direct' | 'jco', bytes: Uint8Array): Promise<PreparedComponent> {
  if (path === 'jco') return compileComponent(await transpileComponent(bytes), 2048);
  const shape = recognise(bytes);
  if (!shape.ok) throw new Error(`echo-c is not recognised: ${shape.reason}`);
  return { kind: 'direct', module: await WebAssembly.compile(shape.core as Uint8Array<ArrayBuffer>), postReturn: shape.postReturn };
}

/** Nanoseconds per call, over `calls` calls. */
function nsPerCall(calls: number, call: (i: number) => void): number {
  const started = performance.now();
  for (let i = 0; i < calls; i++) call(i);
  return ((performance.now() - started) * 1e6) / calls;
}

export async function run(context: BenchContext): Promise<Figure[]> {
  const calls = context.smoke ? 2_000 : 200_000;
  const runs = context.smoke ? 2 : 7;
  const bytes = new Uint8Array(await readFile(builtStub('echo-c')));
  let sink = 0;
  const plain = (i: number) => { sink += i; };
  const figures: Figure[] = [];
  for (const path of ['direct', 'jco'] as const) {
    context.progress(`export-call: ${path}`);
    const { exports } = await instantiateComponent(await prepare(path, bytes), host);
    exports.init(encodeCbor({ runtimeURL: 'hyperty-runtime://bench', stubURL: 'hyperty-runtime://bench/protostub/1', domain: 'bench', configuration: {}, credentials: null }));
    nsPerCall(calls, (i) => exports.onTimer(i)); // warm-up
    const samples: number[] = [];
    const ceiling: number[] = [];
    for (let r = 0; r < runs; r++) {
      samples.push(nsPerCall(calls, (i) => exports.onTimer(i)));
      ceiling.push(nsPerCall(calls, plain));
      await breathe();
    }
    figures.push(figure({
      bench: name, name: `echo-c on-timer, ${path} path`, unit: 'ns/call', better: 'lower',
      samples, ceilingName: 'a plain JS function call', ceilingSamples: ceiling,
    }));
  }
  if (sink < 0) throw new Error('unreachable');
  return figures;
}
