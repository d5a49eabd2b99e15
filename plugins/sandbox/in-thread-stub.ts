// A stub instance running in the runtime's own thread: every call into it is
// guarded, so a trap fails the stub and never the host.
import { encodeBatch, encodeCbor, decodeBatch } from '../../kernel/cbor.ts';
import { describe, isProtoflyError, pfError, type ProtoflyError } from '../../kernel/errors.ts';
import type { Runtime } from '../../kernel/runtime.ts';
import type { StubConfig, Message } from '../../kernel/schemas.ts';
import type { StubInstance, StubRecord } from '../../kernel/types.ts';
import type { HostImports, LoadedComponent, StubExports } from './component-loader.ts';

export interface InThreadStubOptions {
  runtime: Runtime;
  record: StubRecord;
  component: LoadedComponent;
  config: StubConfig;
  /** Called once when the stub traps or breaks the rules after its init. */
  onFault(error: ProtoflyError): void;
  maxTimers: number;
}

export async function startInThreadStub(options: InThreadStubOptions): Promise<StubInstance> {
  const { runtime, record } = options;
  const where = { domain: record.domain.name, stubURL: record.stubURL };
  const timers = new Map<number, ReturnType<typeof setTimeout>>();
  let nextTimer = 1;
  let exports: StubExports | undefined;
  let dead = false;
  let depth = 0;

  const transport = () => runtime.service('transport');
  const connectionEvents = {
    onOpen: (conn: number) => call('on-open', (s) => s.onOpen(conn)),
    onFrame: (conn: number, frame: Uint8Array) => call('on-frame', (s) => s.onFrame(conn, frame)),
    onClose: (conn: number, reason: string) => call('on-close', (s) => s.onClose(conn, reason)),
  };

  const host: HostImports = {
    post(batch) {
      let messages: unknown[];
      try {
        messages = decodeBatch(batch);
      } catch (error) {
        record.counters.rejected++;
        runtime.hooks.error.call(isProtoflyError(error) ? withStub(error) : pfError('PF_ERR_CBOR', [describe(error)], where));
        return;
      }
      for (const message of messages) runtime.bus.postFromStub(record.stubURL, message);
    },
    open(url, protocols) {
      try {
        return transport().open(record, url, protocols, connectionEvents);
      } catch (error) {
        // jco lowers a thrown value into the `err` case of the result.
        throw describe(error);
      }
    },
    send(conn, frame) {
      try {
        transport().send(record, conn, frame.slice());
      } catch (error) {
        throw describe(error);
      }
    },
    close(conn) {
      transport().close(record, conn);
    },
    setTimer(ms) {
      if (timers.size >= options.maxTimers) {
        fault(pfError('PF_ERR_STUB_TRAP', [`more than ${options.maxTimers} timers at once`], where));
        return 0;
      }
      const id = nextTimer++;
      timers.set(id, setTimeout(() => {
        timers.delete(id);
        call('on-timer', (s) => s.onTimer(id));
      }, ms));
      return id;
    },
    clearTimer(id) {
      clearTimeout(timers.get(id));
      timers.delete(id);
    },
    log(level, text) {
      runtime.hooks.stubLog.call(record, level, text);
    },
  };

  function withStub(error: ProtoflyError): ProtoflyError {
    return pfError(error.code, [error.message] as never, { ...where, cause: error });
  }

  // Calls into the stub never nest: one that arrives while the stub is
  // running (a host import calling back) waits for the current call to end.
  function call(what: string, run: (stub: StubExports) => void): void {
    if (dead || !exports) return;
    if (depth > 0) {
      queueMicrotask(() => call(what, run));
      return;
    }
    depth++;
    try {
      run(exports);
    } catch (error) {
      fault(pfError('PF_ERR_STUB_TRAP', [`${what}: ${describe(error)}`], { ...where, cause: error }));
    } finally {
      depth--;
    }
  }

  function fault(error: ProtoflyError): void {
    if (dead) return;
    stop();
    options.onFault(error);
  }

  function stop(): void {
    dead = true;
    for (const timer of timers.values()) clearTimeout(timer);
    timers.clear();
    runtime.service('transport').closeAll(record);
  }

  exports = await options.component.instantiate(host);
  depth++;
  try {
    exports.init(encodeCbor(options.config));
  } catch (error) {
    stop();
    const detail = describe(error);
    // An `err` from init is the stub's answer; anything else is a trap.
    throw error && typeof error === 'object' && 'payload' in error
      ? pfError('PF_ERR_STUB_INIT', [detail], { ...where, cause: error })
      : pfError('PF_ERR_STUB_TRAP', [`init: ${detail}`], { ...where, cause: error });
  } finally {
    depth--;
  }

  return {
    deliver(messages: readonly Message[]) {
      call('on-messages', (s) => s.onMessages(encodeBatch(messages)));
    },
    async dispose() {
      if (!dead) stop();
      exports = undefined;
    },
  };
}
