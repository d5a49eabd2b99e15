// MQTT 3.1.1 packets the client sends; what the broker sends is read by
// packet-reader.ts.

// A plain object rather than a TS enum, so type-stripping tools accept it.
export const PacketType = {
  CONNECT: 1, CONNACK: 2, PUBLISH: 3, PUBACK: 4, PUBREC: 5, PUBREL: 6, PUBCOMP: 7,
  SUBSCRIBE: 8, SUBACK: 9, UNSUBSCRIBE: 10, UNSUBACK: 11, PINGREQ: 12, PINGRESP: 13, DISCONNECT: 14,
} as const;

const utf8 = new TextEncoder();

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

// Bytes of the remaining length `remaining` (7 bits to a byte).
function lengthBytes(remaining: number): number {
  return remaining < 0x80 ? 1 : remaining < 0x4000 ? 2 : remaining < 0x200000 ? 3 : 4;
}

// Writes a fixed header at `at` of `out`; returns where the body starts.
function writeFixedHeader(out: Uint8Array, at: number, first: number, remaining: number): number {
  if (remaining > MAX_REMAINING) throw new RangeError('MQTT packet too large');
  out[at++] = first;
  let n = remaining;
  do {
    const digit = n & 0x7f;
    n = Math.floor(n / 128);
    out[at++] = n > 0 ? digit | 0x80 : digit;
  } while (n > 0);
  return at;
}

// A whole packet's buffer with its fixed header written; its body is the
// last `remaining` bytes.
function fixedHeader(first: number, remaining: number): Uint8Array {
  const out = new Uint8Array(1 + lengthBytes(remaining) + remaining);
  writeFixedHeader(out, 0, first, remaining);
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

/** Bytes of a QoS 1 PUBLISH of `payloadBytes` on `topic` (as encodeTopic gives it). */
export function publishLength(topic: Uint8Array, payloadBytes: number): number {
  const remaining = topic.length + 2 + payloadBytes;
  return 1 + (remaining < 0x80 ? 1 : remaining < 0x4000 ? 2 : remaining < 0x200000 ? 3 : 4) + remaining;
}

/**
 * Writes a QoS 1 PUBLISH at `at` of `out` (publishLength bytes), its payload
 * the bytes from `start` to `end` of `payload`: the per-message path, written
 * straight into the frame being built, in one call. A repetition of one
 * sent before carries the DUP flag (MQTT 3.1.1, 4.4).
 */
export function writePublish(out: Uint8Array, at: number, topic: Uint8Array, payload: Uint8Array, start: number, end: number,
  packetId: number, duplicate: boolean): void {
  out[at++] = (PacketType.PUBLISH << 4) | QOS1 | (duplicate ? DUP : 0);
  // The remaining length, 7 bits to a byte (under MAX_REMAINING: the caller checked).
  let n = topic.length + 2 + end - start;
  while (n >= 0x80) {
    out[at++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  out[at++] = n;
  out.set(topic, at);
  at += topic.length;
  out[at] = packetId >> 8;
  out[at + 1] = packetId & 0xff;
  out.set(payload.subarray(start, end), at + 2);
}

/** Bytes of a PUBACK, PUBREC or PUBCOMP. */
export const ACK_LENGTH = 4;

/** Writes a PUBACK, PUBREC or PUBCOMP (a fixed header and the packet id) at `at` of `out`. */
export function writeAck(out: Uint8Array, at: number, type: number, packetId: number): void {
  out[at] = type << 4;
  out[at + 1] = 2;
  out[at + 2] = packetId >> 8;
  out[at + 3] = packetId & 0xff;
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
