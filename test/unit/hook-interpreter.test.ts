// The interpreted hooks behave like tapable's compiled ones, without eval.
import test from 'ava';
import { AsyncParallelHook, AsyncSeriesBailHook, AsyncSeriesHook, SyncHook, SyncWaterfallHook } from 'tapable';
import { interpreted } from '../../kernel/hook-interpreter.ts';

function both<H>(make: () => H, kind: Parameters<typeof interpreted>[1]): Array<[string, H]> {
  return [['tapable', make()], ['interpreted', interpreted(make(), kind)]];
}

test('an async series bail hook stops at the first answer, whatever the tap style, like tapable', async (t) => {
  for (const [label, hook] of both(() => new AsyncSeriesBailHook<[number], string | undefined>(['n']), 'asyncSeriesBail')) {
    const order: string[] = [];
    hook.tap('a', (n) => { order.push('a'); return n > 5 ? 'big' : undefined; });
    hook.tapAsync('b', (n, done) => { order.push('b'); setTimeout(() => done(null, n > 2 ? 'mid' : undefined), 1); });
    hook.tapPromise('c', async () => { order.push('c'); return 'small'; });
    hook.tap('d', () => { order.push('d'); return 'never'; });
    t.is(await hook.promise(3), 'mid', label);
    t.deepEqual(order, ['a', 'b'], label);
    t.is(await hook.promise(1), 'small', label);
    const viaCallback = await new Promise((resolve) => hook.callAsync(9, (_e, r) => resolve(r)));
    t.is(viaCallback, 'big', label);
  }
});

test('a waterfall passes each answer on, and staged taps run in stage order', (t) => {
  for (const [label, hook] of both(() => new SyncWaterfallHook<[string, number]>(['s', 'n']), 'syncWaterfall')) {
    hook.tap('upper', (s) => s.toUpperCase());
    hook.tap({ name: 'first', stage: -1 }, (s, n) => `${s}${n}`);
    // A tap that answers nothing leaves the value as it was.
    hook.tap('ignored', (() => undefined) as unknown as (s: string) => string);
    t.is(hook.call('ab', 7), 'AB7', label);
  }
});

test('series hooks wait for each tap, parallel hooks run them together, errors reject', async (t) => {
  for (const [label, hook] of both(() => new AsyncSeriesHook<[string[]]>(['log']), 'asyncSeries')) {
    const log: string[] = [];
    hook.tapPromise('slow', async (l) => { await new Promise((r) => setTimeout(r, 5)); l.push('slow'); });
    hook.tap('fast', (l) => { l.push('fast'); });
    await hook.promise(log);
    t.deepEqual(log, ['slow', 'fast'], label);
  }
  for (const [label, hook] of both(() => new AsyncParallelHook<[string[]]>(['log']), 'asyncParallel')) {
    const log: string[] = [];
    hook.tapPromise('slow', async (l) => { await new Promise((r) => setTimeout(r, 5)); l.push('slow'); });
    hook.tap('fast', (l) => { l.push('fast'); });
    await hook.promise(log);
    t.deepEqual(log, ['fast', 'slow'], label);
    hook.tapPromise('bad', async () => { throw new Error('boom'); });
    await t.throwsAsync(hook.promise([]), { message: 'boom' }, label);
  }
});

test('interceptors see calls, taps, results and errors as with tapable', async (t) => {
  for (const [label, hook] of both(() => new AsyncSeriesBailHook<[number], number | undefined>(['n']), 'asyncSeriesBail')) {
    const seen: string[] = [];
    hook.intercept({
      call: (n) => seen.push(`call ${n}`),
      tap: (tap) => seen.push(`tap ${tap.name}`),
      result: (r) => seen.push(`result ${r}`),
      done: () => seen.push('done'),
      error: (e) => seen.push(`error ${(e as Error).message}`),
    });
    hook.tap('pass', () => undefined);
    hook.tap('answer', (n) => (n > 0 ? n * 2 : undefined));
    hook.tap('throw', () => { throw new Error('no'); });
    await hook.promise(2);
    await hook.promise(0).catch(() => {});
    t.deepEqual(seen, ['call 2', 'tap pass', 'tap answer', 'result 4', 'call 0', 'tap pass', 'tap answer', 'tap throw', 'error no'], label);
  }
});

test('a sync hook calls every tap in order with the arguments', (t) => {
  for (const [label, hook] of both(() => new SyncHook<[number, number]>(['a', 'b']), 'sync')) {
    const sums: number[] = [];
    hook.tap('one', (a, b) => { sums.push(a + b); });
    hook.tap('two', (a, b) => { sums.push(a * b); });
    hook.call(3, 4);
    t.deepEqual(sums, [7, 12], label);
  }
});
