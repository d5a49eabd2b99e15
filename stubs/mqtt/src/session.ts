// The connection state machine: one MQTT session over one WebSocket at a
// time, reopened with backoff until the broker refuses the login.
import * as host from 'protofly:stub/host@0.1.0';
import { cborArrayOf, decodeCbor, encodeCbor } from './cbor.ts';
import type { StubConfig } from './config.ts';
import { clientIdFor } from './hash.ts';
import {
  encodeAck, encodeConnect, encodePublish, encodeSubscribe, encodeUnsubscribe,
  type Inbound, MalformedPacket, PacketReader, PacketType, PINGREQ,
} from './packets.ts';
import { connackReason, statusBatch } from './status.ts';
import { addressToTopic } from './topics.ts';

type State = 'opening' | 'connecting' | 'live' | 'waiting' | 'refused';

interface Outgoing { topic: string; payload: Uint8Array }

const QUEUE_LIMIT = 10_000;
const BACKOFF_FIRST_MS = 250;
const BACKOFF_MAX_MS = 10_000;
// Packets written during one host→stub call go out together, split so no
// single frame grows without bound.
const FRAME_LIMIT = 256 * 1024;

export function errorText(e: unknown): string {
  // Imports returning `result` throw an Error whose `payload` is the err value.
  if (typeof e === 'object' && e !== null && 'payload' in e) return String((e as { payload: unknown }).payload);
  if (e instanceof Error) return e.message;
  return String(e);
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

export class Session {
  private state: State = 'waiting';
  private conn: number | null = null;
  private readonly reader = new PacketReader();
  private readonly clientId: string;
  // topic → address, what local listeners want from the broker.
  private readonly wanted = new Map<string, string>();
  private queue: Outgoing[] = [];
  // QoS 1 publications not yet acknowledged, in send order; a drop puts them
  // back at the head of the queue (at-least-once, as QoS 1 promises).
  private inflight = new Map<number, Outgoing>();
  private readonly controlIds = new Set<number>();
  // The SUBSCRIBE or UNSUBSCRIBE in flight, by packet id, until its ack. One
  // at a time: a broker may handle packets that arrive together concurrently
  // (aedes does), and an UNSUBSCRIBE racing a SUBSCRIBE of the same topic can
  // leave it unsubscribed, every later message lost.
  private readonly changing = new Map<number, { subscribe: boolean; topics: string[] }>();
  // Topics the broker has been asked for on this connection (subscribed
  // minus unsubscribed, acked or not).
  private readonly requested = new Set<string>();
  // Topics the broker has confirmed on this connection.
  private readonly confirmed = new Set<string>();
  // SUBSCRIBE control messages waiting for their topics to be confirmed; the
  // runtime is answered once they are (CONTRACT.md, "Messages from the runtime").
  private readonly awaitingAck: Array<{ id: unknown; to: string; topics: string[] }> = [];
  private lastPacketId = 0;
  private backoffMs = BACKOFF_FIRST_MS;
  // One DISCONNECTED per outage, however many retries it takes.
  private outageReported = false;
  private out: Uint8Array[] = [];
  private reconnectTimer: number | null = null;
  private pingTimer: number | null = null;
  private silenceTimer: number | null = null;

  private readonly config: StubConfig;

  constructor(config: StubConfig) {
    this.config = config;
    this.clientId = clientIdFor(config.runtimeURL, config.stubURL);
  }

  start(): void {
    this.openConnection();
  }

  // --- connection lifecycle ---

  private openConnection(): void {
    this.state = 'opening';
    this.reader.reset();
    this.log(1, `opening ${this.config.url}`);
    try {
      this.conn = host.open(this.config.url, ['mqtt']);
    } catch (e) {
      this.conn = null;
      this.connectionLost(`cannot open ${this.config.url}: ${errorText(e)}`);
      return;
    }
    // A handshake that never completes must not stall us forever.
    this.armSilence();
  }

  onOpen(conn: number): void {
    if (conn !== this.conn || this.state !== 'opening') {
      // A socket we already gave up on came up late.
      if (conn !== this.conn) this.safeClose(conn);
      return;
    }
    this.state = 'connecting';
    this.log(1, `connected to ${this.config.url}, logging in as ${this.clientId}`);
    this.write(encodeConnect({
      clientId: this.clientId,
      keepAliveSec: this.config.keepAliveSec,
      username: this.config.username,
      password: this.config.password,
      persistentSession: this.config.persistentSession,
    }));
    // The silence timer armed at open now waits for the CONNACK.
  }

  onClose(conn: number, reason: string): void {
    if (conn !== this.conn) return;
    this.conn = null;
    this.connectionLost(reason || 'connection closed');
  }

  // Abandons the current socket ourselves.
  private drop(reason: string): void {
    const conn = this.conn;
    this.conn = null;
    if (conn !== null) this.safeClose(conn);
    this.connectionLost(reason);
  }

  private connectionLost(reason: string): void {
    if (this.state === 'refused') return;
    this.stopConnectionTimers();
    this.out = [];
    this.reader.reset();
    this.controlIds.clear();
    this.changing.clear();
    this.requested.clear();
    this.confirmed.clear();
    if (this.inflight.size) {
      this.queue = [...this.inflight.values(), ...this.queue];
      this.inflight = new Map();
      this.trimQueue();
    }
    this.log(3, `connection lost: ${reason}; retrying in ${this.backoffMs} ms`);
    if (!this.outageReported) {
      this.outageReported = true;
      this.post(statusBatch(this.config.stubURL, 'DISCONNECTED', reason, 'PF_ERR_CONNECT'));
    }
    this.state = 'waiting';
    this.reconnectTimer = host.setTimer(this.backoffMs);
    this.backoffMs = Math.min(this.backoffMs * 2, BACKOFF_MAX_MS);
  }

  private loginRefused(reason: string): void {
    this.log(4, `login refused: ${reason}; not retrying`);
    this.state = 'refused';
    this.stopConnectionTimers();
    const conn = this.conn;
    this.conn = null;
    this.out = [];
    if (conn !== null) this.safeClose(conn);
    this.post(statusBatch(this.config.stubURL, 'DISCONNECTED', reason, 'PF_ERR_LOGIN'));
  }

  private becomeLive(): void {
    this.state = 'live';
    this.backoffMs = BACKOFF_FIRST_MS;
    this.outageReported = false;
    this.log(2, `LIVE on ${this.config.url} as ${this.clientId}`);
    this.post(statusBatch(this.config.stubURL, 'LIVE'));
    this.reconcile();
    this.flushQueue();
    this.pingTimer = host.setTimer(this.config.keepAliveSec * 500);
  }

  // --- timers ---

  onTimer(id: number): void {
    if (id === this.reconnectTimer) {
      this.reconnectTimer = null;
      if (this.state === 'waiting') this.openConnection();
    } else if (id === this.pingTimer) {
      this.pingTimer = null;
      if (this.state !== 'live') return;
      this.write(PINGREQ);
      this.armSilence();
      this.pingTimer = host.setTimer(this.config.keepAliveSec * 500);
    } else if (id === this.silenceTimer) {
      this.silenceTimer = null;
      if (this.state === 'live' || this.state === 'connecting' || this.state === 'opening') {
        this.drop(`no answer from the broker within ${this.config.keepAliveSec} s`);
      }
    }
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

  // --- inbound ---

  onFrame(conn: number, frame: Uint8Array): void {
    if (conn !== this.conn || (this.state !== 'connecting' && this.state !== 'live')) return;
    let packets: Inbound[];
    try {
      packets = this.reader.push(frame);
    } catch (e) {
      if (!(e instanceof MalformedPacket)) throw e;
      this.log(3, `malformed packet from the broker: ${e.message}`);
      this.drop(`malformed packet from the broker: ${e.message}`);
      return;
    }
    if (packets.length && this.silenceTimer !== null) {
      host.clearTimer(this.silenceTimer);
      this.silenceTimer = null;
    }
    const delivered: Uint8Array[] = [];
    for (const packet of packets) {
      // A packet may have ended the session (refused login, protocol error).
      if (conn !== this.conn) break;
      this.handle(packet, delivered);
    }
    if (delivered.length) this.post(cborArrayOf(delivered));
  }

  private handle(p: Inbound, delivered: Uint8Array[]): void {
    if (p.kind === 'connack') {
      if (this.state !== 'connecting') return this.drop('unexpected CONNACK from the broker');
      if (p.returnCode === 0) return this.becomeLive();
      return this.loginRefused(connackReason(p.returnCode));
    }
    if (this.state !== 'live') return this.drop(`unexpected ${p.kind} before CONNACK`);
    switch (p.kind) {
      case 'publish':
        if (p.qos === 1) this.write(encodeAck(PacketType.PUBACK, p.packetId));
        // We subscribe at QoS 1, but a broker may still downgrade or upgrade;
        // QoS 2 gets its handshake, delivered once on arrival.
        if (p.qos === 2) this.write(encodeAck(PacketType.PUBREC, p.packetId));
        if (this.acceptPayload(p.topic, p.payload)) delivered.push(p.payload);
        return;
      case 'pubrel':
        this.write(encodeAck(PacketType.PUBCOMP, p.packetId));
        return;
      case 'puback':
        this.inflight.delete(p.packetId);
        if (this.queue.length) this.flushQueue();
        return;
      case 'suback': {
        this.controlIds.delete(p.packetId);
        const topics = this.changing.get(p.packetId)?.topics ?? [];
        this.changing.delete(p.packetId);
        const refused = topics.filter((_, i) => p.granted[i] === 0x80 || p.granted[i] === undefined);
        if (refused.length) this.log(3, `broker refused subscriptions to ${refused.join(', ')}`);
        else this.log(1, `subscriptions confirmed (packet ${p.packetId})`);
        for (const topic of topics) if (!refused.includes(topic)) this.confirmed.add(topic);
        this.answerControls(refused);
        this.reconcile();
        return;
      }
      case 'unsuback':
        this.controlIds.delete(p.packetId);
        this.changing.delete(p.packetId);
        this.reconcile();
        return;
      default:
        return;
    }
  }

  private acceptPayload(topic: string, payload: Uint8Array): boolean {
    let message: unknown;
    try {
      message = decodeCbor(payload);
    } catch (e) {
      this.log(3, `skipping publication on ${topic}: not one CBOR item (${errorText(e)})`);
      return false;
    }
    if (!isMap(message) || typeof message.type !== 'string' || typeof message.from !== 'string') {
      this.log(3, `skipping publication on ${topic}: not a message (needs string type and from)`);
      return false;
    }
    return true;
  }

  // --- outbound ---

  onMessages(batch: Uint8Array): void {
    let messages: unknown;
    try {
      messages = decodeCbor(batch);
    } catch (e) {
      this.log(3, `skipping a batch that is not CBOR: ${errorText(e)}`);
      return;
    }
    if (!Array.isArray(messages)) {
      this.log(3, 'skipping a batch that is not a CBOR array');
      return;
    }
    let controls = false;
    for (const m of messages) {
      if (!isMap(m) || typeof m.to !== 'string') {
        this.log(3, `skipping a message without a string "to" (id ${isMap(m) ? String(m.id) : '?'})`);
        continue;
      }
      if (m.to === this.config.stubURL) {
        this.control(m);
        controls = true;
      } else {
        this.carry(m, m.to);
      }
    }
    // Once per batch: a listener removed and added again in one batch
    // changes nothing at the broker.
    if (controls) {
      this.reconcile();
      this.answerControls([]);
    }
  }

  private carry(message: Record<string, unknown>, to: string): void {
    const topic = addressToTopic(this.config.topicPrefix, to);
    if (topic === null) {
      this.log(3, `skipping message ${String(message.id)}: "${to}" is not a scheme://host/path address`);
      return;
    }
    let payload: Uint8Array;
    try {
      payload = encodeCbor(message);
    } catch (e) {
      this.log(3, `skipping message ${String(message.id)}: cannot encode it (${errorText(e)})`);
      return;
    }
    const item = { topic, payload };
    if (this.state === 'live' && this.queue.length === 0 && this.publish(item)) return;
    if (this.queue.length >= QUEUE_LIMIT) {
      this.log(4, `outbound queue full (${QUEUE_LIMIT}); dropping message ${String(message.id)} to ${to}`);
      return;
    }
    this.queue.push(item);
  }

  // Sends one publication unless every packet id is taken.
  private publish(item: Outgoing): boolean {
    const id = this.nextPacketId();
    if (id === 0) return false;
    this.inflight.set(id, item);
    this.write(encodePublish(item.topic, item.payload, id));
    return true;
  }

  private flushQueue(): void {
    let sent = 0;
    while (sent < this.queue.length && this.state === 'live' && this.publish(this.queue[sent]!)) sent++;
    this.queue = sent === this.queue.length ? [] : this.queue.slice(sent);
  }

  private trimQueue(): void {
    const excess = this.queue.length - QUEUE_LIMIT;
    if (excess > 0) {
      this.queue.length = QUEUE_LIMIT;
      this.log(4, `outbound queue full (${QUEUE_LIMIT}); dropped ${excess} unacknowledged messages`);
    }
  }

  private control(m: Record<string, unknown>): void {
    if (m.type !== 'SUBSCRIBE' && m.type !== 'UNSUBSCRIBE') return;
    const resources = isMap(m.body) ? m.body.resources : undefined;
    if (!Array.isArray(resources)) {
      this.log(3, `skipping ${m.type} ${String(m.id)}: body.resources must be a list of addresses`);
      return;
    }
    // Only what is wanted changes here; reconcile() tells the broker.
    for (const address of resources) {
      const topic = typeof address === 'string' ? addressToTopic(this.config.topicPrefix, address) : null;
      if (topic === null) {
        this.log(3, `skipping resource ${JSON.stringify(address)} in ${m.type}: not a scheme://host/path address`);
        continue;
      }
      if (m.type === 'SUBSCRIBE') this.wanted.set(topic, address as string);
      else this.wanted.delete(topic);
    }
    if (m.type === 'SUBSCRIBE' && typeof m.from === 'string') {
      const topics = resources.flatMap((a) => {
        const topic = typeof a === 'string' ? addressToTopic(this.config.topicPrefix, a) : null;
        return topic === null ? [] : [topic];
      });
      this.awaitingAck.push({ id: m.id, to: m.from, topics });
    }
  }

  // Answers each waiting SUBSCRIBE whose topics are all confirmed (200), or
  // one of whose topics the broker refused (403).
  private answerControls(refused: string[]): void {
    const answers: Array<Record<string, unknown>> = [];
    for (let i = 0; i < this.awaitingAck.length;) {
      const waiting = this.awaitingAck[i]!;
      const denied = waiting.topics.some((t) => refused.includes(t));
      if (denied || waiting.topics.every((t) => this.confirmed.has(t))) {
        answers.push({ id: waiting.id, type: 'RESPONSE', from: this.config.stubURL, to: waiting.to, body: { code: denied ? 403 : 200 } });
        this.awaitingAck.splice(i, 1);
      } else {
        i++;
      }
    }
    if (answers.length) this.post(encodeCbor(answers));
  }

  // Brings the broker's subscriptions to what the listeners want, one
  // packet at a time: what is no longer wanted first, then what is new.
  private reconcile(): void {
    if (this.state !== 'live' || this.changing.size) return;
    const gone = [...this.requested].filter((topic) => !this.wanted.has(topic));
    if (gone.length) {
      for (const topic of gone) {
        this.requested.delete(topic);
        this.confirmed.delete(topic);
      }
      this.change(false, gone);
      return;
    }
    const added = [...this.wanted.keys()].filter((topic) => !this.requested.has(topic));
    if (added.length) {
      for (const topic of added) this.requested.add(topic);
      this.change(true, added);
    }
  }

  private change(subscribe: boolean, topics: string[]): void {
    const id = this.nextPacketId();
    if (id === 0) return this.drop('out of packet ids');
    this.controlIds.add(id);
    this.changing.set(id, { subscribe, topics });
    this.log(2, `${subscribe ? 'subscribing to' : 'unsubscribing from'} ${topics.join(', ')}`);
    this.write(subscribe ? encodeSubscribe(id, topics) : encodeUnsubscribe(id, topics));
  }

  // 1..65535, wrapping, skipping ids still awaiting their ack; 0 when none is free.
  private nextPacketId(): number {
    for (let tries = 0; tries < 65535; tries++) {
      this.lastPacketId = this.lastPacketId >= 65535 ? 1 : this.lastPacketId + 1;
      const id = this.lastPacketId;
      if (!this.inflight.has(id) && !this.controlIds.has(id)) return id;
    }
    return 0;
  }

  private write(packet: Uint8Array): void {
    this.out.push(packet);
  }

  // Called once at the end of every host→stub call.
  flush(): void {
    while (this.out.length && this.conn !== null) {
      let n = 0, size = 0;
      while (n < this.out.length && (n === 0 || size + this.out[n]!.length <= FRAME_LIMIT)) size += this.out[n++]!.length;
      const frame = n === 1 ? this.out[0]! : new Uint8Array(size);
      if (n > 1) {
        let at = 0;
        for (let i = 0; i < n; i++) { frame.set(this.out[i]!, at); at += this.out[i]!.length; }
      }
      this.out = this.out.slice(n);
      try {
        host.send(this.conn, frame);
      } catch (e) {
        this.drop(`send failed: ${errorText(e)}`);
      }
    }
    this.out = [];
  }

  // --- host helpers that must never throw into our callers ---

  private post(batch: Uint8Array): void {
    host.post(batch);
  }

  private safeClose(conn: number): void {
    try {
      host.close(conn);
    } catch {
      // Closing a socket the host already forgot is harmless.
    }
  }

  log(level: number, text: string): void {
    try {
      host.log(level, `mqtt ${this.config.stubURL}: ${text}`);
    } catch {
      // Nowhere left to report to.
    }
  }
}
