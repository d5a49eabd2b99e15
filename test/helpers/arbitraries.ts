// fast-check generators for what crosses the sandbox boundary: messages
// that are almost right, valid CBOR batches with bytes flipped or cut, and
// plain garbage.
import fc from 'fast-check';
import { encodeBatch, encodeCbor } from '../../kernel/cbor.ts';

const TYPES = ['CREATE', 'READ', 'UPDATE', 'DELETE', 'SUBSCRIBE', 'UNSUBSCRIBE', 'RESPONSE', 'FORWARD', 'EXECUTE'];

// The stub's own URL (and an address below it) and the runtime's are those
// the tests' init configs give: what reaches a stub's control path.
const address = (domain: string) => fc.oneof(
  fc.constantFrom(`hyperty://${domain}/a`, `hyperty://${domain}/b`, 'hyperty://elsewhere.example/x', 'hyperty-runtime://r/protostub/1', '',
    `hyperty-runtime://${domain}/protostub/1`, `hyperty-runtime://${domain}/protostub/1/x`, 'hyperty-runtime://r'),
  fc.string(),
);
export const messageLike = (domain: string) => fc.record({
  id: fc.oneof(fc.string(), fc.integer(), fc.constant(null)),
  type: fc.oneof(fc.constantFrom(...TYPES), fc.string()),
  from: address(domain),
  to: fc.option(address(domain), { nil: undefined }),
  resource: fc.option(address(domain), { nil: undefined }),
  body: fc.option(fc.jsonValue(), { nil: undefined }),
}, { requiredKeys: ['id', 'type'] });

/** Valid CBOR of a batch, then a few bytes flipped, cut or inserted. */
export const mutatedBatch = (domain: string) => fc.tuple(
  fc.array(messageLike(domain), { maxLength: 4 }),
  fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
  fc.nat(),
).map(([messages, flips, cut]) => {
  const bytes = new Uint8Array(encodeBatch(messages));
  for (const [at, value] of flips) if (bytes.length) bytes[at % bytes.length] = value;
  return bytes.subarray(0, bytes.length ? 1 + (cut % bytes.length) : 0);
});

export const anyBytes = (domain: string) => fc.oneof(
  fc.uint8Array({ maxLength: 256 }),
  mutatedBatch(domain),
  fc.anything().map((value) => new Uint8Array(encodeCbor(value))),
);

