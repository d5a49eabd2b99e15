// Packets written during a call, sent as frames at its end. A frame the
// host refuses as congested (CONTRACT.md, "Outbound": too much already waits
// on that socket; the frame was not sent, the connection stays open) is
// kept at the head, in order, nothing new going ahead of it, and sent again
// on a short timer.
import * as host from 'protofly:stub/host@0.1.0';
import { errorText, type Log } from './log.ts';

// Packets written during one call go out together, split so no single
// frame grows without bound.
const FRAME_LIMIT = 256 * 1024;
// How soon a frame the host held back is offered again.
const RETRY_MS = 20;
// Unsent bytes past which the stub takes no new message to publish (it
// answers 503 instead of growing).
const MAX_UNSENT = 1024 * 1024;

export class SendBuffer {
  private packets: Uint8Array[] = [];
  private bytes = 0;
  private retryTimer: number | null = null;
  // Sends refused as congested since the buffer last emptied.
  private refusals = 0;

  private readonly log: Log;

  constructor(log: Log) {
    this.log = log;
  }

  /** Whether more waits unsent than the stub holds before refusing new messages. */
  get congested(): boolean {
    return this.bytes > MAX_UNSENT;
  }

  get unsentBytes(): number {
    return this.bytes;
  }

  write(packet: Uint8Array): void {
    this.packets.push(packet);
    this.bytes += packet.length;
  }

  /**
   * Sends what waits on `conn`, unless a held-back frame waits for its
   * timer. Returns the reason of a send error other than congestion (the
   * connection is going; its on-close follows), else null.
   */
  flush(conn: number): string | null {
    if (this.retryTimer !== null) return null;
    while (this.packets.length) {
      let n = 0, size = 0;
      while (n < this.packets.length && (n === 0 || size + this.packets[n]!.length <= FRAME_LIMIT)) size += this.packets[n++]!.length;
      const frame = n === 1 ? this.packets[0]! : concat(this.packets, n, size);
      try {
        host.send(conn, frame);
      } catch (e) {
        const reason = errorText(e);
        if (!reason.startsWith('congested:')) return reason;
        // Kept as the frame it was, so the next try costs no new copy.
        if (n > 1) this.packets.splice(0, n, frame);
        if (this.refusals++ === 0) this.log(2, `the host holds back what goes to the broker (${reason}); ${this.bytes} bytes wait here, tried again every ${RETRY_MS} ms`);
        this.retryTimer = host.setTimer(RETRY_MS);
        return null;
      }
      this.packets = n === this.packets.length ? [] : this.packets.slice(n);
      this.bytes -= size;
    }
    if (this.refusals) this.log(2, `sent what the host held back (${this.refusals} tries refused as congested)`);
    this.refusals = 0;
    return null;
  }

  /** Whether the timer was the retry; the caller flushes again. */
  onTimer(id: number): boolean {
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
    this.packets = [];
    this.bytes = 0;
    this.refusals = 0;
    if (this.retryTimer !== null) host.clearTimer(this.retryTimer);
    this.retryTimer = null;
  }
}

function concat(packets: Uint8Array[], n: number, size: number): Uint8Array {
  const frame = new Uint8Array(size);
  let at = 0;
  for (let i = 0; i < n; i++) {
    frame.set(packets[i]!, at);
    at += packets[i]!.length;
  }
  return frame;
}
