// The in-thread sandbox, where speed matters most: the guest runs in the
// runtime's own thread, with no thread to wake on the way in or out. A trap
// fails only the stub. Nothing can stop a call from outside here, so the
// stub's code is metered (metering/meter.ts): a call past its time limit
// traps, on the direct path and through jco alike (unless the runtime was
// told `sandbox.meterInThread: false`, for stubs it trusts).
import type { ErrorCode, ProtoflyError } from '../../kernel/errors.ts';
import { pfError } from '../../kernel/errors.ts';
import type { Runtime } from '../../kernel/runtime.ts';
import type { Message } from '../../kernel/schemas.ts';
import type { StubInstance, StubRecord } from '../../kernel/types.ts';
import type { PreparedComponent } from './component-instance.ts';
import { InitRefused, isFault, startGuest, type Guest, type GuestLimits } from './guest.ts';
import { createStubHost } from './stub-host.ts';
import { batchItemBytes } from '../../kernel/cbor-batch.ts';
import { encodeBatch } from '../../kernel/cbor.ts';

export interface SandboxStart {
  runtime: Runtime;
  record: StubRecord;
  prepared: PreparedComponent;
  config: Uint8Array;
  limits: GuestLimits & { callTimeoutMs: number };
  /**
   * Called once when the stub dies after its init, with the messages it took
   * with it; the first `suspects` were in the call it died in.
   */
  onFault(error: ProtoflyError, unprocessed: Message[], suspects: number): void;
}

export async function startInThread(start: SandboxStart): Promise<StubInstance> {
  const { runtime, record } = start;
  const where = { domain: record.domain.name, stubURL: record.stubURL };
  let guest: Guest | undefined;
  let stopped = false;
  // The batch being handed over: if the stub dies on it, its senders hear so.
  let current: readonly Message[] = [];
  // Frames reach the stub at once here: taken as soon as its call returns.
  const events = {
    onOpen: (conn: number) => guest!.onOpen(conn),
    onFrame: (conn: number, frame: Uint8Array) => {
      guest!.onFrame(conn, frame);
      host.taken(conn, frame.byteLength, 1);
      record.counters.memoryBytes = guest!.memoryBytes();
    },
    onClose: (conn: number, reason: string) => guest!.onClose(conn, reason),
  };
  const host = createStubHost(runtime, record, () => events);
  try {
    guest = await startGuest(start.prepared, {
      post: (batch) => host.post(batch),
      open: (conn, url, protocols) => host.open(conn, url, protocols),
      send: (conn, frame) => host.send(conn, frame),
      outbound: (conn) => host.outbound(conn),
      close: (conn) => host.close(conn),
      log: (level, text) => host.log(level, text),
      refused: (code, count, message) => host.refused(code, count, message),
      fault: (code, reason, inMessages) => {
        stopped = true;
        host.closeAll();
        // Calls here are synchronous: only a batch being handed over can be lost.
        const unprocessed = [...current];
        start.onFault(faultError(code, reason, where, start.limits.callTimeoutMs), unprocessed, inMessages ? unprocessed.length : 0);
      },
    }, start.limits, start.config);
  } catch (error) {
    host.closeAll();
    throw initError(error, where, start.limits.callTimeoutMs);
  }
  return {
    deliver(messages, done) {
      if (stopped) return;
      current = messages;
      try {
        const batch = encodeBatch(messages);
        record.counters.bytesIn += batchItemBytes(batch);
        guest!.deliver(batch);
      } finally {
        current = [];
      }
      if (!stopped) done?.();
    },
    hasConnections: () => host.connections() > 0,
    async dispose() {
      stopped = true;
      guest!.stop();
      host.closeAll();
      // Calls here are synchronous: nothing handed over is left unfinished.
      return [];
    },
  };
}

export function initError(error: unknown, where: { domain: string; stubURL: string }, callTimeoutMs: number): ProtoflyError {
  if (error instanceof InitRefused) return pfError('PF_ERR_STUB_INIT', [error.message], where);
  if (isFault(error)) return faultError(error.code, error.message, where, callTimeoutMs);
  return error as ProtoflyError;
}

/** A fault the guest reported, in its code's words (a timeout's reason is the call it stopped: `init`, `call`). */
function faultError(code: ErrorCode, reason: string, where: { domain: string; stubURL: string }, callTimeoutMs: number): ProtoflyError {
  if (code === 'PF_ERR_STUB_TIMEOUT') return pfError(code, [reason, callTimeoutMs], where);
  return pfError(code, [reason] as never, where);
}
