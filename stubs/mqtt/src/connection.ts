// The connection's life: one MQTT session over one WebSocket at a time,
// opened on each broker URL in turn, kept alive with PINGREQ, reopened with
// backoff once every URL has failed, until the broker refuses the login or a
// DELETE ends the session for good. Frames out: send-buffer.ts.
import * as host from 'protofly:stub/host@0.1.0';
import type { StubConfig } from './config.ts';
import { clientIdFor } from './hash.ts';
import { errorText, type Log } from './log.ts';
import { MalformedPacket, PacketReader } from './packet-reader.ts';
import { DISCONNECT, encodeConnect, PINGREQ } from './packets.ts';
import { SendBuffer } from './send-buffer.ts';
import { connackReason, statusBatch } from './status.ts';

/** What the connection tells the rest of the stub. */
export interface ConnectionOwner {
  /** CONNACK 0: the session is usable; `sessionPresent` as the broker says. */
  onLive(sessionPresent: boolean): void;
  /** The live connection is gone; the connection retries unless it is ending. */
  onLost(): void;
  /** The broker refused the login: nothing more will be carried. */
  onRefused(reason: string): void;
  /** What the host held back as congested went out: more may be written. */
  onDrained(): void;
}

type State = 'opening' | 'connecting' | 'live' | 'waiting' | 'refused' | 'ended';
// serving: reconnects after any loss. draining: a DELETE waits for the last
// PUBACKs; a loss is not retried. ending: logging in with a clean session
// to have the broker drop ours.
type Mode = 'serving' | 'draining' | 'ending';

// A PUBACK's first byte: type 4, no flags.
const LONE_ACK_FIRST = 0x40;
const BACKOFF_FIRST_MS = 250;
const BACKOFF_MAX_MS = 10_000;
// How long a DELETE may spend ending the session at the broker: the runtime
// stops the stub after `undeployGraceMs` (1 s by default) anyway.
const END_SESSION_MS = 500;

export class Connection {
  private state: State = 'waiting';
  /**
   * Whether the session is usable (CONNACK 0 came): a field kept with
   * `state` rather than a getter, read on every message's path, where a
   * getter call costs the interpreter several times a field read.
   */
  live = false;
  private mode: Mode = 'serving';
  private conn: number | null = null;
  /** The packet being read from the broker (see receive). */
  readonly reader = new PacketReader();
  private readonly clientId: string;
  private urlIndex = 0;
  // URLs that failed since the last LIVE or the last DISCONNECTED.
  private failedInRound = 0;
  private backoffMs = BACKOFF_FIRST_MS;
  // One DISCONNECTED per outage, however many retries it takes.
  private outageReported = false;
  /** What goes to the broker: packets are written here, sent at the end of the call (flush). */
  readonly out: SendBuffer;
  private reconnectTimer: number | null = null;
  private pingTimer: number | null = null;
  private silenceTimer: number | null = null;
  // While ending: URLs tried, the deadline, and whom to tell.
  private endingTries = 0;
  private endingTimer: number | null = null;
  private ended: ((code: number, reason?: string) => void) | null = null;

  private readonly config: StubConfig;
  private readonly owner: ConnectionOwner;
  private readonly log: Log;

  constructor(config: StubConfig, owner: ConnectionOwner, log: Log) {
    this.config = config;
    this.owner = owner;
    this.log = log;
    this.out = new SendBuffer(log);
    this.clientId = clientIdFor(config.runtimeURL, config.stubURL);
  }

  private enter(state: State): void {
    this.state = state;
    this.live = state === 'live';
  }

  /** Whether the broker refused the login (the stub will not retry). */
  get refused(): boolean {
    return this.state === 'refused';
  }

  isCurrent(conn: number): boolean {
    return conn === this.conn;
  }

  start(): void {
    this.openConnection();
  }

  private get url(): string {
    return this.config.urls[this.urlIndex]!;
  }

  private openConnection(): void {
    this.enter('opening');
    this.reader.reset();
    this.log(1, `opening ${this.url}`);
    try {
      this.conn = host.open(this.url, ['mqtt']);
    } catch (e) {
      this.conn = null;
      this.connectionLost(`cannot open ${this.url}: ${errorText(e)}`);
      return;
    }
    // A handshake that never completes must not stall us forever (ending
    // has its own deadline).
    if (this.mode !== 'ending') this.armSilence();
  }

  onOpen(conn: number): void {
    if (conn !== this.conn || this.state !== 'opening') {
      // A socket we already gave up on came up late.
      if (conn !== this.conn) this.safeClose(conn);
      return;
    }
    this.enter('connecting');
    const persistentSession = this.config.persistentSession && this.mode !== 'ending';
    this.log(1, `connected to ${this.url}, logging in as ${this.clientId}${persistentSession ? '' : ' (clean session)'}`);
    this.write(encodeConnect({
      clientId: this.clientId,
      keepAliveSec: this.config.keepAliveSec,
      username: this.config.username,
      password: this.config.password,
      persistentSession,
    }));
    // The silence timer armed at open now waits for the CONNACK.
  }

  onClose(conn: number, reason: string): void {
    if (conn !== this.conn) return;
    this.conn = null;
    this.connectionLost(reason || 'connection closed');
  }

  /**
   * Starts reading a frame from the broker: false when it is not the
   * current connection's (then it is ignored). Its packets come from
   * nextPacket(), each in `reader`.
   */
  receive(conn: number, frame: Uint8Array): boolean {
    if (conn !== this.conn || (this.state !== 'connecting' && this.state !== 'live')) return false;
    this.reader.push(frame);
    return true;
  }

  /**
   * The packet id when `frame` is exactly one PUBACK on the live connection
   * `conn`, with nothing left of an earlier frame to read first: the usual
   * frame at a sender (one per message), taken without the reader; else -1.
   */
  loneAck(conn: number, frame: Uint8Array): number {
    if (frame.length !== 4 || frame[0] !== LONE_ACK_FIRST || frame[1] !== 2 || conn !== this.conn || !this.live || this.reader.holdsPart()) return -1;
    if (this.silenceTimer !== null) {
      host.clearTimer(this.silenceTimer);
      this.silenceTimer = null;
    }
    return (frame[2]! << 8) | frame[3]!;
  }

  /** Moves `reader` to the frame's next whole packet; false when none is left or the stream was malformed (dropped). */
  nextPacket(): boolean {
    try {
      if (!this.reader.next()) return false;
    } catch (e) {
      if (!(e instanceof MalformedPacket)) throw e;
      this.drop(`malformed packet from the broker: ${e.message}`);
      return false;
    }
    if (this.silenceTimer !== null) {
      host.clearTimer(this.silenceTimer);
      this.silenceTimer = null;
    }
    return true;
  }

  connack(returnCode: number, sessionPresent: boolean): void {
    if (this.state !== 'connecting') return this.drop('unexpected CONNACK from the broker');
    if (this.mode === 'ending') return this.endingConnack(returnCode);
    if (returnCode !== 0) return this.loginRefused(connackReason(returnCode));
    this.enter('live');
    this.backoffMs = BACKOFF_FIRST_MS;
    this.failedInRound = 0;
    this.outageReported = false;
    this.log(2, `LIVE on ${this.url} as ${this.clientId}${sessionPresent ? ' (the broker kept our session)' : ''}`);
    host.post(statusBatch(this.config.stubURL, 'LIVE'));
    this.pingTimer = host.setTimer(this.config.keepAliveSec * 500);
    this.owner.onLive(sessionPresent);
  }

  /** Abandons the current socket ourselves. */
  drop(reason: string): void {
    const conn = this.conn;
    this.conn = null;
    if (conn !== null) this.safeClose(conn);
    this.connectionLost(reason);
  }

  private connectionLost(reason: string): void {
    if (this.state === 'refused' || this.state === 'ended') return;
    if (this.mode === 'ending') return this.endingFailed(reason);
    const wasLive = this.state === 'live';
    this.stopConnectionTimers();
    this.out.clear();
    this.reader.reset();
    this.enter('waiting');
    if (this.mode === 'draining') {
      this.log(3, `connection lost while undeploying: ${reason}`);
      this.owner.onLost();
      return;
    }
    if (wasLive) this.owner.onLost();
    // The next URL at once; DISCONNECTED and backoff only once all failed
    // (a deploy fails on its first DISCONNECTED).
    const failed = this.url;
    this.urlIndex = (this.urlIndex + 1) % this.config.urls.length;
    this.failedInRound++;
    if (this.failedInRound < this.config.urls.length) {
      this.log(3, `connection to ${failed} lost: ${reason}; trying ${this.url}`);
      this.openConnection();
      return;
    }
    this.failedInRound = 0;
    this.log(3, `connection to ${failed} lost: ${reason}; retrying in ${this.backoffMs} ms`);
    if (!this.outageReported) {
      this.outageReported = true;
      const every = this.config.urls.length > 1 ? `every broker failed; last ${failed}: ` : '';
      host.post(statusBatch(this.config.stubURL, 'DISCONNECTED', every + reason, 'PF_ERR_CONNECT'));
    }
    this.reconnectTimer = host.setTimer(this.backoffMs);
    this.backoffMs = Math.min(this.backoffMs * 2, BACKOFF_MAX_MS);
  }

  private loginRefused(reason: string): void {
    this.log(4, `login refused: ${reason}; not retrying`);
    this.enter('refused');
    this.stopConnectionTimers();
    const conn = this.conn;
    this.conn = null;
    this.out.clear();
    if (conn !== null) this.safeClose(conn);
    host.post(statusBatch(this.config.stubURL, 'DISCONNECTED', reason, 'PF_ERR_LOGIN'));
    this.owner.onRefused(reason);
  }

  // --- a DELETE: the last PUBACKs, then the end of the session ---

  /** Stops retrying: a loss from now on is reported to the owner only. */
  drain(): void {
    if (this.mode === 'serving') this.mode = 'draining';
  }

  /**
   * Ends what the broker keeps for this stub: DISCONNECT, and with a
   * persistent session a clean-session login (each URL once) and DISCONNECT
   * again, so the broker drops the session and what it queued for us.
   */
  endSession(done: (code: number, reason?: string) => void): void {
    if (this.mode === 'ending' || this.state === 'ended') return;
    const wasLive = this.state === 'live';
    const refused = this.state === 'refused';
    this.mode = 'ending';
    this.stopConnectionTimers();
    if (wasLive) this.write(DISCONNECT);
    this.flush();
    this.closeCurrent();
    if (refused) return this.finishEnding(done, 503, 'the broker refused the login, so the session could not be ended');
    if (!this.config.persistentSession) return this.finishEnding(done, 200);
    this.ended = done;
    this.endingTries = 0;
    this.endingTimer = host.setTimer(END_SESSION_MS);
    this.openConnection();
  }

  private endingConnack(returnCode: number): void {
    const done = this.ended!;
    if (returnCode !== 0) {
      this.closeCurrent();
      return this.finishEnding(done, 503, `ending the session at ${this.url}: ${connackReason(returnCode)}`);
    }
    this.write(DISCONNECT);
    this.flush();
    this.closeCurrent();
    this.log(2, `session ended at ${this.url}`);
    this.finishEnding(done, 200);
  }

  private endingFailed(reason: string): void {
    const done = this.ended;
    if (!done) return;
    this.endingTries++;
    if (this.endingTries < this.config.urls.length) {
      this.urlIndex = (this.urlIndex + 1) % this.config.urls.length;
      this.openConnection();
      return;
    }
    this.finishEnding(done, 503, `the session could not be ended: ${reason}`);
  }

  private finishEnding(done: (code: number, reason?: string) => void, code: number, reason?: string): void {
    this.enter('ended');
    this.ended = null;
    if (this.endingTimer !== null) host.clearTimer(this.endingTimer);
    this.endingTimer = null;
    this.closeCurrent();
    done(code, reason);
  }

  private closeCurrent(): void {
    const conn = this.conn;
    this.conn = null;
    this.out.clear();
    if (conn !== null) this.safeClose(conn);
  }

  // --- timers ---

  /** Whether the timer was the connection's. */
  onTimer(id: number): boolean {
    if (id === this.reconnectTimer) {
      this.reconnectTimer = null;
      if (this.state === 'waiting' && this.mode === 'serving') this.openConnection();
    } else if (id === this.pingTimer) {
      this.pingTimer = null;
      if (this.state !== 'live') return true;
      this.write(PINGREQ);
      this.armSilence();
      this.pingTimer = host.setTimer(this.config.keepAliveSec * 500);
    } else if (id === this.silenceTimer) {
      this.silenceTimer = null;
      if (this.state === 'live' || this.state === 'connecting' || this.state === 'opening') {
        this.drop(`no answer from the broker within ${this.config.keepAliveSec} s`);
      }
    } else if (id === this.endingTimer) {
      this.endingTimer = null;
      if (this.ended) this.finishEnding(this.ended, 503, `no broker ended the session within ${END_SESSION_MS} ms`);
    } else if (this.out.onTimer(id)) {
      this.flush();
      if (this.conn !== null && !this.out.held && !this.out.congested) this.owner.onDrained();
    } else {
      return false;
    }
    return true;
  }

  private armSilence(): void {
    if (this.silenceTimer === null) this.silenceTimer = host.setTimer(this.config.keepAliveSec * 1000);
  }

  private stopConnectionTimers(): void {
    for (const id of [this.pingTimer, this.silenceTimer, this.reconnectTimer]) {
      if (id !== null) host.clearTimer(id);
    }
    this.pingTimer = this.silenceTimer = this.reconnectTimer = null;
  }

  // --- writing ---

  write(packet: Uint8Array): void {
    this.out.write(packet);
  }

  /** Sends what was written; called once at the end of every host→stub call. */
  flush(): void {
    if (this.conn === null) return this.out.clear();
    const failed = this.out.flush(this.conn);
    if (failed !== null) this.drop(`send failed: ${failed}`);
  }

  private safeClose(conn: number): void {
    try {
      host.close(conn);
    } catch {
      // Closing a socket the host already forgot is harmless.
    }
  }
}
