// Carrying messages to the broker: QoS 1 publications, a bounded queue while
// the connection is down, repetition of what was not acknowledged, 503 while
// the host holds back what the stub sends (send-buffer.ts), and a RESPONSE
// for each message that cannot be carried. On every message's path: one scan
// of its fields (message-scan.ts) and one copy of its bytes, straight into
// the frame being sent. A message waiting for its PUBACK or in the queue is
// kept as its span of the batch it came in, and written again from there if
// it must be repeated.
import type { Answers } from './answers.ts';
import { MQTT_MAX_REMAINING } from './config.ts';
import type { Connection } from './connection.ts';
import type { MessageSpan } from './message-scan.ts';
import type { PacketIds } from './packet-ids.ts';
import type { SendBuffer } from './send-buffer.ts';
import { encodeTopic } from './packets.ts';
import { addressToTopic } from './topics.ts';

const QUEUE_LIMIT = 10_000;
// Addresses whose topic is kept encoded; cleared when it grows past this.
const TOPIC_CACHE_LIMIT = 4096;
const PACKET_IDS = 65536;

export class Outbound {
  // Waiting for a packet id or the connection, in order; the head is at
  // queueHead (what went before is let go).
  private queue: Array<MessageSpan | undefined> = [];
  private queueHead = 0;
  // QoS 1 publications not yet acknowledged, by packet id (an array rather
  // than a Map: this is on every message's path, in an interpreter), and
  // when each was first sent, so they are repeated in send order on the
  // next connection (at-least-once).
  private readonly inflight: Array<MessageSpan | undefined> = new Array<MessageSpan | undefined>(PACKET_IDS).fill(undefined);
  private readonly sentOrder = new Float64Array(PACKET_IDS);
  private inflightCount = 0;
  private sends = 0;
  private readonly topics = new Map<string, Uint8Array | null>();
  // Why nothing more is taken (login refused, undeployed), once it is so.
  private closed: string | null = null;

  private readonly topicPrefix: string;
  private readonly maxMessageBytes: number;
  private readonly connection: Connection;
  private readonly out: SendBuffer;
  private readonly ids: PacketIds;
  private readonly answers: Answers;

  constructor(topicPrefix: string, maxMessageBytes: number, connection: Connection, ids: PacketIds, answers: Answers) {
    this.topicPrefix = topicPrefix;
    this.maxMessageBytes = maxMessageBytes;
    this.connection = connection;
    this.out = connection.out;
    this.ids = ids;
    this.answers = answers;
  }

  /** Nothing queued or awaiting its PUBACK. */
  get idle(): boolean {
    return this.queueHead === this.queue.length && this.inflightCount === 0;
  }

  /** The message at `span`, for the address `to`. */
  carry(span: MessageSpan, to: string): void {
    const size = span.end - span.start;
    // Refused before any copy is made.
    if (size > this.maxMessageBytes) {
      return this.answers.refuse(span, 413, `message of ${size} bytes is larger than maxMessageBytes (${this.maxMessageBytes})`);
    }
    if (this.closed !== null) return this.answers.refuse(span, 503, this.closed);
    const topic = this.topicOf(to);
    if (topic === null) return this.answers.refuse(span, 500, `"${to}" is not a scheme://host/path address`);
    if (topic.length + 2 + size > MQTT_MAX_REMAINING) {
      return this.answers.refuse(span, 413, `message of ${size} bytes does not fit in an MQTT packet`);
    }
    if (this.out.congested) {
      return this.answers.refuse(span, 503, `congested: ${this.out.unsentBytes} bytes wait to be sent to the broker`);
    }
    const queued = this.queue.length - this.queueHead;
    const id = queued === 0 && this.connection.live ? this.ids.take() : 0;
    if (id !== 0) return this.send(span, topic, id);
    if (queued >= QUEUE_LIMIT) {
      return this.answers.refuse(span, 503, `the outbound queue is full (${QUEUE_LIMIT} messages wait for the broker)`);
    }
    this.queue.push(span);
  }

  private send(span: MessageSpan, topic: Uint8Array, id: number): void {
    this.inflight[id] = span;
    this.sentOrder[id] = this.sends++;
    this.inflightCount++;
    this.out.publish(topic, span.bytes, span.start, span.end, id, false);
  }

  private topicOf(address: string): Uint8Array | null {
    let topic = this.topics.get(address);
    if (topic === undefined) {
      const text = addressToTopic(this.topicPrefix, address);
      topic = text === null ? null : encodeTopic(text);
      if (this.topics.size >= TOPIC_CACHE_LIMIT) this.topics.clear();
      this.topics.set(address, topic);
    }
    return topic;
  }

  onPuback(packetId: number): void {
    if (this.inflight[packetId] === undefined) return;
    this.inflight[packetId] = undefined;
    this.inflightCount--;
    this.ids.release(packetId);
    if (this.queueHead < this.queue.length) this.flushQueue();
  }

  /** A new connection: what was not acknowledged goes again, then the queue. */
  onLive(): void {
    for (const id of this.inflightIds()) {
      const span = this.inflight[id]!;
      // carry() checked that `to` has a topic.
      this.out.publish(this.topicOf(span.to!)!, span.bytes, span.start, span.end, id, true);
    }
    this.flushQueue();
  }

  /** Publishes queued messages while packet ids are free and the connection is not congested. */
  flushQueue(): void {
    while (this.queueHead < this.queue.length && this.connection.live && !this.out.congested) {
      const id = this.ids.take();
      if (id === 0) break;
      const span = this.queue[this.queueHead]!;
      this.queue[this.queueHead++] = undefined;
      this.send(span, this.topicOf(span.to!)!, id);
    }
    if (this.queueHead === this.queue.length) {
      this.queue = [];
      this.queueHead = 0;
    }
  }

  /** Takes nothing more: every later message is answered 503 with `reason`. */
  close(reason: string): void {
    this.closed ??= reason;
  }

  /** Answers 503 to everything queued or awaiting its PUBACK, and forgets it. */
  refuseAll(reason: string): void {
    for (const id of this.inflightIds()) {
      const span = this.inflight[id]!;
      this.inflight[id] = undefined;
      this.ids.release(id);
      this.answers.refuse(span, 503, reason);
    }
    this.inflightCount = 0;
    for (let i = this.queueHead; i < this.queue.length; i++) this.answers.refuse(this.queue[i]!, 503, reason);
    this.queue = [];
    this.queueHead = 0;
  }

  // The ids of the publications awaiting their PUBACK, oldest first (a walk
  // of every id: only on a new connection or at the end).
  private inflightIds(): number[] {
    const ids: number[] = [];
    if (this.inflightCount === 0) return ids;
    for (let id = 1; id < PACKET_IDS; id++) if (this.inflight[id] !== undefined) ids.push(id);
    return ids.sort((a, b) => this.sentOrder[a]! - this.sentOrder[b]!);
  }
}
