// One side of the runtime ↔ worker boundary over two shared-memory rings, one
// each way. A message with a layout (records.ts) is written into the ring; one
// without (the compiled module of a `start`), or too big for the ring, goes
// by postMessage and leaves a stand-in record in its place, so the other side
// reads every message in the order it was sent.
//
// Waiting, in three stages, each cheaper to hold and slower to leave: after
// a run of messages a side spins on the ring for some µs (a round trip then
// costs ≈1 µs of waking); the worker then waits in Atomics.wait for a few
// ms, in slices between which its timers and postMessages run (woken by
// Atomics.notify, ≈15 µs); then either side sleeps in its event loop and is
// woken by a one-word postMessage (Atomics.waitAsync was tried for this: in
// Node its wake-up took twice as long as a postMessage). The runtime's side
// spins only for an answer it expects soon: after sending to a worker that
// was awake, and not for a stub whose answers keep missing the spin.
import { HEAD, RingReader, RingWriter, SLEEPING, WAITING, maxRecord } from './ring.ts';
import { OUT_OF_BAND, OUT_OF_BAND_SIZE, kindAt, measure, outOfBandId, read, write, writeOutOfBand, type Direction, type Message } from './records.ts';

/**
 * What goes by postMessage beside the rings: a message the ring cannot carry
 * (`oob`, its stand-in's number), or a wake-up: records wait (`wake`), room
 * was freed (`room`).
 */
export type OutOfBand = { oob: number; message: Message } | { wake: true } | { room: true };

export const isOutOfBand = (data: unknown): data is OutOfBand => {
  const d = data as Record<string, unknown> | null;
  return typeof d?.oob === 'number' || d?.wake === true || d?.room === true;
};

export interface ChannelOptions {
  /** What this side sends: `to-worker` on the runtime's side. */
  sends: Direction;
  outgoing: SharedArrayBuffer;
  incoming: SharedArrayBuffer;
  /** postMessage to the other side. */
  post(data: OutOfBand, transfer: Transferable[]): void;
  receive(message: Message): void;
  /** After each run of received messages, before this side spins or sleeps (the worker hands over what its stubs posted). */
  afterBurst?(): void;
  /**
   * The longest this side spins for more after a run of messages, in µs (0:
   * it never does). It spins about twice the usual gap between runs when
   * that is shorter, and hardly at all for a side that is seldom written to.
   */
  idleSpinMicros: number;
  /** How long it then waits in Atomics.wait, in ms (0: never; not on a page's main thread). */
  blockingWaitMs: number;
  /** How long it spins for an answer after sending, in µs (0: never). */
  answerSpinMicros: number;
}

/** Whether rings can be used here: shared memory (Node; a cross-origin isolated page). */
export function ringsAvailable(): boolean {
  return typeof SharedArrayBuffer === 'function' && (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated !== false;
}

/** Work at most this long in one task before letting timers and postMessage in. */
const BURST_BUDGET_MS = 2;
/** What a side spins at least (when it spins at all): a burst's stragglers. */
const MIN_IDLE_SPIN_MICROS = 20;
/** One Atomics.wait at most this long: timers and postMessages run between two. */
const WAIT_SLICE_MS = 0.5;
/**
 * The same, and the longest spin, where sockets are read in this thread
 * (stubs holding their own): a frame is read between two slices, so a slice
 * is what a frame may wait.
 */
const IO_WAIT_SLICE_MS = 0.05;
const IO_IDLE_SPIN_MICROS = 50;
/**
 * A spin looks at the ring this many times between two reads of the clock.
 * performance.now() costs ≈90 ns in Node 20 and leaves a 16-byte heap
 * number each call (22 million calls: 344 scavenges), so a spin that read
 * it on every look made garbage at ≈180 MB/s, and the threads that spin
 * most (a stub's worker between messages) were scavenged every few ms. A
 * look is one Atomics.load: a spin still ends within ≈1 µs of its time.
 */
const LOOKS_PER_CLOCK_READ = 64;
/** SLEEPING: awake; in Atomics.wait (notify to wake); in the event loop (post to wake). */
const AWAKE = 0;
const BLOCKED = 2;
const ASLEEP = 1;
/** Spins for an answer that found none before the runtime's side stops trying… */
const MISSES_BEFORE_BACKOFF = 4;
/**
 * …for this many sends at first, twice as many each time the spins after
 * a back-off miss again, up to the most: a stub that answers at once and
 * was held up for a moment (a collection, the OS) is spun for again soon,
 * and one that answers only from the network (an MQTT publish) is
 * hardly spun for at all.
 */
const FIRST_BACKOFF_SENDS = 16;
const MOST_BACKOFF_SENDS = 1024;

export class Channel {
  private readonly writer: RingWriter;
  private readonly reader: RingReader;
  private readonly maxRecord: number;
  private readonly pending: Array<[Message, Transferable[]]> = [];
  private readonly arrived = new Map<number, Message>();
  private nextOutOfBand = 1;
  private blockedOn: number | undefined;
  private pumping = false;
  private waitingForRoom = false;
  private spinScheduled = false;
  private misses = 0;
  private backoffSends = FIRST_BACKOFF_SENDS;
  private backoff = 0;
  private closed = false;
  /** Sockets are read in this thread: it waits in short slices and spins little (see IO_WAIT_SLICE_MS). */
  readsSockets = false;

  constructor(private readonly options: ChannelOptions) {
    this.writer = new RingWriter(options.outgoing);
    this.reader = new RingReader(options.incoming);
    this.maxRecord = maxRecord(this.writer.memory.capacity);
    this.sleep();
  }

  send(message: Message, transfer: Transferable[] = []): void {
    if (this.closed) return;
    if (this.pending.length || !this.write(message, transfer)) {
      this.pending.push([message, transfer]);
      this.waitForRoom();
      return;
    }
    // A side woken from its event loop answers a wake-up later, not within a spin.
    const wasAsleep = this.wakeReader();
    if (this.options.answerSpinMicros > 0 && !this.spinScheduled && !wasAsleep) {
      if (this.backoff > 0) {
        this.backoff--;
        return;
      }
      // Awake from now until the spin ends: the answer is read there, and
      // the other side need not post a wake-up for it.
      this.spinScheduled = true;
      this.sentAt ||= performance.now();
      this.tookWakeUp = Atomics.compareExchange(this.reader.memory.control, SLEEPING, ASLEEP, AWAKE) === ASLEEP;
      settled.then(this.spinForAnswer);
    }
  }

  private tookWakeUp = false;
  /** When the oldest send not yet answered went (0: none). */
  private sentAt = 0;
  /** How long answers usually take, in ms (a moving average). */
  private answerMs = 0;

  /** A postMessage from the other side that belongs to this channel. */
  fromPort(data: OutOfBand): void {
    if ('room' in data) return this.retryPending();
    if ('oob' in data) {
      this.arrived.set(data.oob, data.message);
      if (this.blockedOn !== data.oob) return;
      this.blockedOn = undefined;
    }
    this.run();
  }

  close(): void {
    this.closed = true;
    this.pending.length = 0;
  }

  private write(message: Message, transfer: Transferable[]): boolean {
    const { data, view } = this.writer.memory;
    const encoded = measure(this.options.sends, message);
    if (encoded && encoded.size <= this.maxRecord) {
      const at = this.writer.claim(encoded.size);
      if (at < 0) return false;
      write(data, view, at, message, encoded);
    } else {
      const at = this.writer.claim(OUT_OF_BAND_SIZE);
      if (at < 0) return false;
      const id = this.nextOutOfBand++;
      writeOutOfBand(data, view, at, message.s, id);
      this.options.post({ oob: id, message }, transfer);
    }
    this.writer.publish();
    return true;
  }

  // One wake-up per sleep: whoever turns ASLEEP off owns the wake-up.
  // Whether the reader was asleep in its event loop.
  private wakeReader(): boolean {
    const control = this.writer.memory.control;
    const state = Atomics.load(control, SLEEPING);
    if (state === AWAKE) return false;
    if (state === BLOCKED) {
      Atomics.notify(control, HEAD);
      return false;
    }
    if (Atomics.compareExchange(control, SLEEPING, ASLEEP, AWAKE) === ASLEEP) this.options.post({ wake: true }, []);
    return true;
  }

  // The ring is full: what comes next waits here, in order, until the
  // reader says it freed room (it posts `room` when it finds WAITING set).
  private waitForRoom(): void {
    if (this.waitingForRoom || this.closed) return;
    this.waitingForRoom = true;
    this.retryPending();
  }

  private retryPending(): void {
    const control = this.writer.memory.control;
    while (!this.closed) {
      // Set before looking: room freed after the look is then always announced.
      Atomics.store(control, WAITING, 1);
      let wrote = false;
      while (this.pending.length && this.write(...this.pending[0])) {
        this.pending.shift();
        wrote = true;
      }
      if (wrote) this.wakeReader();
      if (!this.pending.length) break;
      if (!wrote) return;
    }
    this.waitingForRoom = false;
    Atomics.store(control, WAITING, 0);
  }

  /** Reads what has arrived, until the ring is empty or a stand-in's message has not come yet. */
  private pump(): number {
    if (this.pumping || this.blockedOn !== undefined) return 0;
    this.pumping = true;
    let count = 0;
    const { data, view } = this.reader.memory;
    const control = this.reader.memory.control;
    try {
      for (let record = this.reader.next(); record; record = this.reader.next()) {
        const at = record[0];
        let message: Message;
        if (kindAt(data, at) === OUT_OF_BAND) {
          const id = outOfBandId(view, at);
          const arrived = this.arrived.get(id);
          // Left in the ring: read again when its message comes (fromPort).
          if (!arrived) { this.blockedOn = id; break; }
          this.arrived.delete(id);
          message = arrived;
        } else {
          message = read(data, view, at);
        }
        this.reader.release();
        if (Atomics.load(control, WAITING) !== 0 && Atomics.compareExchange(control, WAITING, 1, 0) === 1) this.options.post({ room: true }, []);
        count++;
        this.options.receive(message);
        if (this.closed) break;
      }
    } finally {
      this.pumping = false;
    }
    if (count && this.sentAt) {
      this.answerMs += (Math.min(performance.now() - this.sentAt, 10) - this.answerMs) / 8;
      this.sentAt = 0;
    }
    if (count) this.options.afterBurst?.();
    return count;
  }

  // Reads what came, spins and waits for more (see the top of this file),
  // yields a task after a burst's budget, and sleeps when nothing comes.
  private readonly run = () => {
    if (this.closed) return;
    const started = performance.now();
    if (this.idleSince) this.learnGap(started - this.idleSince);
    for (;;) {
      this.pump();
      if (this.blockedOn !== undefined || this.closed) return;
      const now = performance.now();
      if (now - started > BURST_BUDGET_MS) return yieldTask(this.run);
      this.idleSince = now;
      if (this.spin(this.idleSpin())) {
        this.learnGap(performance.now() - now);
        continue;
      }
      if (this.options.blockingWaitMs > 0) return this.waitBlocked(now + this.options.blockingWaitMs);
      return this.sleep();
    }
  };

  /** When this side last ran out of records (0: it is not idle, or was woken since). */
  private idleSince = 0;
  /** The usual gap between runs of records, in ms (a moving average). */
  private gapMs = 0;

  private learnGap(ms: number): void {
    this.idleSince = 0;
    this.gapMs += (Math.min(ms, 10) - this.gapMs) / 8;
  }

  private idleSpin(): number {
    const max = this.readsSockets ? Math.min(IO_IDLE_SPIN_MICROS, this.options.idleSpinMicros) : this.options.idleSpinMicros;
    const wanted = this.gapMs * 2000;
    return wanted <= max ? Math.max(MIN_IDLE_SPIN_MICROS, wanted) : Math.min(max, MIN_IDLE_SPIN_MICROS);
  }

  // Atomics.wait in slices until `until`, with a task between two slices.
  private waitBlocked(until: number): void {
    if (this.closed) return;
    const control = this.reader.memory.control;
    const head = Atomics.load(control, HEAD);
    Atomics.store(control, SLEEPING, BLOCKED);
    if (!this.reader.ready()) Atomics.wait(control, HEAD, head, this.readsSockets ? IO_WAIT_SLICE_MS : WAIT_SLICE_MS);
    // A writer that saw ASLEEP posts a wake-up: not here, where it is BLOCKED or AWAKE.
    Atomics.store(control, SLEEPING, AWAKE);
    if (this.reader.ready()) return this.run();
    if (performance.now() < until) return yieldTask(() => this.waitBlocked(until));
    this.sleep();
  }

  /** Spins until a record is there (true) or `micros` passed (false). */
  private spin(micros: number): boolean {
    if (this.reader.ready()) return true;
    if (micros <= 0) return false;
    const until = performance.now() + micros / 1000;
    do {
      for (let look = 0; look < LOOKS_PER_CLOCK_READ; look++) if (this.reader.ready()) return true;
    } while (performance.now() < until);
    return false;
  }

  // Back to the event loop; the writer wakes this side (wakeReader).
  private sleep(): void {
    if (this.closed) return;
    const control = this.reader.memory.control;
    Atomics.store(control, SLEEPING, ASLEEP);
    // Written after the last look and before ASLEEP was set: nobody will wake us for it.
    if (this.reader.ready() && Atomics.compareExchange(control, SLEEPING, ASLEEP, AWAKE) === ASLEEP) queueMicrotask(this.run);
  }

  // After a turn that sent something: the answer of a stub that answers at
  // once is read here, µs later, instead of an event-loop task later.
  private readonly spinForAnswer = () => {
    this.spinScheduled = false;
    if (this.closed) return;
    const found = !this.pumping && this.spin(Math.min(this.options.answerSpinMicros, Math.max(MIN_IDLE_SPIN_MICROS, this.answerMs * 2000)));
    if (found) {
      this.misses = 0;
      this.backoffSends = FIRST_BACKOFF_SENDS;
      this.pump();
    } else if (++this.misses >= MISSES_BEFORE_BACKOFF) {
      this.misses = 0;
      this.backoff = this.backoffSends;
      this.backoffSends = Math.min(2 * this.backoffSends, MOST_BACKOFF_SENDS);
    }
    // Asleep again, as before the send (sleep() reads what came meanwhile).
    if (this.tookWakeUp) {
      this.tookWakeUp = false;
      this.sleep();
    }
  };
}

// A task, not a microtask: timers and postMessage get their turn.
const yieldTask: (run: () => void) => void = typeof setImmediate === 'function'
  ? (run) => { setImmediate(run); }
  : (() => {
    const channel = new MessageChannel();
    const queue: Array<() => void> = [];
    channel.port1.onmessage = () => queue.shift()?.();
    return (run: () => void) => { queue.push(run); channel.port2.postMessage(0); };
  })();

// A promise reaction rather than queueMicrotask, which in Node makes an async
// resource per call (see the bus's #schedule): this runs once per send.
const settled = Promise.resolve();
