// How much a stub may post onto the bus (SandboxOptions), each a token
// bucket in the guest (guest.ts) that holds a second's worth, so bursts pass
// whole; past one the stub is cut off with PF_ERR_STUB_FLOOD naming it.
//
// Why these numbers: the repo's busiest tests post 5,000-message bursts
// (mqtt-c-congestion), no test or broker bench carries more than a few tens
// of thousands of messages a second through one stub, and the fastest stub
// carries ≈290k a second with every limit lifted (README, stub-boundary),
// near all the runtime's thread can decode. 100,000 messages a second is
// well above the first and about a third of the last: one stub cannot take
// that thread alone. 64 MiB a second is sixteen of the largest batches, and
// bounds the copying a flood of large batches costs. Benches of the stub
// boundary itself lift them all (bench/stub-boundary.ts).

/** Posts (batches, whatever they hold) a second. */
export const DEFAULT_MAX_POSTS_PER_SECOND = 20_000;
/** Messages a second, however they are batched (counted from each batch's CBOR head). */
export const DEFAULT_MAX_MESSAGES_PER_SECOND = 100_000;
/** Bytes of batches a second. */
export const DEFAULT_MAX_BYTES_PER_SECOND = 64 * 1024 * 1024;
/** The largest batch. */
export const DEFAULT_MAX_POST_BYTES = 4 * 1024 * 1024;
