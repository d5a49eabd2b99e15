// Carrying messages to the broker: QoS 1 publications, a bounded queue while
// the connection is down, repetition of what was not acknowledged, 503 while
// the host holds back what the stub sends (send-buffer.ts), and a RESPONSE
// for each message that cannot be carried. On every message's path:
// one scan of its fields (message-scan.ts), one copy into its PUBLISH packet.
import type { Answers } from './answers.ts';
import { MQTT_MAX_REMAINING } from './config.ts';
import type { Connection } from './connection.ts';
import { type MessageSpan, scanMessage } from './message-scan.ts';
import type { PacketIds } from './packet-ids.ts';
import { encodePublish, encodeTopic, markDuplicate, setPublishId } from './packets.ts';
import { addressToTopic } from './topics.ts';

/** A PUBLISH packet, built once; its packet id is set when it is sent. */
interface Outgoing { packet: Uint8Array; idAt: number }

const QUEUE_LIMIT = 10_000;
// Addresses whose topic is kept encoded; cleared when it grows past this.
const TOPIC_CACHE_LIMIT = 4096;

export class Outbound {
  private queue: Outgoing[] = [];
  // QoS 1 publications not yet acknowledged, in send order; sent again, with
  // their ids and the DUP flag, on the next connection (at-least-once).
  private readonly inflight = new Map<number, Outgoing>();
  private readonly topics = new Map<string, Uint8Array | null>();
  // Why nothing more is taken (login refused, undeployed), once it is so.
  private closed: string | null = null;

  private readonly topicPrefix: string;
  private readonly maxMessageBytes: number;
  private readonly connection: Connection;
  private readonly ids: PacketIds;
  private readonly answers: Answers;

  constructor(topicPrefix: string, maxMessageBytes: number, connection: Connection, ids: PacketIds, answers: Answers) {
    this.topicPrefix = topicPrefix;
    this.maxMessageBytes = maxMessageBytes;
    this.connection = connection;
    this.ids = ids;
    this.answers = answers;
  }

  /** Nothing queued or awaiting its PUBACK. */
  get idle(): boolean {
    return this.queue.length === 0 && this.inflight.size === 0;
  }

  /** The message at `span` of `batch`, for the address `to`. */
  carry(batch: Uint8Array, span: MessageSpan, to: string): void {
    const size = span.end - span.start;
    // Refused before any copy is made.
    if (size > this.maxMessageBytes) {
      return this.answers.refuse(batch, span, 413, `message of ${size} bytes is larger than maxMessageBytes (${this.maxMessageBytes})`);
    }
    if (this.closed !== null) return this.answers.refuse(batch, span, 503, this.closed);
    const topic = this.topicOf(to);
    if (topic === null) return this.answers.refuse(batch, span, 500, `"${to}" is not a scheme://host/path address`);
    if (topic.length + 2 + size > MQTT_MAX_REMAINING) {
      return this.answers.refuse(batch, span, 413, `message of ${size} bytes does not fit in an MQTT packet`);
    }
    if (this.connection.congested) {
      return this.answers.refuse(batch, span, 503, `congested: ${this.connection.unsentBytes} bytes wait to be sent to the broker`);
    }
    const direct = this.queue.length === 0 && this.connection.live ? this.ids.take() : 0;
    if (direct === 0 && this.queue.length >= QUEUE_LIMIT) {
      return this.answers.refuse(batch, span, 503, `the outbound queue is full (${QUEUE_LIMIT} messages wait for the broker)`);
    }
    const packet = encodePublish(topic, batch.subarray(span.start, span.end), direct);
    // The packet ends with the id (2 bytes) and the payload.
    const item = { packet, idAt: packet.length - 2 - size };
    if (direct === 0) {
      this.queue.push(item);
      return;
    }
    this.inflight.set(direct, item);
    this.connection.write(packet);
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
    if (!this.inflight.delete(packetId)) return;
    this.ids.release(packetId);
    if (this.queue.length) this.flushQueue();
  }

  /** A new connection: what was not acknowledged goes again, then the queue. */
  onLive(): void {
    for (const item of this.inflight.values()) {
      markDuplicate(item.packet);
      this.connection.write(item.packet);
    }
    this.flushQueue();
  }

  /** Publishes queued messages while packet ids are free and the connection is not congested. */
  flushQueue(): void {
    let sent = 0;
    while (sent < this.queue.length && this.connection.live && !this.connection.congested) {
      const id = this.ids.take();
      if (id === 0) break;
      const item = this.queue[sent++]!;
      setPublishId(item.packet, item.idAt, id);
      this.inflight.set(id, item);
      this.connection.write(item.packet);
    }
    if (sent) this.queue = sent === this.queue.length ? [] : this.queue.slice(sent);
  }

  /** Takes nothing more: every later message is answered 503 with `reason`. */
  close(reason: string): void {
    this.closed ??= reason;
  }

  /** Answers 503 to everything queued or awaiting its PUBACK, and forgets it. */
  refuseAll(reason: string): void {
    for (const [id, item] of this.inflight) {
      this.ids.release(id);
      this.refuseItem(item, reason);
    }
    this.inflight.clear();
    for (const item of this.queue) this.refuseItem(item, reason);
    this.queue = [];
  }

  private refuseItem(item: Outgoing, reason: string): void {
    const payloadAt = item.idAt + 2;
    this.answers.refuse(item.packet, scanMessage(item.packet, payloadAt), 503, reason);
  }
}
