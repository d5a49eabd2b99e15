// One stub's WebSocket connections, with every bound protofly puts on them:
// the connect list and the connection limit (a second line behind the
// guest's own checks), the frame size, what waits for the stub to take it,
// and the operator's view of each fault. Nothing here knows the runtime: the
// runtime's thread runs one per stub (transport plugin), and a stub's worker
// runs its stub's own (sockets beside the stub: a frame crosses no thread).
import { describe, pfError, type ErrorCode, type ProtoflyError } from '../../kernel/errors.ts';
import type { ConnectionEvents, ConnectionStats, SocketPolicy, TrustedCA } from '../../kernel/services.ts';
import { isAllowed } from './connect-policy.ts';

/** The standard WebSocket API: the browser's, or `ws` in Node. */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  /** Bytes handed to `send` and not yet written to the network. */
  readonly bufferedAmount: number;
  /** Stops (and starts again) reading the socket: `ws` in Node has these, a browser's WebSocket does not. */
  pause?(): void;
  resume?(): void;
  /** `ws`'s own event, without the DOM-style event object `onmessage` makes for every frame. */
  on?(event: 'message', listener: (data: unknown) => void): unknown;
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
export type WebSocketConstructor = new (url: string, protocols?: string[],
  options?: { maxPayload?: number; perMessageDeflate?: boolean; ca?: TrustedCA }) => WebSocketLike;

export type { TrustedCA };
/** What bounds one stub's connections (kernel/services.ts). */
export type StubSocketsPolicy = SocketPolicy;

/** What the operator and the stub's record hear of its connections. */
export interface StubSocketsReports {
  /** An error event: a frame refused, a certificate that does not check out, a fault on the way to the stub. */
  error(error: ProtoflyError): void;
  /** Something the peer sent was refused, for this reason (the stub's `rejected` counters). */
  rejected(code: ErrorCode): void;
  /** A socket stopped being read until the stub catches up (`inboundPauses`). */
  paused(): void;
  /** The connection's failure to report if the deploy fails for it (`undefined`: it opened). */
  connectionError(error: ProtoflyError | undefined): void;
}

/**
 * Node's codes for a certificate that does not check out: an unknown or
 * self-signed authority, a name that does not match, a date out of range.
 */
const TLS_CODES = /^(ERR_TLS_|UNABLE_TO_|SELF_SIGNED_|DEPTH_ZERO_|CERT_|ERR_SSL_)/;

const OPEN = 1;

interface Connection {
  socket: WebSocketLike;
  url: string;
  /** Handed to the stub and not yet taken (reported by `taken`). */
  waitingBytes: number;
  waitingFrames: number;
  /** The socket is not being read until the stub catches up. */
  paused: boolean;
  /** The stub has heard of its end (or is gone): nothing more reaches it. */
  closed: boolean;
}

export class StubSockets {
  readonly #WebSocket: WebSocketConstructor;
  readonly #policy: StubSocketsPolicy;
  readonly #reports: StubSocketsReports;
  readonly #conns = new Map<number, Connection>();
  #nextConn = 1;

  constructor(WebSocket: WebSocketConstructor, policy: StubSocketsPolicy, reports: StubSocketsReports) {
    this.#WebSocket = WebSocket;
    this.#policy = policy;
    this.#reports = reports;
  }

  get size(): number {
    return this.#conns.size;
  }

  /** Opens a connection; refused (thrown) outside the connect list (PF_ERR_CONNECT_REFUSED) or past the limit (PF_ERR_CONNECTION_LIMIT). */
  open(url: string, protocols: string[], events: ConnectionEvents): number {
    const { where, limits } = this.#policy;
    if (!isAllowed(url, this.#policy.connect)) throw pfError('PF_ERR_CONNECT_REFUSED', [url], where);
    if (this.#conns.size >= this.#policy.maxConnections) throw pfError('PF_ERR_CONNECTION_LIMIT', [url, this.#policy.maxConnections], where);
    const conn = this.#nextConn++;
    const { maxFrameBytes } = limits;
    let socket: WebSocketLike;
    try {
      socket = new this.#WebSocket(url, protocols, {
        maxPayload: maxFrameBytes, perMessageDeflate: false, ...(this.#policy.ca ? { ca: this.#policy.ca } : {}),
      });
    } catch (error) {
      // A malformed URL or protocol list: report it as a close, like any other failure.
      setTimeout(() => events.onClose(conn, error instanceof Error ? error.message : String(error)), 0);
      return conn;
    }
    // `ws` (it can pause) hands a frame over as a view of what it read, no
    // copy; a browser's WebSocket as an ArrayBuffer of its own.
    socket.binaryType = socket.pause ? 'nodebuffer' : 'arraybuffer';
    const connection: Connection = { socket, url, waitingBytes: 0, waitingFrames: 0, paused: false, closed: false };
    const guarded = <A extends unknown[]>(handler: (...args: A) => void) => (...args: A) => {
      try {
        handler(...args);
      } catch (error) {
        // A fault on the way from a socket to a stub is reported, never thrown
        // into the socket library's event loop (where it would end the process).
        this.#reports.error(pfError('PF_ERR_PLUGIN', ['transport', describe(error)], { ...where, cause: error }));
      }
    };
    const finish = (reason: string) => {
      if (connection.closed) return;
      connection.closed = true;
      this.#conns.delete(conn);
      events.onClose(conn, reason);
    };
    // A frame over the limit closes the connection: reported to the stub
    // (on-close), the operator (an error event) and the stub's counters.
    const refuse = (error: ProtoflyError, closeCode: number) => {
      this.#reports.rejected(error.code);
      this.#reports.error(error);
      try { socket.close(closeCode, error.code); } catch { /* already closing */ }
      finish(`${error.code}: ${error.message}`);
    };
    const tooLarge = () => refuse(pfError('PF_ERR_FRAME_TOO_LARGE', [url, maxFrameBytes], where), 1009);
    socket.onopen = guarded(() => {
      this.#reports.connectionError(undefined);
      events.onOpen(conn);
    });
    const receive = guarded((data: unknown) => {
      const frame = data instanceof Uint8Array ? data
        : typeof data === 'string' ? new TextEncoder().encode(data)
          : data instanceof ArrayBuffer ? new Uint8Array(data) : undefined;
      if (!frame || connection.closed) return;
      // Where the socket could not refuse it from its header (a browser).
      if (frame.byteLength > maxFrameBytes) return tooLarge();
      connection.waitingBytes += frame.byteLength;
      connection.waitingFrames++;
      events.onFrame(conn, frame);
      if (connection.paused || connection.closed) return;
      if (connection.waitingBytes <= limits.maxInboundBytes && connection.waitingFrames <= limits.maxInboundFrames) return;
      if (socket.pause) {
        // The rest of what the socket already read still arrives; nothing more
        // is read until the stub has taken half of what waits (`taken`).
        connection.paused = true;
        this.#reports.paused();
        socket.pause();
      } else {
        // A browser reads on whatever the page does: the only bound left is closing.
        refuse(pfError('PF_ERR_INBOUND_FULL', [url, connection.waitingBytes, connection.waitingFrames], where), 1008);
      }
    });
    // A flood of tiny frames is where the cost per frame shows: in Node,
    // `ws`'s own event; elsewhere the standard one.
    if (socket.on) socket.on('message', receive);
    else socket.onmessage = ({ data }) => receive(data);
    socket.onerror = guarded((event: unknown) => {
      const cause = (event as { error?: { code?: string } })?.error;
      if (cause?.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') return tooLarge();
      // A certificate that does not check out: the operator and the deploy
      // hear it by its own code, not as one more unreachable back-end.
      if (cause?.code && TLS_CODES.test(cause.code)) {
        const error = pfError('PF_ERR_TLS', [url, `${cause.code}: ${(cause as { message?: string }).message ?? ''}`], where);
        this.#reports.connectionError(error);
        this.#reports.error(error);
        return finish(`${error.code}: ${error.message}`);
      }
      const message = (event as { message?: string; error?: Error })?.message ?? (event as { error?: Error })?.error?.message;
      finish(message ? `connection error: ${message}` : 'connection error');
    });
    socket.onclose = guarded(({ code, reason }: { code: number; reason: string }) => finish(reason ? `closed (${code}): ${reason}` : `closed (${code})`));
    this.#conns.set(conn, connection);
    return conn;
  }

  /**
   * The stub took `frames` frames (`bytes` bytes) of what `conn` delivered:
   * they no longer count against the inbound bound, and a socket paused for
   * it is read again once half of what waits is taken.
   */
  taken(conn: number, bytes: number, frames: number): void {
    const connection = this.#conns.get(conn);
    if (!connection) return;
    connection.waitingBytes = Math.max(0, connection.waitingBytes - bytes);
    connection.waitingFrames = Math.max(0, connection.waitingFrames - frames);
    const { limits } = this.#policy;
    // Half-way down, not just under the bound: one pause per half a bound of
    // frames, not one per frame.
    if (connection.paused && connection.waitingBytes <= limits.maxInboundBytes / 2 && connection.waitingFrames <= limits.maxInboundFrames / 2) {
      connection.paused = false;
      connection.socket.resume?.();
    }
  }

  /** Throws when `conn` is not open (closing already: its on-close is on the way). */
  send(conn: number, frame: Uint8Array): void {
    const connection = this.#conns.get(conn);
    if (!connection || connection.socket.readyState !== OPEN) throw new Error(`connection ${conn} is not open`);
    connection.socket.send(frame);
  }

  /** Bytes handed to `send` on `conn` that are not yet written to the network. */
  buffered(conn: number): number {
    return this.#conns.get(conn)?.socket.bufferedAmount ?? 0;
  }

  close(conn: number): void {
    this.#conns.get(conn)?.socket.close(1000, 'closed by stub');
  }

  closeAll(): void {
    for (const connection of this.#conns.values()) {
      const { socket } = connection;
      connection.closed = true;
      socket.onclose = socket.onmessage = socket.onopen = null;
      // Not null: closing a socket still connecting makes `ws` emit an error
      // later, and an error nobody listens to would end the process.
      socket.onerror = ignore;
      try { socket.close(1001, 'stub stopped'); } catch { /* already closing */ }
    }
    this.#conns.clear();
  }

  stats(): ConnectionStats[] {
    return [...this.#conns.values()].map(({ url, waitingFrames, waitingBytes, paused, socket }) =>
      ({ url, waitingFrames, waitingBytes, paused, buffered: socket.bufferedAmount }));
  }
}

const ignore = () => {};
