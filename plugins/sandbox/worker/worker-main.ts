// Runs inside the worker: the guests, with their host calls forwarded to the
// runtime's thread. Everything a stub does happens here, so a stub that
// never returns blocks only this thread, which the runtime can terminate.
// A worker hosts one stub by default, several when they share it; each has
// a slot, and nothing of one slot is visible to another.
import type { ErrorCode } from '../../../kernel/errors.ts';
import { InitRefused, isFault, startGuest, type Guest } from '../guest.ts';
import { refusalReports } from '../refusals.ts';
import { Channel, isOutOfBand, type OutOfBand } from './channel.ts';
import type { FromSlot, FromWorker, StubToStart, ToSlot, ToWorker, WorkerSetup } from './protocol.ts';
import { REHEARSAL_BATCH, REHEARSAL_BATCHES, rehearsalStart } from './rehearsal.ts';
import type { Message as RingMessage } from './records.ts';
import { slotSockets, type SlotSockets } from './slot-sockets.ts';
import type { WebSocketConstructor } from '../../transport/stub-sockets.ts';

export interface ParentPort {
  postMessage(message: FromWorker, transfer?: Transferable[]): void;
  on(event: 'message', listener: (message: ToWorker | WorkerSetup | OutOfBand) => void): void;
}

/**
 * How long the worker keeps looking at its ring after a run of messages
 * before it sleeps: a runtime that answers within it (the next batch of a
 * busy hyperty) reaches the stub without an event-loop wake-up.
 */
const WORKER_IDLE_SPIN_MICROS = 1000;
/** Then how long it waits in Atomics.wait (woken in ≈15 µs) before it sleeps in its event loop. */
const WORKER_BLOCKING_WAIT_MS = 5;

interface Slot {
  handle(message: ToSlot): void;
  /** Its stub's own sockets open or opening in this thread. */
  sockets(): number;
  /** Hands over what its stub posted (after a run of messages from the ring). */
  flush(): void;
}

/** What the worker's platform gives it: a WebSocket, where stubs may hold their sockets here (Node). */
export interface WorkerPlatform {
  WebSocket?: WebSocketConstructor;
}

export function runWorker(port: ParentPort, platform: WorkerPlatform = {}): void {
  const slots = new Map<number, Slot>();
  // Shared-memory rings when the runtime offers them (its first message), postMessage otherwise.
  let channel: Channel | undefined;
  const send = (message: FromWorker, transfer?: Transferable[]) => {
    if (channel) channel.send(message as unknown as RingMessage, transfer);
    else port.postMessage(message, transfer);
  };
  // While any stub here has a socket open, the channel waits in short slices
  // so frames are read between them; otherwise it waits as long as it likes.
  const socketsCounted = () => {
    if (channel) channel.readsSockets = [...slots.values()].some((slot) => slot.sockets() > 0);
  };
  const dispatch = (message: ToWorker) => {
    if (message.t === 'start') slots.set(message.s, runSlot(message.s, send, message, platform, socketsCounted, () => slots.delete(message.s)));
    else slots.get(message.s)?.handle(message);
  };
  port.on('message', (message: ToWorker | WorkerSetup | OutOfBand) => {
    if (isOutOfBand(message)) return channel?.fromPort(message);
    if (message.t === 'rings') {
      channel = new Channel({
        sends: 'from-worker', outgoing: message.fromWorker, incoming: message.toWorker,
        post: (data, transfer) => port.postMessage(data as never, transfer),
        receive: (received) => dispatch(received as unknown as ToWorker),
        afterBurst: () => { for (const slot of slots.values()) slot.flush(); },
        idleSpinMicros: WORKER_IDLE_SPIN_MICROS, blockingWaitMs: WORKER_BLOCKING_WAIT_MS, answerSpinMicros: 0,
      });
      return;
    }
    dispatch(message);
  });
  void rehearse(platform);
}

/** The rehearsal's slot: the runtime numbers its slots from 1, so nothing it sends reaches this one. */
const REHEARSAL_SLOT = 0;

/**
 * Runs the built-in stub of rehearsal.ts through what every stub goes
 * through here (start, init, batches in and posts out, stop), sending
 * nothing anywhere: the first real stub then finds this worker's code
 * compiled. Resolves with the batches it echoed (0: it did not start).
 */
export function rehearse(platform: WorkerPlatform = {}): Promise<number> {
  return new Promise((resolve) => {
    let echoed = 0;
    let slot: Slot | undefined;
    const send = (message: FromWorker) => {
      if (message.t === 'posts') echoed += message.batches.length;
      else if (message.t === 'ready') {
        for (let i = 0; i < REHEARSAL_BATCHES; i++) slot!.handle({ t: 'messages', batch: REHEARSAL_BATCH });
        slot!.flush();
        slot!.handle({ t: 'stop' });
      } else if (message.t === 'fault' || message.t === 'init-refused') resolve(0);
    };
    try {
      slot = runSlot(REHEARSAL_SLOT, send, rehearsalStart(), platform, () => {}, () => resolve(echoed));
    } catch {
      // WebAssembly refused here (a page's CSP): so will every stub be, and they will say so.
      resolve(0);
    }
  });
}

function runSlot(s: number, send: (message: FromWorker, transfer?: Transferable[]) => void, start: StubToStart,
  platform: WorkerPlatform, socketsCounted: () => void, gone: () => void): Slot {
  const reply = (message: FromSlot, transfer?: Transferable[]) => send({ s, ...message } as FromWorker, transfer);
  let guest: Guest | undefined;
  let stopped = false;
  let posts: Uint8Array[] = [];
  let done = 0;
  let flushScheduled = false;
  const early: ToSlot[] = [];
  // Per connection: bytes sent that the runtime's thread has not reported
  // handed to the socket yet, and what the socket last said waits in it.
  const unreported = new Map<number, number>();
  const buffered = new Map<number, number>();
  // Refused opens cross bounded (refusals.ts): the guest's, and these of the sockets' own bounds.
  const reportRefused = (code: ErrorCode, count: number, text?: string) =>
    reply(text === undefined ? { t: 'refused', code, count } : { t: 'refused', code, count, message: text });
  const socketRefusals = refusalReports(reportRefused);
  // The stub's own sockets, when the runtime handed them over (Transport.delegate).
  const sockets: SlotSockets | undefined = start.sockets && platform.WebSocket ? slotSockets(platform.WebSocket, start.sockets, {
    onOpen: (conn) => (guest ? guest.onOpen(conn) : early.push({ t: 'open', conn })),
    onFrame: (conn, frame) => {
      if (!guest) return void early.push({ t: 'frames', conn, run: lengthPrefixed(frame), count: 1 });
      guest.onFrame(conn, frame);
      reportMemory();
    },
    onClose: (conn, reason) => (guest ? guest.onClose(conn, reason) : early.push({ t: 'close', conn, reason })),
    report: (event) => reply({ t: 'socket-event', event }),
    refused: (code, text) => socketRefusals.refused(code, text),
    stats: (stats) => reply({ t: 'socket-stats', stats }),
    counted: socketsCounted,
  }) : undefined;
  // The stub's memory after frames, once per turn (the runtime's counters).
  let memoryScheduled = false;
  const reportMemory = () => {
    if (memoryScheduled) return;
    memoryScheduled = true;
    queueMicrotask(() => {
      memoryScheduled = false;
      if (guest) reply({ t: 'memory', memory: guest.memoryBytes() });
    });
  };

  // Posts made during a call (or a burst of calls) cross the boundary once.
  const flushPosts = () => {
    flushScheduled = false;
    if (!posts.length && !done) return;
    const batches = posts;
    posts = [];
    reply({ t: 'posts', batches, done }, batches.map((b) => b.buffer as ArrayBuffer));
    done = 0;
  };
  const scheduleFlush = () => {
    if (flushScheduled) return;
    flushScheduled = true;
    queueMicrotask(flushPosts);
  };

  const handle = (message: ToSlot) => {
    if (message.t === 'ping') return reply({ t: 'pong' });
    if (message.t === 'drain') {
      // What it was given after this point goes back to the runtime unread.
      stopped = true;
      sockets?.closeAll();
      guest?.flushRefusals();
      socketRefusals.flush();
      flushPosts();
      return reply({ t: 'drained' });
    }
    if (message.t === 'stop') {
      stopped = true;
      sockets?.closeAll();
      socketRefusals.flush();
      guest?.stop();
      return gone();
    }
    if (stopped) return;
    if (!guest) return void early.push(message);
    switch (message.t) {
      case 'messages':
        // Batches read from the ring in one burst run back to back, with no
        // microtask between them: the one before is reported done first, or
        // a stub stuck on this one would have it taken for a suspect too.
        if (done) flushPosts();
        guest.deliver(message.batch);
        done++;
        scheduleFlush();
        break;
      case 'open': guest.onOpen(message.conn); break;
      case 'frames': {
        // From the runtime's thread, or frames of the stub's own sockets that came before its init ended.
        const { conn, run, count } = message;
        const view = new DataView(run.buffer, run.byteOffset, run.byteLength);
        let bytes = 0;
        for (let at = 0; at < run.byteLength;) {
          const length = view.getUint32(at, true);
          guest.onFrame(conn, run.subarray(at + 4, at + 4 + length));
          at += 4 + length;
          bytes += length;
        }
        if (sockets) reportMemory();
        else reply({ t: 'taken', conn, bytes, frames: count, memory: guest.memoryBytes() });
        break;
      }
      case 'written':
        unreported.set(message.conn, Math.max(0, (unreported.get(message.conn) ?? 0) - message.bytes));
        buffered.set(message.conn, message.buffered);
        break;
      case 'close':
        unreported.delete(message.conn);
        buffered.delete(message.conn);
        guest.onClose(message.conn, message.reason);
        break;
      default: break;
    }
  };

  void startGuest(start.prepared, {
    post(batch) {
      posts.push(batch.slice());
      scheduleFlush();
    },
    open: (conn, url, protocols) => (sockets ? sockets.open(conn, url, protocols) : reply({ t: 'open', conn, url, protocols })),
    // What it posted before a frame crosses before it: a receipt (an MQTT
    // PUBACK) must never reach the broker ahead of the message it confirms.
    send: (conn, frame) => {
      if (posts.length) flushPosts();
      if (sockets) return sockets.send(conn, frame);
      unreported.set(conn, (unreported.get(conn) ?? 0) + frame.byteLength);
      reply({ t: 'send', conn, frame }, [frame.buffer as ArrayBuffer]);
    },
    // An upper bound: what crossed and was not reported yet may already be
    // on the network (the other thread reports in steps, see worker-sandbox).
    outbound: (conn) => (sockets ? sockets.outbound(conn) : (unreported.get(conn) ?? 0) + (buffered.get(conn) ?? 0)),
    close: (conn) => {
      if (sockets) return sockets.close(conn);
      unreported.delete(conn);
      buffered.delete(conn);
      reply({ t: 'close', conn });
    },
    log: (level, text) => reply({ t: 'log', level, text }),
    refused: reportRefused,
    fault: (code, reason, inMessages) => {
      sockets?.closeAll();
      socketRefusals.flush();
      flushPosts();
      reply({ t: 'fault', code, reason, inMessages });
    },
  }, start.limits, start.config, start.clock).then(
    (started) => {
      flushPosts();
      // Left while starting: nothing of it may keep running.
      if (stopped) return started.stop();
      guest = started;
      reply({ t: 'ready' });
      for (const queued of early.splice(0)) handle(queued);
    },
    (error: unknown) => {
      flushPosts();
      if (error instanceof InitRefused) reply({ t: 'init-refused', reason: error.message });
      else if (isFault(error)) reply({ t: 'fault', code: error.code, reason: error.message, inMessages: false });
      else reply({ t: 'fault', code: 'PF_ERR_COMPONENT_INVALID', reason: error instanceof Error ? error.message : String(error), inMessages: false });
    },
  );
  return { handle, flush: flushPosts, sockets: () => sockets?.size ?? 0 };
}

/** One frame as a `frames` run holds it: a 4-byte little-endian length, then its bytes. */
function lengthPrefixed(frame: Uint8Array): Uint8Array {
  const run = new Uint8Array(4 + frame.byteLength);
  new DataView(run.buffer).setUint32(0, frame.byteLength, true);
  run.set(frame, 4);
  return run;
}
