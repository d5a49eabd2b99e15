// The runtime's side of a sandbox: what a stub's host calls do once they
// reach the runtime's thread. Shared by the in-thread and worker sandboxes.
import { batchItemBytes } from '../../kernel/cbor-batch.ts';
import { decodeBatch } from '../../kernel/cbor.ts';
import { describe, isProtoflyError, pfError, ProtoflyError, type ErrorCode } from '../../kernel/errors.ts';
import { countRejection } from '../../kernel/rejections.ts';
import type { Runtime } from '../../kernel/runtime.ts';
import type { StubRecord } from '../../kernel/types.ts';
import { refusalReports } from './refusals.ts';

export interface GuestEvents {
  onOpen(conn: number): void;
  onFrame(conn: number, frame: Uint8Array): void;
  onClose(conn: number, reason: string): void;
}

export interface StubHostSide {
  post(batch: Uint8Array): void;
  open(conn: number, url: string, protocols: string[]): void;
  send(conn: number, frame: Uint8Array): void;
  /** Bytes sent on `conn` that wait to be written to the network. */
  outbound(conn: number): number;
  /** The stub took frames `conn` delivered (see Transport.taken). */
  taken(conn: number, bytes: number, frames: number): void;
  close(conn: number): void;
  log(level: number, text: string): void;
  /** The guest refused the stub an `open` (GuestHost.refused): counted, and an error event when `message` is given. */
  refused(code: ErrorCode, count: number, message?: string): void;
  closeAll(): void;
  /** How many connections the stub has open (or opening). */
  connections(): number;
}

export function createStubHost(runtime: Runtime, record: StubRecord, events: () => GuestEvents): StubHostSide {
  const where = { domain: record.domain.name, stubURL: record.stubURL };
  const transport = runtime.service('transport');
  // The guest numbers its connections; the transport numbers its own.
  const toTransport = new Map<number, number>();
  const toGuest = new Map<number, number>();
  const refused = (code: ErrorCode, count: number, message?: string) => {
    countRejection(record, code, count);
    // The error is made here, on this side of any thread boundary: a
    // ProtoflyError does not cross one as such.
    if (message !== undefined) runtime.hooks.error.call(new ProtoflyError(code, message, where));
  };
  // The transport's own refusals (below), bounded like the guest's.
  const transportRefusals = refusalReports(refused);

  return {
    post(batch) {
      // Every byte the stub posts, what the bus then refuses included.
      record.counters.bytesOut += batchItemBytes(batch);
      let messages: unknown[];
      try {
        messages = decodeBatch(batch);
      } catch (error) {
        countRejection(record, 'PF_ERR_CBOR');
        runtime.hooks.error.call(isProtoflyError(error)
          ? pfError('PF_ERR_CBOR', [error.message.replace(/^invalid CBOR: /, '')], { ...where, cause: error })
          : pfError('PF_ERR_CBOR', [describe(error)], where));
        return;
      }
      runtime.bus.postFromStub(record.stubURL, messages);
    },
    open(conn, url, protocols) {
      // events() is asked when an event comes, not now: a stub opens its
      // connection during init, before the in-thread guest exists.
      try {
        const id = transport.open(record, url, protocols, {
          onOpen: () => events().onOpen(conn),
          onFrame: (_id, frame) => events().onFrame(conn, frame),
          onClose: (id, reason) => {
            toTransport.delete(conn);
            toGuest.delete(id);
            events().onClose(conn, reason);
          },
        });
        toTransport.set(conn, id);
        toGuest.set(id, conn);
      } catch (error) {
        // The guest checked already; this is the second line of defence
        // (the transport's own connection limit may be lower), reported
        // the way the guest's refusals are, and to the stub as a close.
        const refusal = isProtoflyError(error) ? error : pfError('PF_ERR_CONNECT_REFUSED', [url], where);
        transportRefusals.refused(refusal.code, refusal.message);
        setTimeout(() => events().onClose(conn, describe(error)), 0);
      }
    },
    send(conn, frame) {
      const id = toTransport.get(conn);
      if (id === undefined) return;
      try {
        transport.send(record, id, frame);
      } catch {
        // Closing already: its on-close is on the way.
      }
    },
    outbound(conn) {
      const id = toTransport.get(conn);
      return id === undefined ? 0 : transport.buffered(record, id);
    },
    taken(conn, bytes, frames) {
      const id = toTransport.get(conn);
      if (id !== undefined) transport.taken(record, id, bytes, frames);
    },
    close(conn) {
      const id = toTransport.get(conn);
      toTransport.delete(conn);
      if (id !== undefined) {
        toGuest.delete(id);
        transport.close(record, id);
      }
    },
    log(level, text) {
      runtime.hooks.stubLog.call(record, level, text);
    },
    refused,
    connections: () => toTransport.size,
    closeAll() {
      transportRefusals.flush();
      toTransport.clear();
      toGuest.clear();
      transport.closeAll(record);
    },
  };
}
