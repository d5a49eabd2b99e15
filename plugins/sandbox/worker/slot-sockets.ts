// A stub's sockets held in its own worker (Transport.delegate): the stub's
// sends go to the network from here, and what the network sends reaches the
// stub here, without crossing to the runtime's thread and back. The bounds
// are the runtime's (StubSockets under the policy it handed over); what the
// operator must hear (error events, counters, the connections as they stand)
// is reported across.
import { describe, isProtoflyError, type ErrorCode } from '../../../kernel/errors.ts';
import type { ConnectionStats, SocketEvent, SocketPolicy } from '../../../kernel/services.ts';
import { StubSockets, type WebSocketConstructor } from '../../transport/stub-sockets.ts';

export interface SlotSocketsEvents {
  onOpen(conn: number): void;
  /** The stub has taken the frame when this returns. */
  onFrame(conn: number, frame: Uint8Array): void;
  onClose(conn: number, reason: string): void;
  report(event: SocketEvent): void;
  /** An open the sockets' own bounds refused (a second line behind the guest's): the operator hears of it as of the guest's. */
  refused(code: ErrorCode, message: string): void;
  stats(stats: ConnectionStats[]): void;
  /** A connection opened or ended: `size` is how many are open or opening now. */
  counted(size: number): void;
}

/** While a socket holds unwritten bytes, how often the runtime hears how many (nothing announces a drain). */
const STATS_POLL_MS = 10;

export function slotSockets(WebSocket: WebSocketConstructor, policy: SocketPolicy, events: SlotSocketsEvents) {
  const sockets = new StubSockets(WebSocket, policy, {
    error: (error) => events.report({ kind: 'error', code: error.code, message: error.message }),
    rejected: (code) => events.report({ kind: 'rejected', code }),
    paused: () => events.report({ kind: 'paused' }),
    connectionError: (error) => events.report(error
      ? { kind: 'connection-error', code: error.code, message: error.message }
      : { kind: 'connection-error' }),
  });
  // The guest numbers its connections; the sockets number their own.
  const ids = new Map<number, number>();
  let poll: ReturnType<typeof setTimeout> | undefined;
  let lastReported = '';
  const report = () => {
    poll = undefined;
    const stats = sockets.stats();
    // Only what changed crosses; the buffered bytes are what a reader watches.
    const key = stats.map((s) => `${s.url} ${s.buffered} ${s.paused}`).join('\n');
    if (key !== lastReported) {
      lastReported = key;
      events.stats(stats);
    }
    if (stats.some((s) => s.buffered > 0)) poll = setTimeout(report, STATS_POLL_MS);
  };
  const reportSoon = () => {
    events.counted(sockets.size);
    poll ??= setTimeout(report, 0);
  };

  return {
    open(conn: number, url: string, protocols: string[]): void {
      try {
        const id = sockets.open(url, protocols, {
          onOpen: () => events.onOpen(conn),
          onFrame: (_id, frame) => {
            events.onFrame(conn, frame);
            sockets.taken(id, frame.byteLength, 1);
          },
          onClose: (_id, reason) => {
            ids.delete(conn);
            reportSoon();
            events.onClose(conn, reason);
          },
        });
        ids.set(conn, id);
        reportSoon();
      } catch (error) {
        // The guest checked already; this is the second line of defence
        // (the transport's own connection limit may be lower), counted and
        // reported like the guest's refusals, and to the stub as a close.
        if (isProtoflyError(error)) events.refused(error.code, error.message);
        setTimeout(() => events.onClose(conn, describe(error)), 0);
      }
    },
    send(conn: number, frame: Uint8Array): void {
      const id = ids.get(conn);
      if (id === undefined) return;
      try {
        sockets.send(id, frame);
      } catch {
        // Closing already: its on-close is on the way.
        return;
      }
      if (sockets.buffered(id) > 0) reportSoon();
    },
    outbound(conn: number): number {
      const id = ids.get(conn);
      return id === undefined ? 0 : sockets.buffered(id);
    },
    close(conn: number): void {
      const id = ids.get(conn);
      ids.delete(conn);
      if (id !== undefined) sockets.close(id);
      reportSoon();
    },
    closeAll(): void {
      ids.clear();
      clearTimeout(poll);
      poll = undefined;
      sockets.closeAll();
      events.counted(0);
      events.stats([]);
    },
    /** Whether any connection is open or opening. */
    get size(): number {
      return sockets.size;
    },
  };
}

export type SlotSockets = ReturnType<typeof slotSockets>;
