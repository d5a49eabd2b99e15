// The shared-memory rings between the runtime and a stub's worker: every
// message arrives once, in the order sent, whatever its size and however full
// the ring — including those that cannot go through it (a compiled module)
// and go by postMessage beside it.
import test from 'ava';
import { Channel, isOutOfBand, type OutOfBand } from '../../plugins/sandbox/worker/channel.ts';
import { measure, read, write, type Message } from '../../plugins/sandbox/worker/records.ts';
import { createRing, maxRecord, RingReader, RingWriter } from '../../plugins/sandbox/worker/ring.ts';

test('a ring hands records over in order across its end, refuses what does not fit, and takes more once read', (t) => {
  const buffer = createRing(256);
  const writer = new RingWriter(buffer);
  const reader = new RingReader(buffer);
  const { data } = writer.memory;
  const written: number[][] = [];
  const readBack: number[][] = [];
  let next = 0;
  for (let round = 0; round < 200; round++) {
    // Sizes that do not divide the ring: records meet its end at every offset.
    const length = 1 + ((round * 37) % 90);
    const at = writer.claim(length);
    if (at < 0) {
      // Full: reading one makes room.
      const record = reader.next();
      t.truthy(record, 'a full ring has something to read');
      readBack.push([...reader.memory.data.subarray(record![0], record![0] + record![1])]);
      reader.release();
      round--;
      continue;
    }
    const bytes = Array.from({ length }, () => next++ & 0xff);
    data.set(bytes, at);
    writer.publish();
    written.push(bytes);
  }
  for (let record = reader.next(); record; record = reader.next()) {
    readBack.push([...reader.memory.data.subarray(record[0], record[0] + record[1])]);
    reader.release();
  }
  t.deepEqual(readBack, written);
  t.is(writer.claim(maxRecord(256)) >= 0, true, 'an empty ring takes its largest record');
});

test('each protocol message is read back from its record as it was written, bytes copied out of the ring', (t) => {
  const buffer = createRing(4096);
  const writer = new RingWriter(buffer);
  const reader = new RingReader(buffer);
  const messages: Message[] = [
    { s: 1, t: 'messages', batch: new Uint8Array([1, 2, 3]) },
    { s: 2, t: 'frames', conn: 7, count: 2, run: new Uint8Array([0, 0, 0, 0, 9]) },
    { s: 3, t: 'written', conn: 7, bytes: 2 ** 40, buffered: 0 },
    { s: 4, t: 'close', conn: 7, reason: 'gone — ünïcode' },
    { s: 5, t: 'stop' },
  ];
  const back: Message[] = [];
  for (const message of messages) {
    const encoded = measure('to-worker', message)!;
    const at = writer.claim(encoded.size);
    write(writer.memory.data, writer.memory.view, at, message, encoded);
    writer.publish();
    const [offset] = reader.next()!;
    back.push(read(reader.memory.data, reader.memory.view, offset));
    reader.release();
  }
  t.deepEqual(back, messages);
  t.false((back[0].batch as Uint8Array).buffer instanceof SharedArrayBuffer, 'a copy, not a view of the ring');
  const from: Message[] = [
    { s: 9, t: 'posts', done: 2, batches: [new Uint8Array([1]), new Uint8Array([2, 3])] },
    { s: 9, t: 'open', conn: 1, url: 'wss://broker.example/mqtt', protocols: ['mqtt', 'mqttv3.1'] },
    { s: 9, t: 'fault', code: 'PF_ERR_STUB_TRAP', reason: 'unreachable', inMessages: true },
  ];
  for (const message of from) {
    const encoded = measure('from-worker', message)!;
    const at = writer.claim(encoded.size);
    write(writer.memory.data, writer.memory.view, at, message, encoded);
    writer.publish();
    const [offset] = reader.next()!;
    t.deepEqual(read(reader.memory.data, reader.memory.view, offset), message);
    reader.release();
  }
  t.is(measure('to-worker', { s: 1, t: 'start' }), undefined, 'a start has no layout: it goes by postMessage');
});

/** Two ends of a channel in one thread; postMessage is a task later, as between threads. */
function pair(capacity: number) {
  const toB = createRing(capacity);
  const toA = createRing(capacity);
  const receivedByB: Message[] = [];
  const posted: OutOfBand[] = [];
  let b: Channel | undefined;
  let a: Channel | undefined;
  const post = (to: () => Channel | undefined) => (data: OutOfBand) => {
    posted.push(data);
    setImmediate(() => { if (isOutOfBand(data)) to()!.fromPort(data); });
  };
  a = new Channel({ sends: 'to-worker', outgoing: toB, incoming: toA, post: post(() => b), receive: () => {}, idleSpinMicros: 0, blockingWaitMs: 0, answerSpinMicros: 0 });
  b = new Channel({ sends: 'from-worker', outgoing: toA, incoming: toB, post: post(() => a), receive: (m) => receivedByB.push(m), idleSpinMicros: 0, blockingWaitMs: 0, answerSpinMicros: 0 });
  return { a, b, receivedByB, posted };
}

test('a channel delivers every message once and in order: small ones through the ring, big ones and starts beside it, a full ring holding the rest back', async (t) => {
  const { a, receivedByB, posted } = pair(1024);
  const sent: Message[] = [];
  for (let i = 0; i < 2_000; i++) {
    // Mostly small; every 50th too big for a 1 KiB ring; every 333rd a start (a module inside).
    const message: Message = i % 333 === 0
      ? { s: i, t: 'start', prepared: { kind: 'direct', label: `start ${i}` } }
      : { s: i, t: 'messages', batch: new Uint8Array(i % 50 === 0 ? 2_000 : i % 97).fill(i & 0xff) };
    sent.push(message);
    a.send(message);
    // Let the reader run now and then, as a worker would between turns.
    if (i % 100 === 99) await new Promise((resolve) => setImmediate(resolve));
  }
  const deadline = Date.now() + 10_000;
  while (receivedByB.length < sent.length && Date.now() < deadline) await new Promise((resolve) => setImmediate(resolve));
  t.is(receivedByB.length, sent.length);
  t.deepEqual(receivedByB.map((m) => m.s), sent.map((m) => m.s), 'in order, none twice');
  for (const [i, message] of receivedByB.entries()) {
    if (message.t === 'messages') t.deepEqual(message.batch, sent[i].batch);
    else t.deepEqual(message, sent[i]);
  }
  const beside = posted.filter((p) => 'oob' in p).length;
  t.is(beside, sent.filter((m) => m.t === 'start' || (m.batch as Uint8Array).byteLength === 2_000).length, 'only the big ones and the starts went by postMessage');
  t.true(posted.some((p) => 'room' in p), 'the ring filled up, and the reader said when it had room again');
});
