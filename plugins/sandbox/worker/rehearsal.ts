// The built-in stub a new worker runs once before any real one (see
// rehearse() in worker-main.ts): a core module of the protofly:stub world,
// as the direct path instantiates one, that echoes every batch it is given.
//
// A worker's code is compiled when it first runs, function by function, and
// the first stub a worker starts paid for all of it: ≈5 ms of a 3 ms module
// start, on a deploy whose whole in-thread cost is ≈4 ms. The rehearsal pays
// it while the worker waits as the runtime's spare.
import type { StubToStart } from './protocol.ts';

/** Its source; REHEARSAL_WASM is what `wasm-tools parse` makes of it (checked by a test). */
export const REHEARSAL_WAT = `(module
  (import "protofly:stub/host@0.1.0" "post" (func $post (param i32 i32)))
  (memory (export "memory") 1)
  (global $next (mut i32) (i32.const 1024))
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
    (local $at i32)
    (local.set $at (i32.and (i32.add (global.get $next) (i32.sub (local.get 2) (i32.const 1)))
                            (i32.sub (i32.const 0) (local.get 2))))
    (global.set $next (i32.add (local.get $at) (local.get 3)))
    (local.get $at))
  (func (export "protofly:stub/stub@0.1.0#init") (param i32 i32) (result i32)
    (i32.store8 (i32.const 16) (i32.const 0))
    (i32.const 16))
  (func (export "protofly:stub/stub@0.1.0#on-messages") (param i32 i32)
    (call $post (local.get 0) (local.get 1))
    (global.set $next (i32.const 1024)))
  (func (export "protofly:stub/stub@0.1.0#on-open") (param i32))
  (func (export "protofly:stub/stub@0.1.0#on-frame") (param i32 i32 i32))
  (func (export "protofly:stub/stub@0.1.0#on-close") (param i32 i32 i32))
  (func (export "protofly:stub/stub@0.1.0#on-timer") (param i32)))
`;

export const REHEARSAL_WASM = 'AGFzbQEAAAABHgVgAn9/AGAEf39/fwF/YAJ/fwF/YAF/AGADf39/AAIhARhwcm90b2ZseTpzdHViL2hvc3RAMC4xLjAEcG9zdAAAAwgHAQIAAwQEAwUDAQABBgcBfwFBgAgLB+8BCAZtZW1vcnkCAAxjYWJpX3JlYWxsb2MAAR1wcm90b2ZseTpzdHViL3N0dWJAMC4xLjAjaW5pdAACJHByb3RvZmx5OnN0dWIvc3R1YkAwLjEuMCNvbi1tZXNzYWdlcwADIHByb3RvZmx5OnN0dWIvc3R1YkAwLjEuMCNvbi1vcGVuAAQhcHJvdG9mbHk6c3R1Yi9zdHViQDAuMS4wI29uLWZyYW1lAAUhcHJvdG9mbHk6c3R1Yi9zdHViQDAuMS4wI29uLWNsb3NlAAYhcHJvdG9mbHk6c3R1Yi9zdHViQDAuMS4wI29uLXRpbWVyAAcKRQcdAQF/IwAgAkEBa2pBACACa3EhBCAEIANqJAAgBAsLAEEQQQA6AABBEAsNACAAIAEQAEGACCQACwIACwIACwIACwIACwAgBG5hbWUBBwEABHBvc3QCBwEBAQQCYXQHBwEABG5leHQ=';

/** A batch of one message, as the stub world carries batches: a CBOR array holding an (empty) map. */
export const REHEARSAL_BATCH = Uint8Array.of(0x81, 0xa0);

/** Batches it is given: enough for every step of the path to have run, few enough to cost ≈nothing. */
export const REHEARSAL_BATCHES = 4;

/** The `start` of the rehearsal's slot: no connections, no timers, one page of memory. */
export function rehearsalStart(): StubToStart {
  const bytes = Uint8Array.from(atob(REHEARSAL_WASM), (c) => c.charCodeAt(0));
  return {
    t: 'start',
    prepared: { kind: 'direct', module: new WebAssembly.Module(bytes), postReturn: [] },
    config: Uint8Array.of(0xa0),
    limits: {
      connect: [], maxConnections: 0, maxTimers: 0,
      maxPostsPerSecond: 1_000, maxMessagesPerSecond: 1_000, maxBytesPerSecond: 1 << 20,
      maxPostBytes: 1 << 10, maxMemoryBytes: 1 << 20, maxOutboundBytes: 0,
    },
  };
}
