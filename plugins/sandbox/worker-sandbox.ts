// The default sandbox: each stub in a worker of its own (or sharing one, see
// worker/seats.ts). Messages cross as CBOR batches in transferred buffers; a
// call that runs past its time limit gets the worker terminated, never
// blocking the runtime's thread.
import { batchItemBytes } from '../../kernel/cbor-batch.ts';
import { encodeBatch } from '../../kernel/cbor.ts';
import { pfError, type ProtoflyError } from '../../kernel/errors.ts';
import type { Message } from '../../kernel/schemas.ts';
import type { StubInstance } from '../../kernel/types.ts';
import { CALL_MESSAGES } from './guest.ts';
import type { SandboxStart } from './in-thread.ts';
import { createStubHost, type GuestEvents } from './stub-host.ts';
import type { FromSlot, ToSlot } from './worker/protocol.ts';
import { takeSeat } from './worker/seats.ts';
import type { Workers } from './worker/spare-workers.ts';

export interface WorkerSandboxOptions {
  /** Where new workers come from (a spare, when one is kept). */
  workers: Workers;
  maxHeapMiB: number;
  /** Messages per call into the stub; a longer batch is handed over in parts. */
  maxBatch: number;
  /** Stubs that may share one worker (1: a worker each). */
  stubsPerWorker: number;
}

/** How long a stub being stopped has to hand over what it posted. */
const DRAIN_MS = 500;

export async function startInWorker(start: SandboxStart, options: WorkerSandboxOptions): Promise<StubInstance> {
  const { runtime, record, limits } = start;
  const where = { domain: record.domain.name, stubURL: record.stubURL };
  const shared = typeof SharedArrayBuffer === 'function' && (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated !== false;
  const clock = shared ? new Int32Array(new SharedArrayBuffer(8)) : undefined;
  // Without a call clock a stuck worker is known only by its silence, which
  // would blame every stub in it: sharing needs the clock.
  const stubsPerWorker = clock ? options.stubsPerWorker : 1;
  const worker = await takeSeat(options.workers, stubsPerWorker, { message: onMessage, lost: onLost });
  const send = (message: ToSlot, transfer: Transferable[] = []) => { if (!dead) worker.send(message, transfer); };
  // Frames that arrive in one turn (a socket read holds thousands of small
  // ones) cross to the worker together, one buffer per connection. Each is
  // copied in as it comes: no object per frame outlives its event, so a
  // flood of tiny frames leaves garbage that dies young, not a heap to sweep.
  const arriving = new Map<number, FrameRun>();
  let framesScheduled = false;
  const sendFrames = () => {
    framesScheduled = false;
    for (const [conn, run] of arriving) send({ t: 'frames', conn, run: run.bytes.subarray(0, run.length), count: run.count }, [run.bytes.buffer]);
    arriving.clear();
  };
  const events: GuestEvents = {
    onOpen: (conn) => send({ t: 'open', conn }),
    onFrame: (conn, frame) => {
      let run = arriving.get(conn);
      if (!run) arriving.set(conn, run = newRun(frame.byteLength));
      appendFrame(run, frame);
      if (!framesScheduled) {
        framesScheduled = true;
        settled.then(sendFrames);
      }
    },
    onClose: (conn, reason) => {
      // Its frames go first: a stub hears of a close after what came before it.
      sendFrames();
      written.forget(conn);
      send({ t: 'close', conn, reason });
    },
  };
  const host = createStubHost(runtime, record, () => events);
  // The stub's sockets in its worker, where the transport lets them be.
  const transport = runtime.service('transport');
  let delegated = transport.delegate?.(record);
  const written = trackWritten(host, limits.maxOutboundBytes, (conn, bytes, buffered) => send({ t: 'written', conn, bytes, buffered }));
  let dead = false;
  let started = false;
  // Being stopped on purpose: it still hands over what it posted (drain).
  let draining: (() => void) | undefined;
  // Batches handed to the worker and not yet reported done, oldest first.
  const unacknowledged: Array<{ messages: readonly Message[]; done?: () => void }> = [];
  let settle: { resolve(): void; reject(error: ProtoflyError): void } | undefined;

  // A stuck call takes the whole worker down; any other fault only this
  // stub's slot (the thread is fine). A worker already gone is left be.
  // `inMessages`: the stub died in `on-messages`, which it runs in order, so
  // the oldest batch not reported done is the one it held.
  const kill = (error: ProtoflyError, thread: 'leave' | 'terminate' | 'gone' = 'leave', inMessages = false) => {
    if (dead) return;
    // Already being stopped: the stop goes on, no fault is reported.
    if (draining) return draining();
    dead = true;
    clearInterval(watchdog);
    written.stop();
    host.closeAll();
    if (thread === 'leave') void worker.leave();
    else if (thread === 'terminate') void worker.terminate();
    if (!started) return settle?.reject(error);
    const suspects = inMessages ? unacknowledged[0]?.messages.length ?? 0 : 0;
    start.onFault(error, unacknowledged.splice(0).flatMap((b) => b.messages), suspects);
  };

  // The watchdog. With shared memory (Node; cross-origin isolated pages) it
  // reads the call clock: a call that is still the same call after
  // callTimeoutMs is stuck. Without, it pings: a worker inside a call cannot
  // answer, so no answer for callTimeoutMs means stuck.
  let lastCall = -1;
  let since = performance.now();
  let lastPong = performance.now();
  const tickMs = Math.max(5, Math.min(250, Math.floor(limits.callTimeoutMs / 4)));
  const watchdog = setInterval(() => {
    const now = performance.now();
    if (!clock) {
      if (now - lastPong >= limits.callTimeoutMs + tickMs) {
        // Which call is stuck is not known without the clock: the oldest
        // batch not reported done is blamed (a batch of one is then taken
        // for the poison, though a timer or a frame may have been the call).
        kill(pfError('PF_ERR_STUB_TIMEOUT', [started ? 'call' : 'init', limits.callTimeoutMs], where), 'terminate', true);
      } else {
        send({ t: 'ping' });
      }
      return;
    }
    const busy = Atomics.load(clock, 0) !== 0;
    const call = Atomics.load(clock, 1);
    if (!busy || call !== lastCall) {
      lastCall = call;
      since = now;
      return;
    }
    if (now - since >= limits.callTimeoutMs) {
      const inMessages = Atomics.load(clock, 0) === CALL_MESSAGES;
      kill(pfError('PF_ERR_STUB_TIMEOUT', [started ? 'call' : 'init', limits.callTimeoutMs], where), 'terminate', inMessages);
    }
  }, tickMs);
  (watchdog as { unref?: () => void }).unref?.();

  function onLost(error: Error, byNeighbour: boolean): void {
    const outOfMemory = /out of memory|ERR_WORKER_OUT_OF_MEMORY/i.test(`${(error as { code?: string }).code} ${error.message}`);
    // In a shared worker nobody knows whose allocation broke the heap.
    const heap = `its worker ran out of heap (${options.maxHeapMiB} MiB${stubsPerWorker > 1 ? ', shared' : ''})`;
    // A neighbour's fault leaves nothing suspect: all it held is handed back.
    kill(byNeighbour ? pfError('PF_ERR_WORKER_LOST', [error.message], where)
      : outOfMemory ? pfError('PF_ERR_STUB_MEMORY', [heap], where)
        : pfError('PF_ERR_STUB_TRAP', [`its worker died: ${error.message}`], where), 'gone', !byNeighbour);
  }

  function onMessage(message: FromSlot): void {
    if (dead) return;
    if (draining) {
      // Nothing it did after its connections closed counts as carried: what
      // it was handed stays unacknowledged and goes back to the bus.
      if (message.t === 'posts') for (const batch of message.batches) host.post(batch);
      if (message.t === 'refused') host.refused(message.code, message.count, message.message);
      if (message.t === 'drained') draining();
      return;
    }
    switch (message.t) {
      case 'posts': {
        const finished = unacknowledged.splice(0, message.done);
        for (const batch of message.batches) host.post(batch);
        for (const batch of finished) batch.done?.();
        break;
      }
      case 'open':
        // A worker with no WebSocket of its own hands its stub's sockets back.
        if (delegated) {
          delegated.release();
          delegated = undefined;
        }
        host.open(message.conn, message.url, message.protocols);
        break;
      case 'send':
        host.send(message.conn, message.frame);
        written.sent(message.conn, message.frame.byteLength);
        break;
      case 'taken':
        host.taken(message.conn, message.bytes, message.frames);
        record.counters.memoryBytes = message.memory;
        break;
      case 'close': host.close(message.conn); break;
      case 'log': host.log(message.level, message.text); break;
      case 'refused': host.refused(message.code, message.count, message.message); break;
      case 'socket-event': delegated?.report(message.event); break;
      case 'socket-stats': delegated?.stats(message.stats); break;
      case 'memory': record.counters.memoryBytes = message.memory; break;
      case 'pong': lastPong = performance.now(); break;
      case 'ready': started = true; settle?.resolve(); break;
      case 'init-refused': kill(pfError('PF_ERR_STUB_INIT', [message.reason], where)); break;
      case 'fault': kill(pfError(message.code, [message.reason] as never, where), 'leave', message.inMessages); break;
      default: break;
    }
  }

  await new Promise<void>((resolve, reject) => {
    settle = { resolve, reject };
    send({ t: 'start', prepared: start.prepared, config: start.config, limits, clock, ...(delegated ? { sockets: delegated.policy } : {}) });
  });

  return {
    deliver(messages, done) {
      // A long batch goes in parts: the stub works on one while this thread
      // encodes the next and decodes what came back, instead of each thread
      // waiting for the other's whole share.
      for (let from = 0; from < messages.length; from += options.maxBatch) {
        const part = messages.length <= options.maxBatch ? messages : messages.slice(from, from + options.maxBatch);
        // A copy of its own to transfer: cbor-x hands out views of a buffer
        // it reuses (and Buffer#slice would be another view of it).
        const batch = new Uint8Array(encodeBatch(part));
        record.counters.bytesIn += batchItemBytes(batch);
        const last = from + options.maxBatch >= messages.length;
        unacknowledged.push({ messages: part, done: last ? done : undefined });
        send({ t: 'messages', batch }, [batch.buffer as ArrayBuffer]);
      }
    },
    async dispose() {
      if (dead || draining) return [];
      clearInterval(watchdog);
      written.stop();
      host.closeAll();
      // What it posted before it goes (a message it took from its back-end
      // and already confirmed there) reaches the bus; bounded, for a stub
      // stuck in a call never answers.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, DRAIN_MS);
        draining = () => { clearTimeout(timer); resolve(); };
        send({ t: 'drain' });
      });
      dead = true;
      await worker.leave();
      return unacknowledged.splice(0).flatMap((b) => b.messages);
    },
    // A worker's sockets are known by what it last reported of them.
    hasConnections: () => (delegated ? transport.connections(record).length : host.connections()) > 0,
  };
}

const settled = Promise.resolve();

/** Frames of one connection on their way to the worker: each a 4-byte length (little-endian) and its bytes. */
interface FrameRun { bytes: Uint8Array; view: DataView; length: number; count: number }

function newRun(first: number): FrameRun {
  const bytes = new Uint8Array(Math.max(64 * 1024, first + 4));
  return { bytes, view: new DataView(bytes.buffer), length: 0, count: 0 };
}

function appendFrame(run: FrameRun, frame: Uint8Array): void {
  const need = run.length + 4 + frame.byteLength;
  if (need > run.bytes.byteLength) {
    const grown = new Uint8Array(Math.max(need, run.bytes.byteLength * 2));
    grown.set(run.bytes.subarray(0, run.length));
    run.bytes = grown;
    run.view = new DataView(grown.buffer);
  }
  run.view.setUint32(run.length, frame.byteLength, true);
  run.bytes.set(frame, run.length + 4);
  run.length = need;
  run.count++;
}
/** How often a connection with bytes waiting in its socket is looked at again. */
const WRITTEN_POLL_MS = 10;

/**
 * Tells the worker what became of its stub's sends, so the guest can answer
 * `congested:` without asking across threads. Reports go in steps (an eighth
 * of the bound handed to the socket, or whenever bytes wait in it), not one
 * per frame: the guest's view is then an upper bound that is never more than
 * a step too high, and the hot path pays one report per step.
 */
function trackWritten(host: { outbound(conn: number): number }, maxOutboundBytes: number,
  report: (conn: number, bytes: number, buffered: number) => void) {
  const step = Math.max(1, Math.floor(maxOutboundBytes / 8));
  const unreported = new Map<number, number>();
  const lastBuffered = new Map<number, number>();
  let poll: ReturnType<typeof setTimeout> | undefined;
  const look = () => {
    poll = undefined;
    let waiting = false;
    for (const conn of new Set([...unreported.keys(), ...lastBuffered.keys()])) {
      const bytes = unreported.get(conn) ?? 0;
      const buffered = host.outbound(conn);
      if (bytes >= step || buffered !== (lastBuffered.get(conn) ?? 0)) {
        report(conn, bytes, buffered);
        unreported.delete(conn);
        if (buffered) lastBuffered.set(conn, buffered);
        else lastBuffered.delete(conn);
      }
      if (buffered) waiting = true;
    }
    // Nothing tells when a socket's buffer drains: look again while it holds bytes.
    if (waiting) poll = setTimeout(look, WRITTEN_POLL_MS);
  };
  return {
    sent(conn: number, bytes: number) {
      const total = (unreported.get(conn) ?? 0) + bytes;
      unreported.set(conn, total);
      if (!poll && (total >= step || host.outbound(conn) > 0)) poll = setTimeout(look, 0);
    },
    forget(conn: number) {
      unreported.delete(conn);
      lastBuffered.delete(conn);
    },
    stop() {
      clearTimeout(poll);
      poll = undefined;
    },
  };
}
