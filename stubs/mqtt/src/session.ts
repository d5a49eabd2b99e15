// The stub as the host calls it: batches from the bus to their handlers,
// packets from the broker to theirs, and the DELETE control message that
// ends the stub's session at the broker. The parts: connection.ts (the
// socket's life), outbound.ts (carrying messages), subscribe-controls.ts
// and subscriptions.ts (SUBSCRIBE / UNSUBSCRIBE), answers.ts (RESPONSEs owed).
import * as host from 'protofly:stub/host@0.1.0';
import { Answers } from './answers.ts';
import { BatchWriter } from './cbor-batch.ts';
import { decodeCbor } from './cbor.ts';
import type { StubConfig } from './config.ts';
import { Connection, type ConnectionOwner } from './connection.ts';
import { Inbox } from './inbox.ts';
import { type Log, stubLog } from './log.ts';
import { fieldsOf, type MessageSpan, textField, whyNotOneMessage } from './message-scan.ts';
import { Outbound } from './outbound.ts';
import { PacketIds } from './packet-ids.ts';
import { MalformedPacket, type PacketReader, type Publication } from './packet-reader.ts';
import { PacketType } from './packets.ts';
import { SubscribeControls } from './subscribe-controls.ts';
import { SubscribeWaiters } from './subscribe-waiters.ts';
import { Subscriptions } from './subscriptions.ts';

// How long a DELETE waits for the PUBACKs of what it was handed before;
// with ending the session (connection.ts) it stays within the runtime's
// undeployGraceMs (1 s by default).
const DRAIN_MS = 400;

const NOT_UNDERSTOOD = 'not understood: the MQTT stub takes SUBSCRIBE, UNSUBSCRIBE and DELETE from its runtime at its own address, nothing else';

export class Session implements ConnectionOwner {
  readonly log: Log;
  private readonly stubURL: string;
  private readonly runtimeURL: string;
  private readonly answers: Answers;
  private readonly connection: Connection;
  private readonly outbound: Outbound;
  private readonly subscriptions: Subscriptions;
  private readonly controls: SubscribeControls;
  private readonly inbox: Inbox;
  // Publications from the broker, posted together at the end of a frame.
  // The first of a frame is only noted: alone (the usual case), it is
  // posted from the frame itself, with no copy.
  private readonly delivered = new BatchWriter();
  private single: Uint8Array | null = null;
  private singleAt = 0;
  private singleEnd = 0;
  private readonly publication: Publication = { qos: 0, packetId: 0, topic: '', payloadAt: 0 };
  private workTimer: number | null = null;
  // DELETE: whom to answer, the PUBACK wait, and the answer once known.
  private deleting = false;
  private readonly deleteWaiters: Array<{ id: unknown; to: string }> = [];
  private drainTimer: number | null = null;
  private deleted: { code: number; reason?: string } | null = null;

  constructor(config: StubConfig) {
    this.stubURL = config.stubURL;
    this.runtimeURL = config.runtimeURL;
    this.log = stubLog(config.stubURL);
    this.answers = new Answers(config.stubURL, this.log);
    this.inbox = new Inbox(this.log);
    const ids = new PacketIds();
    this.connection = new Connection(config, this, this.log);
    this.outbound = new Outbound(config.topicPrefix, config.maxMessageBytes, this.connection, ids, this.answers);
    const waiters = new SubscribeWaiters(this.answers);
    this.subscriptions = new Subscriptions(config.topicPrefix, this.connection, ids, waiters, this.log);
    this.controls = new SubscribeControls(this.subscriptions, waiters, this.log);
  }

  start(): void {
    this.connection.start();
  }

  // --- from the bus ---

  onMessages(batch: Uint8Array): void {
    this.inbox.push(batch);
    this.work();
  }

  // A call's share of what the bus handed over: messages from the inbox,
  // then SUBSCRIBE / UNSUBSCRIBE addresses; a timer brings the next share.
  private work(): void {
    this.inbox.take(this.handleMessage);
    this.controls.apply();
    if ((!this.inbox.empty || this.controls.pending) && this.workTimer === null) this.workTimer = host.setTimer(0);
  }

  // A property rather than a method: handed to the inbox as it is, with no
  // closure made per call.
  private readonly handleMessage = (span: MessageSpan): void => {
    const to = span.to;
    const self = this.stubURL;
    // CONTRACT.md: the stub URL, or an address below it.
    if (to !== null && to.startsWith(self) && (to.length === self.length || to.charCodeAt(self.length) === 47 /* / */)) {
      this.toStub(span, to);
    } else if (to !== null) {
      this.outbound.carry(span, to);
    } else if (fieldsOf(span).isMap) {
      this.answers.refuse(span, 500, 'the message has no text "to"');
    } else {
      this.log(3, 'skipping an item of the batch that is not a message (a map)');
    }
  };

  // CONTRACT.md: the runtime's SUBSCRIBE, UNSUBSCRIBE and DELETE (from its
  // URL, to the stub URL exactly) are control messages; anything else
  // addressed to the stub is answered 400 (a RESPONSE is dropped).
  private toStub(span: MessageSpan, to: string): void {
    const fields = fieldsOf(span);
    const type = textField(span.bytes, fields.typeAt);
    const runtime = to === this.stubURL && textField(span.bytes, fields.fromAt) === this.runtimeURL;
    if (runtime && (type === 'SUBSCRIBE' || type === 'UNSUBSCRIBE')) this.controls.push(span, type === 'SUBSCRIBE');
    else if (runtime && type === 'DELETE') this.delete(decodeCbor(span.bytes.slice(span.start, span.end)) as Record<string, unknown>);
    else this.answers.refuse(span, 400, NOT_UNDERSTOOD);
  }

  // --- DELETE: carry what came before, end the session, answer ---

  private delete(m: Record<string, unknown>): void {
    if (typeof m.from === 'string') this.deleteWaiters.push({ id: m.id, to: m.from });
    if (this.deleted) return this.answerDelete();
    if (this.deleting) return;
    this.deleting = true;
    const reason = isReason(m.body) ? `the stub is undeployed (${m.body.reason})` : 'the stub is undeployed';
    this.log(2, `DELETE: ${reason}; ending the session at the broker`);
    this.outbound.close(reason);
    if (this.connection.live) {
      this.connection.drain();
      this.outbound.flushQueue();
      if (!this.outbound.idle) {
        this.drainTimer = host.setTimer(DRAIN_MS);
        return;
      }
    }
    this.endSession();
  }

  private endSession(): void {
    if (this.drainTimer !== null) host.clearTimer(this.drainTimer);
    this.drainTimer = null;
    this.outbound.refuseAll(`the stub was undeployed before the broker took the message (waited ${DRAIN_MS} ms)`);
    this.connection.endSession((code, reason) => {
      this.deleted = reason === undefined ? { code } : { code, reason };
      this.log(code < 400 ? 2 : 3, `DELETE done: ${code}${reason ? ` ${reason}` : ''}`);
      this.answerDelete();
    });
  }

  private answerDelete(): void {
    for (const waiter of this.deleteWaiters.splice(0)) this.answers.respond(waiter.id, waiter.to, { ...this.deleted });
  }

  // --- from the connection ---

  onLive(sessionPresent: boolean): void {
    this.subscriptions.onLive(sessionPresent);
    this.outbound.onLive();
  }

  onLost(): void {
    this.subscriptions.onLost();
    if (this.deleting && !this.deleted) this.endSession();
  }

  onDrained(): void {
    this.outbound.flushQueue();
  }

  onRefused(reason: string): void {
    this.outbound.close(`the broker refused the login: ${reason}`);
    this.outbound.refuseAll(`the broker refused the login: ${reason}`);
  }

  onOpen(conn: number): void {
    this.connection.onOpen(conn);
  }

  onClose(conn: number, reason: string): void {
    this.connection.onClose(conn, reason);
  }

  onTimer(id: number): void {
    if (id === this.workTimer) {
      this.workTimer = null;
      this.work();
    } else if (id === this.drainTimer) {
      this.drainTimer = null;
      this.endSession();
    } else {
      this.connection.onTimer(id);
    }
  }

  // --- from the broker ---

  onFrame(conn: number, frame: Uint8Array): void {
    const connection = this.connection;
    const ackId = connection.loneAck(conn, frame);
    if (ackId >= 0) {
      this.outbound.onPuback(ackId);
    } else if (connection.receive(conn, frame)) {
      this.packets(conn);
    } else {
      return;
    }
    if (this.deleting && this.drainTimer !== null && this.outbound.idle) this.endSession();
  }

  // The packets of the frame just received.
  private packets(conn: number): void {
    const connection = this.connection;
    const packet = connection.reader;
    try {
      // A packet may end the connection (refused login, protocol error).
      while (connection.isCurrent(conn) && connection.nextPacket()) this.handle(packet);
    } catch (e) {
      if (!(e instanceof MalformedPacket)) throw e;
      connection.drop(`malformed packet from the broker: ${e.message}`);
    } finally {
      // Posted before the PUBACKs go out (flush), so a broker that never
      // sees them sends again rather than us losing what it sent.
      this.postDelivered();
    }
  }

  // One packet from the broker; PUBLISH and PUBACK, one per message each,
  // are read in place.
  private handle(packet: PacketReader): void {
    const live = this.connection.live;
    if (packet.first >> 4 === PacketType.PUBLISH) {
      return live ? this.published(packet) : this.connection.drop('unexpected publish before CONNACK');
    }
    const pubackId = packet.pubackId();
    if (pubackId >= 0) return live ? this.outbound.onPuback(pubackId) : this.connection.drop('unexpected puback before CONNACK');
    const p = packet.decode();
    if (p.kind === 'connack') return this.connection.connack(p.returnCode, p.sessionPresent);
    if (!live) return this.connection.drop(`unexpected ${p.kind} before CONNACK`);
    switch (p.kind) {
      case 'pubrel':
        return this.connection.out.ack(PacketType.PUBCOMP, p.packetId);
      case 'suback':
        return this.subscriptions.onSuback(p.packetId, p.granted);
      case 'unsuback':
        return this.subscriptions.onUnsuback(p.packetId);
      default:
        return;
    }
  }

  private published(packet: PacketReader): void {
    const p = this.publication;
    packet.readPublish(p);
    if (p.qos === 1) this.connection.out.ack(PacketType.PUBACK, p.packetId);
    // We subscribe at QoS 1, but a broker may still downgrade or upgrade;
    // QoS 2 gets its handshake, delivered once on arrival.
    if (p.qos === 2) this.connection.out.ack(PacketType.PUBREC, p.packetId);
    const bytes = packet.bytes, end = packet.bodyEnd;
    const wrong = whyNotOneMessage(bytes, p.payloadAt, end);
    if (wrong !== null) return this.log(3, `skipping publication on ${p.topic}: ${wrong}`);
    if (this.single === null && this.delivered.count === 0) {
      this.single = bytes;
      this.singleAt = p.payloadAt;
      this.singleEnd = end;
      return;
    }
    if (this.single !== null) this.delivered.add(this.single, this.singleAt, this.singleEnd);
    this.single = null;
    this.delivered.add(bytes, p.payloadAt, end);
  }

  private postDelivered(): void {
    const single = this.single;
    if (single !== null) {
      this.single = null;
      // The byte before the payload (the packet id's, or the topic's) was
      // read already: it becomes the head of a batch of one. The frame is
      // the stub's own copy (componentize-js lifts a list<u8> into a new
      // buffer), or the reader's.
      single[this.singleAt - 1] = 0x81;
      host.post(single.subarray(this.singleAt - 1, this.singleEnd));
    } else if (this.delivered.count) {
      host.post(this.delivered.take());
    }
  }

  /** Called once at the end of every host→stub call. */
  flush(): void {
    this.connection.flush();
    this.answers.flush();
  }
}

function isReason(body: unknown): body is { reason: string } {
  return typeof body === 'object' && body !== null && typeof (body as { reason?: unknown }).reason === 'string';
}
