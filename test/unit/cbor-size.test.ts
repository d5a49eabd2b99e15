// The bus's size check agrees with the encoder on either side of the limit,
// and decides huge or tiny values without encoding them.
import test from 'ava';
import fc from 'fast-check';
import { encodeCbor } from '../../kernel/cbor.ts';
import { cborLargerThan } from '../../kernel/cbor-size.ts';

test('for any JSON-like value, larger-than agrees with the encoded length at, just below and just above it', (t) => {
  t.notThrows(() => fc.assert(fc.property(fc.jsonValue(), fc.uint8Array({ maxLength: 64 }), (value, bytes) => {
    const message = { id: 1, type: 'CREATE', from: 'a', body: { value, bytes } };
    const size = encodeCbor(message).byteLength;
    return !cborLargerThan(message, size) && cborLargerThan(message, size - 1) && !cborLargerThan(message, size + 1);
  }), { numRuns: 300 }));
});

test('multi-byte text counts in UTF-8 bytes, not characters', (t) => {
  const message = { body: 'é'.repeat(600) };
  const size = encodeCbor(message).byteLength;
  t.true(size > 1_200);
  t.true(cborLargerThan(message, 1_000));
  t.false(cborLargerThan(message, size));
});

test('a 50 MB byte string is over a 1 MiB limit, and a cyclic object is over any limit, without encoding', (t) => {
  t.true(cborLargerThan({ body: new Uint8Array(50_000_000) }, 1_048_576));
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = cyclic;
  t.true(cborLargerThan(cyclic, 1_048_576));
});
