// MQTT 3.1.1 packets from the broker, read where they lie: one WebSocket
// frame may carry several packets or a part of one. The reader hands out one
// packet at a time as offsets into the frame, and PUBLISH and PUBACK (one
// per message each) are read in place with no allocation; the rare packets
// are decoded into objects. Measured reason: building an object and a copy
// per packet was a large part of what a publication cost the interpreter.
import { PacketType } from './packets.ts';

export class MalformedPacket extends Error {}

const utf8Strict = new TextDecoder('utf-8', { fatal: true });
const EMPTY = new Uint8Array(0);

/** Packets other than PUBLISH, decoded. */
export type Inbound =
  | { kind: 'connack'; sessionPresent: boolean; returnCode: number }
  | { kind: 'puback' | 'pubrec' | 'pubrel' | 'pubcomp' | 'unsuback'; packetId: number }
  | { kind: 'suback'; packetId: number; granted: number[] }
  | { kind: 'pingresp' };

const ACK_KINDS: Partial<Record<number, 'puback' | 'pubrec' | 'pubrel' | 'pubcomp' | 'unsuback'>> = {
  [PacketType.PUBACK]: 'puback', [PacketType.PUBREC]: 'pubrec', [PacketType.PUBREL]: 'pubrel',
  [PacketType.PUBCOMP]: 'pubcomp', [PacketType.UNSUBACK]: 'unsuback',
};

// Flags the spec fixes for each packet type a server may send (PUBLISH's
// flags vary, so it is checked apart).
const FIXED_FLAGS: Partial<Record<number, number>> = {
  [PacketType.CONNACK]: 0, [PacketType.PUBACK]: 0, [PacketType.PUBREC]: 0, [PacketType.PUBREL]: 2,
  [PacketType.PUBCOMP]: 0, [PacketType.SUBACK]: 0, [PacketType.UNSUBACK]: 0, [PacketType.PINGRESP]: 0,
};

// A PUBACK as the broker sends it: type 4, no flags, 2 bytes of packet id.
const PUBACK_FIRST = PacketType.PUBACK << 4;

export class PacketReader {
  /** The bytes the current packet lies in: the frame, or what was left of the last one joined to it. */
  bytes: Uint8Array = EMPTY;
  /** The current packet's first byte (type and flags) and where its body lies in `bytes`. */
  first = 0;
  bodyAt = 0;
  bodyEnd = 0;
  // Where the next packet starts in `bytes`, and the start of a packet the
  // last frame ended in, kept for the next.
  private at = 0;
  private partial: Uint8Array = EMPTY;

  reset(): void {
    this.bytes = this.partial = EMPTY;
    this.at = 0;
  }

  /** Whether the start of a packet from the last frame waits for the next. */
  holdsPart(): boolean {
    return this.partial.length !== 0;
  }

  /** Starts on a frame; its packets come from next(). `frame` is read during this call only. */
  push(frame: Uint8Array): void {
    if (this.partial.length === 0) {
      this.bytes = frame;
    } else {
      const joined = new Uint8Array(this.partial.length + frame.length);
      joined.set(this.partial);
      joined.set(frame, this.partial.length);
      this.bytes = joined;
      this.partial = EMPTY;
    }
    this.at = 0;
  }

  /**
   * Moves to the next whole packet of the frame; false once none is left
   * (the start of one is kept for the next frame). Throws MalformedPacket
   * when the stream cannot be MQTT, after which the connection is unusable.
   */
  next(): boolean {
    const b = this.bytes, at = this.at;
    let remaining = 0, mult = 1, i = at + 1, complete = false;
    for (let n = 0; n < 4 && i < b.length; n++, i++) {
      const digit = b[i]!;
      remaining += (digit & 0x7f) * mult;
      mult *= 128;
      if ((digit & 0x80) === 0) { complete = true; i++; break; }
      if (n === 3) throw new MalformedPacket('remaining length longer than 4 bytes');
    }
    if (!complete || b.length - i < remaining) {
      // The host's frame is not ours to keep.
      if (at < b.length) this.partial = b.slice(at);
      this.bytes = EMPTY;
      this.at = 0;
      return false;
    }
    this.first = b[at]!;
    this.bodyAt = i;
    this.bodyEnd = this.at = i + remaining;
    return true;
  }

  /** The packet id of a well-formed PUBACK, or -1 for any other packet. */
  pubackId(): number {
    if (this.first !== PUBACK_FIRST || this.bodyEnd - this.bodyAt !== 2) return -1;
    return (this.bytes[this.bodyAt]! << 8) | this.bytes[this.bodyAt + 1]!;
  }

  /**
   * The current packet as a PUBLISH: its QoS, packet id (0 at QoS 0), topic
   * and where its payload starts (it ends at bodyEnd). Throws MalformedPacket.
   */
  readPublish(into: Publication): void {
    const b = this.bytes, bodyAt = this.bodyAt, bodyEnd = this.bodyEnd;
    const qos = (this.first >> 1) & 0x03;
    if (qos === 3) throw new MalformedPacket('PUBLISH with QoS 3');
    if (bodyEnd - bodyAt < 2) throw new MalformedPacket('PUBLISH too short');
    let at = bodyAt + 2 + ((b[bodyAt]! << 8) | b[bodyAt + 1]!);
    if (at > bodyEnd) throw new MalformedPacket('PUBLISH topic runs past the packet');
    try {
      into.topic = utf8Strict.decode(b.subarray(bodyAt + 2, at));
    } catch {
      throw new MalformedPacket('PUBLISH topic is not UTF-8');
    }
    into.packetId = 0;
    if (qos > 0) {
      if (at + 2 > bodyEnd) throw new MalformedPacket('PUBLISH packet id missing');
      into.packetId = (b[at]! << 8) | b[at + 1]!;
      at += 2;
    }
    into.qos = qos;
    into.payloadAt = at;
  }

  /** The current packet, any type but PUBLISH, decoded. Throws MalformedPacket. */
  decode(): Inbound {
    const first = this.first, body = this.bytes.subarray(this.bodyAt, this.bodyEnd);
    const type = first >> 4, flags = first & 0x0f;
    const expected = FIXED_FLAGS[type];
    if (expected === undefined) throw new MalformedPacket(`unexpected packet type ${type} from the broker`);
    if (flags !== expected) throw new MalformedPacket(`bad flags ${flags} on packet type ${type}`);
    switch (type) {
      case PacketType.CONNACK:
        if (body.length !== 2) throw new MalformedPacket('CONNACK must be 2 bytes');
        return { kind: 'connack', sessionPresent: (body[0]! & 1) === 1, returnCode: body[1]! };
      case PacketType.SUBACK:
        if (body.length < 3) throw new MalformedPacket('SUBACK too short');
        return { kind: 'suback', packetId: u16At(body, 0), granted: Array.from(body.subarray(2)) };
      case PacketType.PINGRESP:
        if (body.length !== 0) throw new MalformedPacket('PINGRESP must be empty');
        return { kind: 'pingresp' };
      default: {
        if (body.length !== 2) throw new MalformedPacket(`packet type ${type} must be 2 bytes`);
        return { kind: ACK_KINDS[type]!, packetId: u16At(body, 0) };
      }
    }
  }
}

/** What readPublish found; one object reused for every publication. */
export interface Publication {
  qos: number;
  packetId: number;
  topic: string;
  payloadAt: number;
}

function u16At(b: Uint8Array, at: number): number {
  return (b[at]! << 8) | b[at + 1]!;
}
