// The stub's side of the sandbox: instantiates the component and guards every
// call into it. The same code runs in the runtime's thread (trusted stubs)
// and inside a worker (the default), so both behave the same.
import { batchLength } from '../../kernel/cbor-batch.ts';
import { describe, ERRORS, type ErrorCode } from '../../kernel/errors.ts';
import { isAllowed } from '../transport/connect-policy.ts';
import { instantiateComponent, type HostImports, type PreparedComponent, type StubExports } from './component-instance.ts';
import { refusalReports } from './refusals.ts';

/** What the guest asks of the host side (directly, or across the worker boundary). */
export interface GuestHost {
  /** `batch` may be a view of the stub's memory, valid only during the call. */
  post(batch: Uint8Array): void;
  /** Opens `conn`; failures come back as `onClose(conn, reason)`. */
  open(conn: number, url: string, protocols: string[]): void;
  send(conn: number, frame: Uint8Array): void;
  /** Bytes sent on `conn` that are not yet written to the network (as far as this side knows). */
  outbound(conn: number): number;
  close(conn: number): void;
  log(level: number, text: string): void;
  /**
   * The stub was refused something it asked for (an `open`: PF_ERR_CONNECT_REFUSED,
   * PF_ERR_CONNECTION_LIMIT). With `message`, one refusal to report as an
   * error event; without, `count` more that were only counted (refusals.ts
   * bounds the events, never the count).
   */
  refused(code: ErrorCode, count: number, message?: string): void;
  /**
   * The stub is dead; the host reports it (a dead stub cannot speak).
   * `inMessages`: it died inside `on-messages`, so the batch it held may be why.
   */
  fault(code: ErrorCode, reason: string, inMessages: boolean): void;
}

export interface GuestLimits {
  connect: string[];
  maxConnections: number;
  maxTimers: number;
  /** Posts (batches) per second before the stub is cut off. */
  maxPostsPerSecond: number;
  /** Messages per second, however they are batched, before the stub is cut off. */
  maxMessagesPerSecond: number;
  /** Bytes of batches per second before the stub is cut off. */
  maxBytesPerSecond: number;
  maxPostBytes: number;
  maxMemoryBytes: number;
  /** Bytes waiting to be written on a connection past which `send` answers `congested:`. */
  maxOutboundBytes: number;
  /**
   * How long one call may run, for a metered stub (metering/meter.ts: the
   * in-thread sandbox's). A worker's stub is timed from outside instead.
   */
  callTimeoutMs?: number;
}

export interface Guest {
  deliver(batch: Uint8Array): void;
  onOpen(conn: number): void;
  onFrame(conn: number, frame: Uint8Array): void;
  onClose(conn: number, reason: string): void;
  stop(): void;
  /** Hands over the count of refusals held back (refusals.ts): the stub is going. */
  flushRefusals(): void;
  /** The stub's linear memory, in bytes (it grows, never shrinks). */
  memoryBytes(): number;
}

/** `init` answered `err`: the stub's own refusal, not a crash. */
export class InitRefused extends Error {}

/**
 * `busy[0]` is non-zero while a call into the stub runs (CALL_MESSAGES for
 * `on-messages`, CALL_OTHER for any other) and `busy[1]` counts calls, so a
 * watchdog in another thread can tell a stuck call from a busy stub, and
 * whether the messages it was handed are suspects.
 */
export type CallClock = Int32Array;
export const CALL_MESSAGES = 1;
export const CALL_OTHER = 2;

class Fault extends Error {
  constructor(readonly code: ErrorCode, reason: string) { super(reason); }
}

export async function startGuest(prepared: PreparedComponent, host: GuestHost, limits: GuestLimits,
  config: Uint8Array, clock?: CallClock): Promise<Guest> {
  const timers = new Map<number, ReturnType<typeof setTimeout>>();
  const conns = new Map<number, 'opening' | 'open'>();
  let nextTimer = 1;
  let nextConn = 1;
  let dead = false;
  let depth = 0;
  let pending: Fault | undefined;
  // Token buckets for posts, messages and bytes, refilled continuously, all
  // three at once. Each holds a second's worth; as the clock is read only
  // when one runs dry, a stub quiet for a while may burst up to twice that
  // before the rate holds it.
  const { maxPostsPerSecond, maxMessagesPerSecond, maxBytesPerSecond } = limits;
  let posts = maxPostsPerSecond;
  let messages = maxMessagesPerSecond;
  let bytes = maxBytesPerSecond;
  let refilledAt = performance.now();
  const refusals = refusalReports((code, count, message) => host.refused(code, count, message));

  const imports: HostImports = {
    post(batch) {
      const size = batch.byteLength;
      if (size > limits.maxPostBytes) {
        throw abort('PF_ERR_STUB_FLOOD', `a batch of ${size} bytes, over the ${limits.maxPostBytes}-byte limit (maxPostBytes)`);
      }
      const count = batchLength(batch);
      // The clock is read only when a bucket runs dry: the same limits,
      // without a clock read per post.
      if (posts < 1 || messages < count || bytes < size) {
        const now = performance.now();
        const seconds = (now - refilledAt) / 1000;
        refilledAt = now;
        posts = Math.min(maxPostsPerSecond, posts + seconds * maxPostsPerSecond);
        messages = Math.min(maxMessagesPerSecond, messages + seconds * maxMessagesPerSecond);
        bytes = Math.min(maxBytesPerSecond, bytes + seconds * maxBytesPerSecond);
        if (posts < 1) throw abort('PF_ERR_STUB_FLOOD', `more than ${maxPostsPerSecond} posts per second (maxPostsPerSecond)`);
        if (messages < count) throw abort('PF_ERR_STUB_FLOOD', `more than ${maxMessagesPerSecond} messages per second (maxMessagesPerSecond)`);
        if (bytes < size) throw abort('PF_ERR_STUB_FLOOD', `more than ${maxBytesPerSecond} bytes per second (maxBytesPerSecond)`);
      }
      posts--;
      messages -= count;
      bytes -= size;
      // A view of the stub's memory on the direct path: the host decodes it
      // at once or copies it (the worker transfers its own copy).
      host.post(batch);
    },
    open(url, protocols) {
      // jco lowers a thrown string into the `err` case of the result. The
      // operator hears of it too: a refused open is a security event.
      if (!isAllowed(url, limits.connect)) {
        refusals.refused('PF_ERR_CONNECT_REFUSED', ERRORS.PF_ERR_CONNECT_REFUSED(url));
        throw `${url} is outside the descriptor's connect list`;
      }
      if (conns.size >= limits.maxConnections) {
        refusals.refused('PF_ERR_CONNECTION_LIMIT', ERRORS.PF_ERR_CONNECTION_LIMIT(url, limits.maxConnections));
        throw `no more than ${limits.maxConnections} connections`;
      }
      const conn = nextConn++;
      conns.set(conn, 'opening');
      host.open(conn, url, [...protocols]);
      return conn;
    },
    send(conn, frame) {
      if (conns.get(conn) !== 'open') throw `connection ${conn} is not open`;
      // Refused, not queued without end: the stub keeps the frame and tries
      // again later (stubs/CONTRACT.md, "Connections").
      const waiting = host.outbound(conn);
      if (waiting >= limits.maxOutboundBytes) throw `congested: ${waiting} bytes wait to be sent on connection ${conn} (limits.maxOutboundBytes ${limits.maxOutboundBytes})`;
      host.send(conn, frame.slice());
    },
    close(conn) {
      if (conns.delete(conn)) host.close(conn);
    },
    setTimer(ms) {
      if (timers.size >= limits.maxTimers) throw abort('PF_ERR_STUB_TRAP', `more than ${limits.maxTimers} timers at once`);
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
      host.log(level, text);
    },
  };

  function abort(code: ErrorCode, reason: string): Fault {
    pending ??= new Fault(code, reason);
    return pending;
  }

  // A metered stub asks every so many iterations whether its call may go
  // on: past its limit, it is told to trap (and the fault is a timeout).
  // Only a metered stub's calls are timed here: a clock read per call is not free.
  const metered = prepared.metered === true;
  let callStartedAt = 0;
  let callKind: 'init' | 'call' = 'init';
  const tick = () => {
    if (limits.callTimeoutMs === undefined || performance.now() - callStartedAt <= limits.callTimeoutMs) return 0;
    abort('PF_ERR_STUB_TIMEOUT', callKind);
    return 1;
  };

  const { exports, memories } = await instantiateComponent(prepared, imports, tick);

  function classify(what: string, error: unknown): Fault {
    if (pending) return pending;
    if ((error as { code?: unknown })?.code === 'PF_ERR_ABI') return new Fault('PF_ERR_ABI', `${what}: ${describe(error)}`);
    // Near the cap: the failed grow may have asked for more than what was left.
    const slack = Math.max(1024 * 1024, limits.maxMemoryBytes / 10);
    const full = memories.some((m) => m.buffer.byteLength >= limits.maxMemoryBytes - slack);
    if (full) return new Fault('PF_ERR_STUB_MEMORY', `${what}: its memory reached the ${limits.maxMemoryBytes / 1048576} MiB limit (${describe(error)})`);
    return new Fault('PF_ERR_STUB_TRAP', `${what}: ${describe(error)}`);
  }

  // Calls into the stub never nest: one that arrives while the stub runs
  // (a host import calling back) waits for the current call to end.
  function call(what: string, run: (stub: StubExports) => void): void {
    if (dead) return;
    if (depth > 0) {
      queueMicrotask(() => call(what, run));
      return;
    }
    depth++;
    callKind = 'call';
    if (metered) callStartedAt = performance.now();
    const kind = what === 'on-messages' ? CALL_MESSAGES : CALL_OTHER;
    if (clock) { Atomics.add(clock, 1, 1); Atomics.store(clock, 0, kind); }
    try {
      run(exports);
      if (pending) throw pending;
    } catch (error) {
      const fault = classify(what, error);
      stop();
      host.fault(fault.code, fault.message, kind === CALL_MESSAGES);
    } finally {
      if (clock) Atomics.store(clock, 0, 0);
      depth--;
    }
  }

  function stop(): void {
    dead = true;
    refusals.flush();
    for (const timer of timers.values()) clearTimeout(timer);
    timers.clear();
    for (const conn of conns.keys()) host.close(conn);
    conns.clear();
  }

  depth++;
  if (metered) callStartedAt = performance.now();
  if (clock) { Atomics.add(clock, 1, 1); Atomics.store(clock, 0, CALL_OTHER); }
  try {
    exports.init(config);
    if (pending) throw pending;
  } catch (error) {
    stop();
    if (error && typeof error === 'object' && 'payload' in error && !pending) throw new InitRefused(describe(error));
    const fault = classify('init', error);
    throw fault;
  } finally {
    if (clock) Atomics.store(clock, 0, 0);
    depth--;
  }

  return {
    deliver: (batch) => call('on-messages', (s) => s.onMessages(batch)),
    onOpen(conn) {
      if (conns.get(conn) !== 'opening') return;
      conns.set(conn, 'open');
      call('on-open', (s) => s.onOpen(conn));
    },
    onFrame(conn, frame) {
      if (conns.get(conn) === 'open') call('on-frame', (s) => s.onFrame(conn, frame));
    },
    onClose(conn, reason) {
      if (conns.delete(conn)) call('on-close', (s) => s.onClose(conn, reason));
    },
    stop,
    flushRefusals: refusals.flush,
    memoryBytes: () => memories.reduce((sum, memory) => sum + memory.buffer.byteLength, 0),
  };
}

export function isFault(error: unknown): error is { code: ErrorCode; message: string } {
  return error instanceof Fault;
}
