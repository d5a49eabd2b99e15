// WebSocket connections for stubs: open/send/close from the stub, and
// on-open/on-frame/on-close back into it, always from a later turn of the
// event loop, never from inside the stub's own call.
import { describe, pfError, type ProtoflyError } from '../../kernel/errors.ts';
import type { Plugin } from '../../kernel/runtime.ts';
import type { ConnectionEvents, Transport } from '../../kernel/services.ts';
import type { StubRecord } from '../../kernel/types.ts';
import { isAllowed } from './connect-policy.ts';

/** The standard WebSocket API: the browser's, or `ws` in Node. */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
}
/**
 * The third argument is `ws`'s options in Node (`maxPayload`: a frame that
 * announces more is refused from its header, before it is buffered); a
 * browser's WebSocket ignores it.
 */
export type WebSocketConstructor = new (url: string, protocols?: string[], options?: { maxPayload?: number }) => WebSocketLike;

/** Default `limits.maxFrameBytes`: far below a stub's memory (128 MiB), above the bus's largest message (1 MiB). */
export const DEFAULT_MAX_FRAME_BYTES = 4 * 1024 * 1024;

export interface TransportOptions {
  WebSocket: WebSocketConstructor;
  /** Connections one stub may hold at once. */
  maxConnections?: number;
}

const OPEN = 1;

export function transportPlugin(options: TransportOptions): Plugin {
  return {
    name: 'TransportPlugin',
    apply(runtime) {
      const transport = new WebSocketTransport(options, (error) => runtime.hooks.error.call(error));
      runtime.provide('transport', transport);
      runtime.hooks.undeploy.tapPromise('TransportPlugin', async (record) => transport.closeAll(record));
    },
  };
}

class WebSocketTransport implements Transport {
  readonly #options: TransportOptions;
  /** An error event for the operator: a frame refused, a fault on the way to a stub. */
  readonly #errorEvent: (error: ProtoflyError) => void;
  readonly #byStub = new Map<string, Map<number, WebSocketLike>>();
  #nextConn = 1;

  constructor(options: TransportOptions, errorEvent: (error: ProtoflyError) => void) {
    this.#options = options;
    this.#errorEvent = errorEvent;
  }

  open(stub: StubRecord, url: string, protocols: string[], events: ConnectionEvents): number {
    const where = { domain: stub.domain.name, stubURL: stub.stubURL };
    if (!isAllowed(url, stub.descriptor.connect)) throw pfError('PF_ERR_CONNECT_REFUSED', [url], where);
    const conns = this.#connections(stub);
    if (conns.size >= (this.#options.maxConnections ?? 8)) throw pfError('PF_ERR_CONNECT_REFUSED', [`${url} (too many connections)`], where);
    const conn = this.#nextConn++;
    const maxFrameBytes = stub.descriptor.limits?.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    let socket: WebSocketLike;
    try {
      socket = new this.#options.WebSocket(url, protocols, { maxPayload: maxFrameBytes });
    } catch (error) {
      // A malformed URL or protocol list: report it as a close, like any other failure.
      setTimeout(() => events.onClose(conn, error instanceof Error ? error.message : String(error)), 0);
      return conn;
    }
    socket.binaryType = 'arraybuffer';
    const guarded = <A extends unknown[]>(handler: (...args: A) => void) => (...args: A) => {
      try {
        handler(...args);
      } catch (error) {
        // A fault on the way from a socket to a stub is reported, never thrown
        // into the socket library's event loop (where it would end the process).
        this.#errorEvent(pfError('PF_ERR_PLUGIN', ['transport', describe(error)], { ...where, cause: error }));
      }
    };
    let closed = false;
    const finish = (reason: string) => {
      if (closed) return;
      closed = true;
      conns.delete(conn);
      events.onClose(conn, reason);
    };
    // A frame over the limit closes the connection: reported to the stub
    // (on-close), the operator (an error event) and the stub's counters.
    const tooLarge = () => {
      const error = pfError('PF_ERR_FRAME_TOO_LARGE', [url, maxFrameBytes], where);
      stub.counters.rejected++;
      this.#errorEvent(error);
      try { socket.close(1009, 'frame too large'); } catch { /* already closing */ }
      finish(`${error.code}: ${error.message}`);
    };
    socket.onopen = guarded(() => events.onOpen(conn));
    socket.onmessage = guarded(({ data }: { data: unknown }) => {
      const frame = typeof data === 'string' ? new TextEncoder().encode(data)
        : data instanceof ArrayBuffer ? new Uint8Array(data)
          : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : undefined;
      if (!frame || closed) return;
      // Where the socket could not refuse it from its header (a browser).
      if (frame.byteLength > maxFrameBytes) return tooLarge();
      events.onFrame(conn, frame);
    });
    socket.onerror = guarded((event: unknown) => {
      const cause = (event as { error?: { code?: string } })?.error;
      if (cause?.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') return tooLarge();
      const message = (event as { message?: string; error?: Error })?.message ?? (event as { error?: Error })?.error?.message;
      finish(message ? `connection error: ${message}` : 'connection error');
    });
    socket.onclose = guarded(({ code, reason }: { code: number; reason: string }) => finish(reason ? `closed (${code}): ${reason}` : `closed (${code})`));
    conns.set(conn, socket);
    return conn;
  }

  send(stub: StubRecord, conn: number, frame: Uint8Array): void {
    const socket = this.#byStub.get(stub.stubURL)?.get(conn);
    if (!socket || socket.readyState !== OPEN) throw new Error(`connection ${conn} is not open`);
    socket.send(frame);
  }

  close(stub: StubRecord, conn: number): void {
    const conns = this.#byStub.get(stub.stubURL);
    const socket = conns?.get(conn);
    if (!socket) return;
    socket.close(1000, 'closed by stub');
  }

  closeAll(stub: StubRecord): void {
    const conns = this.#byStub.get(stub.stubURL);
    if (!conns) return;
    this.#byStub.delete(stub.stubURL);
    for (const socket of conns.values()) {
      socket.onclose = socket.onmessage = socket.onopen = null;
      // Not null: closing a socket still connecting makes `ws` emit an error
      // later, and an error nobody listens to would end the process.
      socket.onerror = ignore;
      try { socket.close(1001, 'stub stopped'); } catch { /* already closing */ }
    }
  }

  #connections(stub: StubRecord): Map<number, WebSocketLike> {
    let conns = this.#byStub.get(stub.stubURL);
    if (!conns) {
      conns = new Map();
      this.#byStub.set(stub.stubURL, conns);
    }
    return conns;
  }
}

const ignore = () => {};
