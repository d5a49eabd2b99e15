// What crosses the worker boundary. Byte payloads travel in transferred
// buffers; posts made during one call travel together. A worker may host
// several stubs (`stubsPerWorker`): every message names the stub's slot `s`.
import type { ErrorCode } from '../../../kernel/errors.ts';
import type { ConnectionStats, SocketEvent, SocketPolicy } from '../../../kernel/services.ts';
import type { PreparedComponent } from '../component-instance.ts';
import type { GuestLimits } from '../guest.ts';

export type ToWorker = { s: number } & ToSlot;

/**
 * The runtime's first message to a worker where shared memory exists: from
 * then on every message crosses through these rings (channel.ts), a
 * message the rings cannot carry by postMessage in its place.
 */
export interface WorkerSetup { t: 'rings'; toWorker: SharedArrayBuffer; fromWorker: SharedArrayBuffer }
export type FromWorker = { s: number } & FromSlot;

export type ToSlot =
  /** `sockets`: the stub holds its sockets in the worker, under this policy (Transport.delegate). */
  | { t: 'start'; prepared: PreparedComponent; config: Uint8Array; limits: GuestLimits; clock?: Int32Array; sockets?: SocketPolicy }
  /** The stub leaves a worker that keeps running for others. */
  | { t: 'stop' }
  /** The stub is about to be stopped: it hands over what it posted and takes nothing more (answered `drained`). */
  | { t: 'drain' }
  | { t: 'messages'; batch: Uint8Array }
  | { t: 'open'; conn: number }
  /**
   * `count` frames of one connection that arrived in one turn, each a 4-byte
   * little-endian length and its bytes (answered `taken`).
   */
  | { t: 'frames'; conn: number; run: Uint8Array; count: number }
  /**
   * What became of the stub's sends on `conn`: `bytes` more were handed to the
   * socket, and `buffered` bytes wait in it to be written (its send bound).
   */
  | { t: 'written'; conn: number; bytes: number; buffered: number }
  | { t: 'close'; conn: number; reason: string }
  /** The watchdog without shared memory: answered only between calls. */
  | { t: 'ping' };

/** The message that starts a stub in a slot. */
export type StubToStart = Extract<ToSlot, { t: 'start' }>;

export type FromSlot =
  | { t: 'ready' }
  | { t: 'init-refused'; reason: string }
  /** `done`: how many `messages` deliveries finished since the last report. */
  | { t: 'posts'; batches: Uint8Array[]; done: number }
  | { t: 'open'; conn: number; url: string; protocols: string[] }
  | { t: 'send'; conn: number; frame: Uint8Array }
  /** The stub returned from its calls for a `frames` message; `memory`: its linear memory now, in bytes. */
  | { t: 'taken'; conn: number; bytes: number; frames: number; memory: number }
  | { t: 'close'; conn: number }
  | { t: 'log'; level: number; text: string }
  /**
   * The stub was refused an `open`, by the guest (GuestHost.refused) or its
   * own sockets' bounds: with `message`, one the operator hears of; without,
   * `count` more only to be counted. A few a second at most (refusals.ts),
   * so it needs no ring layout.
   */
  | { t: 'refused'; code: ErrorCode; count: number; message?: string }
  /** `inMessages`: it died inside `on-messages` (the oldest batch not reported done is why, maybe). */
  | { t: 'fault'; code: ErrorCode; reason: string; inMessages: boolean }
  | { t: 'pong' }
  | { t: 'drained' }
  /** Of the stub's own sockets (it holds them in the worker): an event the operator hears of, and its connections as they stand. */
  | { t: 'socket-event'; event: SocketEvent }
  | { t: 'socket-stats'; stats: ConnectionStats[] }
  /** The stub's linear memory now, in bytes, after frames from its own sockets. */
  | { t: 'memory'; memory: number };

/** The part of a Worker (Node's or the browser's) the sandbox uses. */
export interface WorkerPort {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  onMessage(listener: (message: unknown) => void): void;
  /** The worker died on its own (out of memory, an uncaught error). */
  onError(listener: (error: Error) => void): void;
  terminate(): Promise<unknown> | void;
}

/** Starts a new worker running `worker-main`'s `runWorker`. */
export type SpawnWorker = (options: { maxHeapMiB: number }) => WorkerPort | Promise<WorkerPort>;
