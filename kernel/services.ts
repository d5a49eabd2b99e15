// What plugins provide to each other through the runtime. The kernel only
// names the shapes; a plugin installs the implementation with `provide`.
import type { Message } from './schemas.ts';
import type { Remover, StubRecord } from './types.ts';

export type Listener = (message: Message) => void;

/** The Message Bus (plugins/bus). */
export interface Bus {
  /** Listens on an address (`to`) or a resource (publications). */
  addListener(address: string, listener: Listener): Remover;
  /** Routes a message: to local listeners, or to the stub of its domain (deploying it first). */
  postMessage(message: Message): void;
  /** Posts what a stub sent, after checking it may send it. */
  postFromStub(stubURL: string, message: unknown): void;
  /**
   * Resolves once the stub serving the address's domain has confirmed it
   * receives messages for it (its RESPONSE to the SUBSCRIBE control message).
   */
  whenSubscribed(address: string, timeoutMs?: number): Promise<void>;
  /** Gives messages a stopped stub had not finished back to the front of its queue. */
  requeue(stub: StubRecord, messages: readonly Message[]): void;
}

/** The Runtime Registry (plugins/registry). */
export interface Registry {
  get(domain: string): StubRecord | undefined;
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
}
