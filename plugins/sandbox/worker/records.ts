// How a protocol message (protocol.ts) is laid out as a ring record: its
// slot, a kind byte, then its fields in the order its layout lists them.
// Numbers are 32-bit or doubles, text is UTF-8, bytes are copied out on
// reading (a ring's bytes are reused, and shared memory cannot be given to
// TextDecoder or kept by a socket). A message with no layout here (one
// carrying a compiled module) crosses by postMessage, in order (channel.ts).

type Field = 'u32' | 'f64' | 'bool' | 'text' | 'texts' | 'bytes' | 'byteList';
type Layout = ReadonlyArray<readonly [name: string, type: Field]>;

// Both directions in one table; a kind's number is its index. Append only.
const LAYOUTS: ReadonlyArray<readonly [kind: string, layout: Layout]> = [
  // To the worker.
  ['stop', []],
  ['drain', []],
  ['messages', [['batch', 'bytes']]],
  ['open', [['conn', 'u32']]],
  ['frames', [['conn', 'u32'], ['count', 'u32'], ['run', 'bytes']]],
  ['written', [['conn', 'u32'], ['bytes', 'f64'], ['buffered', 'f64']]],
  ['close', [['conn', 'u32'], ['reason', 'text']]],
  ['ping', []],
  // From the worker.
  ['ready', []],
  ['init-refused', [['reason', 'text']]],
  ['posts', [['done', 'u32'], ['batches', 'byteList']]],
  ['open:', [['conn', 'u32'], ['url', 'text'], ['protocols', 'texts']]],
  ['send', [['conn', 'u32'], ['frame', 'bytes']]],
  ['taken', [['conn', 'u32'], ['bytes', 'f64'], ['frames', 'u32'], ['memory', 'f64']]],
  ['close:', [['conn', 'u32']]],
  ['log', [['level', 'u32'], ['text', 'text']]],
  ['fault', [['code', 'text'], ['reason', 'text'], ['inMessages', 'bool']]],
  ['pong', []],
  ['drained', []],
  ['memory', [['memory', 'f64']]],
];

/** A record that stands for a message sent by postMessage: read it there, in this place. */
export const OUT_OF_BAND = 255;

// Kinds used in both directions with other fields ('open', 'close') carry a
// ':' suffix on the worker's side of the table.
/** Each kind's message type (`t`), as read back. */
const TYPES = LAYOUTS.map(([kind]) => kind.replace(/:$/, ''));
const TO_WORKER = new Map(LAYOUTS.slice(0, 8).map(([kind, layout], i) => [kind, { id: i, layout }]));
const FROM_WORKER = new Map(LAYOUTS.slice(8).map(([kind, layout], i) => [kind.replace(/:$/, ''), { id: i + 8, layout }]));

export type Direction = 'to-worker' | 'from-worker';
export interface Message { s: number; t: string; [field: string]: unknown }

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export interface Encoded {
  kind: number;
  layout: Layout;
  size: number;
  /** Text fields encoded once, used by size and by write. */
  texts: Uint8Array[];
}

/** The record `message` would make, or undefined when it has no layout. */
export function measure(direction: Direction, message: Message): Encoded | undefined {
  const found = (direction === 'to-worker' ? TO_WORKER : FROM_WORKER).get(message.t);
  if (!found) return undefined;
  let size = 5;
  const texts: Uint8Array[] = [];
  for (const [name, type] of found.layout) {
    const value = message[name];
    switch (type) {
      case 'u32': case 'bool': size += 4; break;
      case 'f64': size += 8; break;
      case 'text': {
        const bytes = encoder.encode(String(value));
        texts.push(bytes);
        size += 4 + bytes.byteLength;
        break;
      }
      case 'texts':
        size += 4;
        for (const text of value as string[]) {
          const bytes = encoder.encode(text);
          texts.push(bytes);
          size += 4 + bytes.byteLength;
        }
        break;
      case 'bytes': size += 4 + (value as Uint8Array).byteLength; break;
      case 'byteList':
        size += 4;
        for (const bytes of value as Uint8Array[]) size += 4 + bytes.byteLength;
        break;
    }
  }
  return { kind: found.id, layout: found.layout, size, texts };
}

/** Writes `message` (measured as `encoded`) at `at`. */
export function write(data: Uint8Array, view: DataView, at: number, message: Message, encoded: Encoded): void {
  view.setUint32(at, message.s, true);
  data[at + 4] = encoded.kind;
  let p = at + 5;
  let text = 0;
  for (const [name, type] of encoded.layout) {
    const value = message[name];
    switch (type) {
      case 'u32': view.setUint32(p, value as number, true); p += 4; break;
      case 'bool': view.setUint32(p, value ? 1 : 0, true); p += 4; break;
      case 'f64': view.setFloat64(p, value as number, true); p += 8; break;
      case 'text': p = writeBytes(data, view, p, encoded.texts[text++]); break;
      case 'texts':
        view.setUint32(p, (value as string[]).length, true);
        p += 4;
        for (let i = 0; i < (value as string[]).length; i++) p = writeBytes(data, view, p, encoded.texts[text++]);
        break;
      case 'bytes': p = writeBytes(data, view, p, value as Uint8Array); break;
      case 'byteList':
        view.setUint32(p, (value as Uint8Array[]).length, true);
        p += 4;
        for (const item of value as Uint8Array[]) p = writeBytes(data, view, p, item);
        break;
    }
  }
}

/** Writes `value` length-prefixed at `p`; returns where the next field goes. */
function writeBytes(data: Uint8Array, view: DataView, p: number, value: Uint8Array): number {
  view.setUint32(p, value.byteLength, true);
  data.set(value, p + 4);
  return p + 4 + value.byteLength;
}

/** The slot and kind of the record at `at` (OUT_OF_BAND: see `outOfBandId`). */
export function kindAt(data: Uint8Array, at: number): number {
  return data[at + 4];
}

export function outOfBandId(view: DataView, at: number): number {
  return view.getUint32(at + 5, true);
}

/** Writes the stand-in for out-of-band message `id` (9 bytes). */
export function writeOutOfBand(data: Uint8Array, view: DataView, at: number, slot: number, id: number): void {
  view.setUint32(at, slot, true);
  data[at + 4] = OUT_OF_BAND;
  view.setUint32(at + 5, id, true);
}
export const OUT_OF_BAND_SIZE = 9;

/** The message the record at `at` holds; its bytes are copies. */
export function read(data: Uint8Array, view: DataView, at: number): Message {
  const kind = data[at + 4];
  const layout = LAYOUTS[kind]?.[1];
  if (!layout) throw new Error(`a ring record of unknown kind ${kind}`);
  const message: Message = { s: view.getUint32(at, true), t: TYPES[kind] };
  // No closure per record: this runs for every message each way.
  const cursor = { p: at + 5 };
  for (const [field, type] of layout) {
    switch (type) {
      case 'u32': message[field] = view.getUint32(cursor.p, true); cursor.p += 4; break;
      case 'bool': message[field] = view.getUint32(cursor.p, true) !== 0; cursor.p += 4; break;
      case 'f64': message[field] = view.getFloat64(cursor.p, true); cursor.p += 8; break;
      case 'text': message[field] = decoder.decode(readBytes(data, view, cursor)); break;
      case 'texts': {
        const count = view.getUint32(cursor.p, true);
        cursor.p += 4;
        const texts: string[] = [];
        for (let i = 0; i < count; i++) texts.push(decoder.decode(readBytes(data, view, cursor)));
        message[field] = texts;
        break;
      }
      case 'bytes': message[field] = readBytes(data, view, cursor); break;
      case 'byteList': {
        const count = view.getUint32(cursor.p, true);
        cursor.p += 4;
        const list: Uint8Array[] = [];
        for (let i = 0; i < count; i++) list.push(readBytes(data, view, cursor));
        message[field] = list;
        break;
      }
    }
  }
  return message;
}

/** A length-prefixed run of bytes at `cursor.p`, copied out; moves the cursor past it. */
function readBytes(data: Uint8Array, view: DataView, cursor: { p: number }): Uint8Array {
  const length = view.getUint32(cursor.p, true);
  const start = cursor.p + 4;
  cursor.p = start + length;
  return data.slice(start, start + length);
}
