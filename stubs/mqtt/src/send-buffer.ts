// Packets written during a call, sent as frames at its end. They are written
// straight into one buffer, kept from call to call (the host copies a frame
// at once), so a packet costs no allocation and no copy of its own (a few
// hundred ns each in the interpreter, measured). A frame the host refuses
// as congested (CONTRACT.md, "Outbound": too much already waits on that
// socket; the frame was not sent, the connection stays open) is kept at the
// head, in order, nothing new going ahead of it, and sent again on a short
// timer.
//
// Acknowledgements alone (PUBACK for a publication the stub received) wait
// for a few more, or a 0 ms timer, rather than going out in a frame each:
// measured through mosquitto on a 2-core machine, a frame per PUBACK cost
// the runtime, the stub's worker (a send flushes the posts before it) and
// the broker about a fifth of all the CPU a message took (about 220 µs,
// 180 µs with acks together). The broker keeps what it sent until
// acknowledged, so an ack that waits loses nothing; fewer than mosquitto's
// 20 in flight wait, so it never stops sending for them.
import * as host from 'protofly:stub/host@0.1.0';
import { errorText, type Log } from './log.ts';
import { ACK_LENGTH, publishLength, writeAck, writePublish } from './packets.ts';

// Packets written during one call go out together, split between packets
// so no single frame grows without bound.
const FRAME_LIMIT = 256 * 1024;
// How soon a frame the host held back is offered again.
const RETRY_MS = 20;
// Acknowledgements that wait for more before they are sent, at most.
const ACKS_TOGETHER = 8;
// Unsent bytes past which the stub takes no new message to publish (it
// answers 503 instead of growing).
const MAX_UNSENT = 1024 * 1024;
const INITIAL_BYTES = 64 * 1024;
// A buffer grown past this (large messages, a long congestion) is not kept
// once everything in it is sent.
const KEPT_BYTES = 2 * FRAME_LIMIT;

export class SendBuffer {
  private buffer = new Uint8Array(INITIAL_BYTES);
  // Bytes written, and the prefix of them already sent.
  private length = 0;
  private sent = 0;
  // Where the frame being written started, and where earlier unsent frames end.
  private frameStart = 0;
  private readonly frameEnds: number[] = [];
  private retryTimer: number | null = null;
  // Sends refused as congested since the buffer last emptied.
  private refusals = 0;
  // Acknowledgements waiting, whether anything else waits, and the timer
  // that sends them if no more come.
  private acks = 0;
  private others = false;
  private ackTimer: number | null = null;
  private ackTimerRang = false;

  private readonly log: Log;

  constructor(log: Log) {
    this.log = log;
  }

  /** Whether more waits unsent than the stub holds before refusing new messages. */
  get congested(): boolean {
    return this.length - this.sent > MAX_UNSENT;
  }

  get unsentBytes(): number {
    return this.length - this.sent;
  }

  // Room for a packet of `size` bytes; returns where to write it (after
  // which `buffer` may be a new one).
  private reserve(size: number): number {
    if (this.length > this.frameStart && this.length - this.frameStart + size > FRAME_LIMIT) {
      this.frameEnds.push(this.length);
      this.frameStart = this.length;
    }
    if (this.length + size > this.buffer.length) this.grow(size);
    const at = this.length;
    this.length += size;
    return at;
  }

  write(packet: Uint8Array): void {
    this.others = true;
    const at = this.reserve(packet.length);
    this.buffer.set(packet, at);
  }

  /** Writes a PUBACK, PUBREC or PUBCOMP, which may wait for a few more (see above). */
  ack(type: number, packetId: number): void {
    this.acks++;
    const at = this.reserve(ACK_LENGTH);
    writeAck(this.buffer, at, type, packetId);
  }

  /** Writes a QoS 1 PUBLISH of the bytes from `start` to `end` of `payload` (see writePublish). */
  publish(topic: Uint8Array, payload: Uint8Array, start: number, end: number, packetId: number, duplicate: boolean): void {
    this.others = true;
    const at = this.reserve(publishLength(topic, end - start));
    writePublish(this.buffer, at, topic, payload, start, end, packetId, duplicate);
  }

  /**
   * Sends what waits on `conn`, unless a held-back frame waits for its
   * timer, or only a few acknowledgements wait. Returns the reason of a
   * send error other than congestion (the connection is going; its
   * on-close follows), else null.
   */
  flush(conn: number): string | null {
    if (this.length === 0 || this.retryTimer !== null) return null;
    if (!this.others && this.acks < ACKS_TOGETHER && !this.ackTimerRang) {
      // Left armed once the acks went with something else: a timer that
      // finds nothing to send costs less than clearing it each time.
      if (this.ackTimer === null) this.ackTimer = host.setTimer(0);
      return null;
    }
    while (this.sent < this.length) {
      const end = this.frameEnds.length ? this.frameEnds[0]! : this.length;
      try {
        host.send(conn, this.buffer.subarray(this.sent, end));
      } catch (e) {
        const reason = errorText(e);
        if (!reason.startsWith('congested:')) return reason;
        if (this.refusals++ === 0) this.log(2, `the host holds back what goes to the broker (${reason}); ${this.unsentBytes} bytes wait here, tried again every ${RETRY_MS} ms`);
        this.retryTimer = host.setTimer(RETRY_MS);
        return null;
      }
      this.sent = end;
      if (this.frameEnds.length) this.frameEnds.shift();
    }
    this.empty();
    if (this.refusals) this.log(2, `sent what the host held back (${this.refusals} tries refused as congested)`);
    this.refusals = 0;
    return null;
  }

  /** Whether the timer was the retry or the acknowledgements'; the caller flushes again. */
  onTimer(id: number): boolean {
    if (id === this.ackTimer) {
      this.ackTimer = null;
      this.ackTimerRang = true;
      return true;
    }
    if (id !== this.retryTimer) return false;
    this.retryTimer = null;
    return true;
  }

  /** Whether a frame the host held back waits for its retry. */
  get held(): boolean {
    return this.retryTimer !== null;
  }

  /** Forgets what waits: its socket is gone. */
  clear(): void {
    this.empty();
    this.refusals = 0;
    for (const timer of [this.retryTimer, this.ackTimer]) if (timer !== null) host.clearTimer(timer);
    this.retryTimer = this.ackTimer = null;
  }

  private empty(): void {
    this.length = this.sent = this.frameStart = this.acks = 0;
    this.others = this.ackTimerRang = false;
    this.frameEnds.length = 0;
    if (this.buffer.length > KEPT_BYTES) this.buffer = new Uint8Array(INITIAL_BYTES);
  }

  // Room for `size` more bytes; what was sent already is dropped on the way.
  private grow(size: number): void {
    const unsent = this.length - this.sent;
    let capacity = this.buffer.length;
    while (capacity < unsent + size) capacity *= 2;
    const grown = capacity === this.buffer.length ? this.buffer : new Uint8Array(capacity);
    if (grown === this.buffer) this.buffer.copyWithin(0, this.sent, this.length);
    else grown.set(this.buffer.subarray(this.sent, this.length));
    const shift = this.sent;
    for (let i = 0; i < this.frameEnds.length; i++) this.frameEnds[i] = this.frameEnds[i]! - shift;
    this.frameStart -= shift;
    this.length = unsent;
    this.sent = 0;
    this.buffer = grown;
  }
}
