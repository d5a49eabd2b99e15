// tapable compiles each hook's call function with `new Function`, which a
// page under a strict Content-Security-Policy (no 'unsafe-eval') refuses.
// These interpreters do what the generated code does — taps in order,
// interceptors' call/tap/result/done/error — with plain closures, so the
// same hooks run everywhere. The hooks keep tapable's API and semantics.

type TapType = 'sync' | 'async' | 'promise';
interface Tap { type: TapType; fn: (...args: unknown[]) => unknown }
interface Interceptor {
  call?: (...args: unknown[]) => void;
  tap?: (tap: Tap) => void;
  result?: (result: unknown) => void;
  done?: () => void;
  error?: (error: unknown) => void;
  context?: boolean;
}
interface CompileOptions { taps: Tap[]; interceptors: Interceptor[]; type: TapType }
interface Compilable { compile(options: CompileOptions): (...args: unknown[]) => unknown }

export type HookKind = 'sync' | 'syncWaterfall' | 'asyncSeriesBail' | 'asyncSeries' | 'asyncParallel';

export function interpreted<H>(hook: H, kind: HookKind): H {
  (hook as unknown as Compilable).compile = (options) => compile(kind, options);
  return hook;
}

function compile(kind: HookKind, { taps, interceptors, type }: CompileOptions): (...args: unknown[]) => unknown {
  if (interceptors.some((i) => i.context)) throw new Error('protofly hooks do not support interceptor contexts');
  const before = (args: unknown[]) => { for (const i of interceptors) i.call?.(...args); };
  const onTap = (tap: Tap) => { for (const i of interceptors) i.tap?.(tap); };
  const done = () => { for (const i of interceptors) i.done?.(); };
  const failed = (error: unknown) => { for (const i of interceptors) i.error?.(error); };
  const bailed = (result: unknown) => { for (const i of interceptors) i.result?.(result); };

  if (kind === 'sync' || kind === 'syncWaterfall') {
    return (...args: unknown[]) => {
      before(args);
      let value = args[0];
      try {
        for (const tap of taps) {
          onTap(tap);
          const result = tap.fn(...(kind === 'syncWaterfall' ? [value, ...args.slice(1)] : args));
          if (kind === 'syncWaterfall' && result !== undefined) value = result;
        }
      } catch (error) {
        failed(error);
        throw error;
      }
      if (kind === 'syncWaterfall') bailed(value);
      done();
      return kind === 'syncWaterfall' ? value : undefined;
    };
  }

  const run = async (args: unknown[]): Promise<unknown> => {
    before(args);
    try {
      if (kind === 'asyncParallel') {
        await Promise.all(taps.map((tap) => { onTap(tap); return runTap(tap, args); }));
      } else {
        for (const tap of taps) {
          onTap(tap);
          const result = await runTap(tap, args);
          if (kind === 'asyncSeriesBail' && result !== undefined) {
            bailed(result);
            return result;
          }
        }
      }
    } catch (error) {
      failed(error);
      throw error;
    }
    done();
    return undefined;
  };

  if (type === 'promise') return (...args) => run(args);
  if (type === 'async') {
    return (...args) => {
      const callback = args.pop() as (error: unknown, result?: unknown) => void;
      run(args).then((result) => callback(null, result), (error) => callback(error));
    };
  }
  throw new Error(`an async hook cannot be called synchronously`);
}

function runTap(tap: Tap, args: unknown[]): unknown {
  if (tap.type === 'async') {
    return new Promise((resolve, reject) => {
      tap.fn(...args, (error: unknown, result: unknown) => (error ? reject(error) : resolve(result)));
    });
  }
  return tap.fn(...args);
}
