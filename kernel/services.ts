// What plugins provide to each other through the runtime. The kernel only
// names the shapes; a plugin installs the implementation with `provide`.
import type { MetricsService } from './metrics.ts';
import type { Message } from './schemas.ts';
import type { Remover, StubRecord } from './types.ts';

export type Listener = (message: Message) => void;

/** The Message Bus (plugins/bus). */
export interface Bus {
  /** Listens on an address (`to`) or a resource (publications). */
  addListener(address: string, listener: Listener): Remover;
  /** Routes a message: to local listeners, or to the stub of its domain (deploying it first). */
  postMessage(message: Message): void;
  /** Posts what a stub sent (one batch, decoded), each message after checking the stub may send it. */
  postFromStub(stubURL: string, messages: readonly unknown[]): void;
  /**
   * Resolves once the stub serving the address's domain has confirmed it
   * receives messages for it (its RESPONSE to the SUBSCRIBE control message).
   */
  whenSubscribed(address: string, timeoutMs?: number): Promise<void>;
  /** Gives messages a stopped stub had not finished back to the front of its queue. */
  requeue(stub: StubRecord, messages: readonly Message[]): void;
  /** Which of the domain's stubs (by name) carries its remote addresses (runtime.route). */
  route(domain: string, name: string): void;
  /** The name of the stub that carries the domain's remote addresses (`default` unless routed). */
  routeOf(domain: string): string;
}

/** The Runtime Registry (plugins/registry). */
export interface Registry {
  /** The domain's stub of that name (`default` when not given). */
  get(domain: string, name?: string): StubRecord | undefined;
  byStubURL(stubURL: string): StubRecord | undefined;
  list(): StubRecord[];
}

/** Byte transports for stubs (plugins/transport). */
export interface Transport {
  open(stub: StubRecord, url: string, protocols: string[], events: ConnectionEvents): number;
  send(stub: StubRecord, conn: number, frame: Uint8Array): void;
  /** Bytes handed to `send` on `conn` that are not yet written to the network. */
  buffered(stub: StubRecord, conn: number): number;
  /**
   * The stub took `frames` frames (`bytes` bytes) of what `conn` delivered:
   * they no longer count against the connection's inbound bound, and a
   * socket paused for it is read again once half of what waits is taken.
   */
  taken(stub: StubRecord, conn: number, bytes: number, frames: number): void;
  close(stub: StubRecord, conn: number): void;
  closeAll(stub: StubRecord): void;
  /** What each of the stub's connections holds now, each way. */
  connections(stub: StubRecord): ConnectionStats[];
  /**
   * Lets the stub's worker hold its sockets itself, under the same policy:
   * what that policy is, and where the worker's reports go. `undefined`:
   * the stub's sockets stay with this transport.
   */
  delegate?(stub: StubRecord): DelegatedSockets | undefined;
}

/** PEM certificates of authorities to trust for `wss://`. */
export type TrustedCA = string | Uint8Array | Array<string | Uint8Array>;

/** How much one stub connection may hold in the host, each way (plugins/transport/limits.ts). */
export interface ConnectionLimits {
  maxFrameBytes: number;
  maxInboundBytes: number;
  maxInboundFrames: number;
  maxOutboundBytes: number;
}

/** What bounds one stub's connections: plain data, so it can cross to a worker. */
export interface SocketPolicy {
  where: { domain: string; stubURL: string };
  /** The descriptor's `connect` list. */
  connect: readonly string[];
  maxConnections: number;
  limits: ConnectionLimits;
  ca?: TrustedCA;
}

/** A stub's sockets held by its worker (see Transport.delegate). */
export interface DelegatedSockets {
  /** Plain data (it crosses to the worker): the connect list, the limits, the trusted CAs. */
  policy: SocketPolicy;
  /** What the worker saw: an error event, a refused frame, a paused socket, a connection's failure (none: it opened). */
  report(event: SocketEvent): void;
  /** The worker's sockets as they stand (Transport.connections). */
  stats(stats: ConnectionStats[]): void;
  /** The worker could not hold them (its platform has no WebSocket): they are this transport's again. */
  release(): void;
}

export interface SocketEvent {
  kind: 'error' | 'rejected' | 'paused' | 'connection-error';
  /** An error's code and message (a ProtoflyError does not cross threads as one); a rejection's code. */
  code?: string;
  message?: string;
}

export interface ConnectionStats {
  url: string;
  /** Frames received and not yet taken by the stub, and their bytes. */
  waitingFrames: number;
  waitingBytes: number;
  /** Not being read until the stub takes what waits. */
  paused: boolean;
  /** Bytes sent and not yet written to the network. */
  buffered: number;
}

export interface ConnectionEvents {
  onOpen(conn: number): void;
  onFrame(conn: number, frame: Uint8Array): void;
  onClose(conn: number, reason: string): void;
}

export interface Services {
  bus: Bus;
  registry: Registry;
  transport: Transport;
  metrics: MetricsService;
}
