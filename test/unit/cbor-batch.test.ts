import test from 'ava';
import { batchItemBytes, batchLength } from '../../kernel/cbor-batch.ts';
import { decodeBatch, encodeBatch, encodeCbor } from '../../kernel/cbor.ts';

test('a batch of messages round-trips through CBOR as plain maps any language can read', (t) => {
  const batch = [
    { id: '1', type: 'UPDATE', from: 'hyperty-runtime://a/protostub/1', resource: 'hyperty-runtime://a/protostub/1/status', body: { value: 'LIVE' } },
    { id: 2, type: 'CREATE', from: 'hyperty://a/x', to: 'hyperty://a/y', body: { bytes: new Uint8Array([1, 2, 3]), list: [1, 'two', null] } },
  ];
  const bytes = encodeBatch(batch);
  t.is(bytes[0], 0x82, 'a definite-length CBOR array of two');
  t.is(bytes[1] >> 5, 5, 'whose items are CBOR maps');
  const decoded = decodeBatch(bytes) as typeof batch;
  t.deepEqual(decoded[0], batch[0]);
  const body = decoded[1].body as { bytes: Uint8Array; list: unknown[] };
  t.deepEqual([...body.bytes], [1, 2, 3]);
  t.deepEqual(body.list, [1, 'two', null]);
});

test('invalid CBOR and non-array batches fail with PF_ERR_CBOR', (t) => {
  t.throws(() => decodeBatch(new Uint8Array([0x9f, 0x01])), { code: 'PF_ERR_CBOR' });
  t.throws(() => decodeBatch(new Uint8Array([0xff, 0xff, 0x00])), { code: 'PF_ERR_CBOR' });
  t.throws(() => decodeBatch(encodeCbor({ not: 'an array' })), { code: 'PF_ERR_CBOR' });
});

test('decoded byte strings are copies, not views of the input (which may be a stub memory that changes)', (t) => {
  const input = new Uint8Array(encodeBatch([{ id: '1', type: 'CREATE', from: 'a://b/c', body: { bytes: new Uint8Array([1, 2, 3]) } }]));
  const [message] = decodeBatch(input) as Array<{ body: { bytes: Uint8Array } }>;
  input.fill(0);
  t.deepEqual([...message.body.bytes], [1, 2, 3]);
});

test("a batch's item bytes are the sum of its messages' own CBOR, whatever its array head", (t) => {
  const message = (i: number) => ({ id: `m${i}`, type: 'CREATE', from: 'hyperty://a/x', body: 'é'.repeat(i) });
  for (const count of [0, 1, 23, 24, 255, 256, 70_000]) {
    const messages = Array.from({ length: count }, (_, i) => message(i % 50));
    const own = messages.reduce((sum, m) => sum + encodeCbor(m).byteLength, 0);
    t.is(batchItemBytes(encodeBatch(messages)), own, `${count} messages`);
  }
  // Written by a stub as an indefinite-length array: its head and its break are framing.
  const items = encodeCbor(message(3));
  t.is(batchItemBytes(Uint8Array.of(0x9f, ...items, 0xff)), items.byteLength);
  t.is(batchItemBytes(encodeCbor({ not: 'an array' })), encodeCbor({ not: 'an array' }).byteLength, 'what is not a batch counts whole');
  t.is(batchItemBytes(Uint8Array.of(0x9b)), 0, 'never negative');
});

test('a batch\'s message count is read from its array head alone, whatever the size of the length', (t) => {
  const message = { id: '1', type: 'CREATE', from: 'hyperty://a/x' };
  // 0–23 in the head itself; then 1, 2 and 4 bytes after it.
  for (const count of [0, 1, 23, 24, 255, 256, 65_535, 65_536]) {
    t.is(batchLength(encodeBatch(Array.from({ length: count }, () => message))), count, `${count} messages`);
  }
});

test('a batch head counts no more messages than its bytes can hold: an indefinite or lying head cannot slip past the limit', (t) => {
  // Indefinite length: 3 items of a byte each, between the head and the break.
  t.is(batchLength(new Uint8Array([0x9f, 0x01, 0x02, 0x03, 0xff])), 3);
  // A head announcing 2^32 − 1 items in 7 bytes: 2 at most.
  t.is(batchLength(new Uint8Array([0x9a, 0xff, 0xff, 0xff, 0xff, 0x01, 0x02])), 2);
  t.is(batchLength(new Uint8Array([0x9b, 0, 0, 0, 1, 0, 0, 0, 0])), 0);
  // Not an array, or cut short: one post of garbage.
  t.is(batchLength(encodeCbor({ not: 'an array' })), 1);
  t.is(batchLength(new Uint8Array([0x99, 0x01])), 1);
  t.is(batchLength(new Uint8Array(0)), 1);
});
