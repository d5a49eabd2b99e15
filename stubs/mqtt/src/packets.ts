// MQTT 3.1.1 packets the client needs: encoders for what it sends, and a
// streaming reader for what the broker sends, since one WebSocket frame may
// carry several packets or a part of one.

// A plain object rather than a TS enum, so type-stripping tools accept it.
export const PacketType = {
  CONNECT: 1, CONNACK: 2, PUBLISH: 3, PUBACK: 4, PUBREC: 5, PUBREL: 6, PUBCOMP: 7,
  SUBSCRIBE: 8, SUBACK: 9, UNSUBSCRIBE: 10, UNSUBACK: 11, PINGREQ: 12, PINGRESP: 13, DISCONNECT: 14,
} as const;

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

export class MalformedPacket extends Error {}

// A growing byte writer; packets are small, so doubling is plenty.
class Writer {
  bytes = new Uint8Array(64);
  length = 0;
  private room(n: number): void {
    if (this.length + n <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < this.length + n) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
  }
  byte(b: number): this { this.room(1); this.bytes[this.length++] = b; return this; }
  u16(n: number): this { return this.byte(n >> 8).byte(n & 0xff); }
  raw(b: Uint8Array): this { this.room(b.length); this.bytes.set(b, this.length); this.length += b.length; return this; }
  str(s: string): this { return this.prefixed(utf8.encode(s)); }
  prefixed(b: Uint8Array): this {
    if (b.length > 0xffff) throw new RangeError('MQTT string longer than 65535 bytes');
    return this.u16(b.length).raw(b);
  }
  done(): Uint8Array { return this.bytes.subarray(0, this.length); }
}

const MAX_REMAINING = 268_435_455;

// A whole packet's buffer with its fixed header written; its body is the
// last `remaining` bytes.
function fixedHeader(first: number, remaining: number): Uint8Array {
  if (remaining > MAX_REMAINING) throw new RangeError('MQTT packet too large');
  const lengthBytes = remaining < 0x80 ? 1 : remaining < 0x4000 ? 2 : remaining < 0x200000 ? 3 : 4;
  const out = new Uint8Array(1 + lengthBytes + remaining);
  out[0] = first;
  let n = remaining, at = 1;
  do {
    const digit = n & 0x7f;
    n = Math.floor(n / 128);
    out[at++] = n > 0 ? digit | 0x80 : digit;
  } while (n > 0);
  return out;
}

function packet(first: number, body: Uint8Array): Uint8Array {
  const out = fixedHeader(first, body.length);
  out.set(body, out.length - body.length);
  return out;
}

export interface ConnectOptions {
  clientId: string;
  keepAliveSec: number;
  username?: string;
  password?: string;
  /** Keep the session (subscriptions, QoS 1 messages) at the broker across disconnections. */
  persistentSession: boolean;
}

export function encodeConnect(o: ConnectOptions): Uint8Array {
  const CLEAN_SESSION = 0x02, PASSWORD = 0x40, USERNAME = 0x80;
  let flags = o.persistentSession ? 0 : CLEAN_SESSION;
  if (o.username !== undefined) flags |= USERNAME;
  if (o.username !== undefined && o.password !== undefined) flags |= PASSWORD;
  const w = new Writer().str('MQTT').byte(4).byte(flags).u16(o.keepAliveSec).str(o.clientId);
  if (flags & USERNAME) w.str(o.username!);
  if (flags & PASSWORD) w.str(o.password!);
  return packet(PacketType.CONNECT << 4, w.done());
}

/** A topic as PUBLISH carries it: its UTF-8 bytes after their 16-bit length. */
export function encodeTopic(topic: string): Uint8Array {
  return new Writer().str(topic).done().slice();
}

const QOS1 = 0x02, DUP = 0x08;

/**
 * A QoS 1 PUBLISH, built in one allocation (the per-message path). It ends
 * with the packet id and the payload, so a queued packet gets its id when it
 * is sent, and a repeated one is sent as it was, with the DUP flag.
 */
export function encodePublish(topic: Uint8Array, payload: Uint8Array, packetId: number): Uint8Array {
  const remaining = topic.length + 2 + payload.length;
  const out = fixedHeader((PacketType.PUBLISH << 4) | QOS1, remaining);
  let at = out.length - remaining;
  out.set(topic, at);
  at += topic.length;
  out[at] = packetId >> 8;
  out[at + 1] = packetId & 0xff;
  out.set(payload, at + 2);
  return out;
}

/** Gives a built PUBLISH its packet id. */
export function setPublishId(packet: Uint8Array, idAt: number, packetId: number): void {
  packet[idAt] = packetId >> 8;
  packet[idAt + 1] = packetId & 0xff;
}

/** Marks a PUBLISH as a repetition of one sent before (MQTT 3.1.1, 4.4). */
export function markDuplicate(packet: Uint8Array): void {
  packet[0] = packet[0]! | DUP;
}

// PUBACK, PUBREC and PUBCOMP: a fixed header and the packet id.
export function encodeAck(type: number, packetId: number): Uint8Array {
  return new Uint8Array([type << 4, 2, packetId >> 8, packetId & 0xff]);
}

// Each topic is `prefix` followed by one of `topics`, as UTF-8 bytes the
// caller measured to bound the packet; built in one allocation, as a storm
// of listeners sends hundreds.
export function encodeSubscribe(packetId: number, prefix: Uint8Array, topics: Uint8Array[], qos = 1): Uint8Array {
  return topicListPacket((PacketType.SUBSCRIBE << 4) | 0x02, packetId, prefix, topics, qos);
}

export function encodeUnsubscribe(packetId: number, prefix: Uint8Array, topics: Uint8Array[]): Uint8Array {
  return topicListPacket((PacketType.UNSUBSCRIBE << 4) | 0x02, packetId, prefix, topics, -1);
}

// qos -1: no QoS byte after each topic (UNSUBSCRIBE).
function topicListPacket(first: number, packetId: number, prefix: Uint8Array, topics: Uint8Array[], qos: number): Uint8Array {
  const perTopic = qos < 0 ? 2 : 3;
  let remaining = 2;
  for (const t of topics) {
    if (prefix.length + t.length > 0xffff) throw new RangeError('MQTT string longer than 65535 bytes');
    remaining += perTopic + prefix.length + t.length;
  }
  const out = fixedHeader(first, remaining);
  let at = out.length - remaining;
  out[at++] = packetId >> 8;
  out[at++] = packetId & 0xff;
  for (const t of topics) {
    const length = prefix.length + t.length;
    out[at++] = length >> 8;
    out[at++] = length & 0xff;
    out.set(prefix, at);
    at += prefix.length;
    out.set(t, at);
    at += t.length;
    if (qos >= 0) out[at++] = qos;
  }
  return out;
}

export const PINGREQ = new Uint8Array([PacketType.PINGREQ << 4, 0]);
export const DISCONNECT = new Uint8Array([PacketType.DISCONNECT << 4, 0]);

export type Inbound =
  | { kind: 'connack'; sessionPresent: boolean; returnCode: number }
  | { kind: 'publish'; qos: number; topic: string; packetId: number; payload: Uint8Array }
  | { kind: 'puback' | 'pubrec' | 'pubrel' | 'pubcomp' | 'unsuback'; packetId: number }
  | { kind: 'suback'; packetId: number; granted: number[] }
  | { kind: 'pingresp' };

const ACK_KINDS: Partial<Record<number, 'puback' | 'pubrec' | 'pubrel' | 'pubcomp' | 'unsuback'>> = {
  [PacketType.PUBACK]: 'puback', [PacketType.PUBREC]: 'pubrec', [PacketType.PUBREL]: 'pubrel',
  [PacketType.PUBCOMP]: 'pubcomp', [PacketType.UNSUBACK]: 'unsuback',
};

function u16At(b: Uint8Array, at: number): number {
  return (b[at]! << 8) | b[at + 1]!;
}

// Flags the spec fixes for each packet type a server may send (PUBLISH's
// flags vary, so it is checked apart).
const FIXED_FLAGS: Partial<Record<number, number>> = {
  [PacketType.CONNACK]: 0, [PacketType.PUBACK]: 0, [PacketType.PUBREC]: 0, [PacketType.PUBREL]: 2,
  [PacketType.PUBCOMP]: 0, [PacketType.SUBACK]: 0, [PacketType.UNSUBACK]: 0, [PacketType.PINGRESP]: 0,
};

function decodeBody(first: number, body: Uint8Array): Inbound {
  const type = first >> 4, flags = first & 0x0f;
  if (type === PacketType.PUBLISH) {
    const qos = (flags >> 1) & 0x03;
    if (qos === 3) throw new MalformedPacket('PUBLISH with QoS 3');
    if (body.length < 2) throw new MalformedPacket('PUBLISH too short');
    const topicLen = u16At(body, 0);
    let at = 2 + topicLen;
    if (at > body.length) throw new MalformedPacket('PUBLISH topic runs past the packet');
    let topic: string;
    try {
      topic = utf8Strict.decode(body.subarray(2, at));
    } catch {
      throw new MalformedPacket('PUBLISH topic is not UTF-8');
    }
    let packetId = 0;
    if (qos > 0) {
      if (at + 2 > body.length) throw new MalformedPacket('PUBLISH packet id missing');
      packetId = u16At(body, at);
      at += 2;
    }
    return { kind: 'publish', qos, topic, packetId, payload: body.subarray(at) };
  }
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

// Accumulates frames and yields whole packets; throws MalformedPacket when
// the stream cannot be MQTT, after which the connection is unusable.
export class PacketReader {
  private pending: Uint8Array = new Uint8Array(0);

  reset(): void {
    this.pending = new Uint8Array(0);
  }

  push(frame: Uint8Array): Inbound[] {
    let buf: Uint8Array;
    if (this.pending.length === 0) {
      buf = frame;
    } else {
      buf = new Uint8Array(this.pending.length + frame.length);
      buf.set(this.pending);
      buf.set(frame, this.pending.length);
    }
    const packets: Inbound[] = [];
    let at = 0;
    for (;;) {
      if (buf.length - at < 2) break;
      let remaining = 0, mult = 1, i = at + 1, complete = false;
      for (let n = 0; n < 4 && i < buf.length; n++, i++) {
        const digit = buf[i]!;
        remaining += (digit & 0x7f) * mult;
        mult *= 128;
        if ((digit & 0x80) === 0) { complete = true; i++; break; }
        if (n === 3) throw new MalformedPacket('remaining length longer than 4 bytes');
      }
      if (!complete) break;
      if (buf.length - i < remaining) break;
      // The payload must outlive `buf`, which may be the host's frame.
      packets.push(decodeBody(buf[at]!, buf.slice(i, i + remaining)));
      at = i + remaining;
    }
    this.pending = at === buf.length ? new Uint8Array(0) : buf.slice(at);
    return packets;
  }
}
