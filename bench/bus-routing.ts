// Bus routing: a local sender to a local listener through runtime.bus, next
// to the least any router could cost — one plain function call per message.
import { createRuntime } from '../index.ts';
import type { Message } from '../kernel/schemas.ts';
import { breathe, figure, ratePerSecond, type BenchContext, type Figure } from './stats.ts';

export const name = 'bus-routing';

const CHUNK = 10_000;

export async function run(context: BenchContext): Promise<Figure[]> {
  const durationMs = context.smoke ? 20 : 300;
  const runs = context.smoke ? 2 : 7;
  const runtime = createRuntime();
  const errors: unknown[] = [];
  runtime.hooks.error.tap('bench', (error) => { errors.push(error); });
  try {
    const alice = 'hyperty://local.example/alice';
    const bob = 'hyperty://local.example/bob';
    // Prebuilt: both sides pay for routing, not for making messages.
    const messages: Message[] = Array.from({ length: 256 }, (_, i) => ({
      id: `m${i}`, type: 'UPDATE', from: alice, to: bob, body: { seq: i, text: 'hello' },
    }));
    let received = 0;
    const listener = (message: Message) => { received += message.id === undefined ? 0 : 1; };
    runtime.bus.addListener(bob, listener);

    const viaBus = () => {
      received = 0;
      for (let i = 0; i < CHUNK; i++) runtime.bus.postMessage(messages[i & 255]);
      if (received !== CHUNK) throw new Error(`bus delivered ${received} of ${CHUNK}`);
      return CHUNK;
    };
    // Called through a mutable binding so V8 cannot fold the loop away.
    const target = { deliver: listener };
    const viaCall = () => {
      received = 0;
      for (let i = 0; i < CHUNK; i++) target.deliver(messages[i & 255]);
      if (received !== CHUNK) throw new Error(`call delivered ${received} of ${CHUNK}`);
      return CHUNK;
    };

    context.progress(`bus-routing: ${runs} runs of ${durationMs} ms`);
    await ratePerSecond(durationMs, viaBus);
    await ratePerSecond(durationMs, viaCall);
    const bus: number[] = [];
    const call: number[] = [];
    // Interleaved, so drift (GC, frequency scaling) hits both sides alike.
    for (let r = 0; r < runs; r++) {
      bus.push(await ratePerSecond(durationMs, viaBus));
      call.push(await ratePerSecond(durationMs, viaCall));
      await breathe();
    }
    if (errors.length) throw new Error(`the bus reported errors: ${String(errors[0])}`);
    return [figure({
      bench: name, name: 'postMessage → addListener', unit: 'msg/s', better: 'higher',
      samples: bus, ceilingName: 'plain function call', ceilingSamples: call,
    })];
  } finally {
    await runtime.close();
  }
}
