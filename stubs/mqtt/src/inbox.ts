// Batches from the bus, their messages handed on in order, a bounded amount
// of work per call into the stub; the rest waits for the next call (a short
// timer). Measured reason: a batch of 64 SUBSCRIBE control messages lists
// 16,384 addresses, and merely walking them took about 20 ms in the
// interpreter. An ordinary batch (up to 64 messages of a few dozen items)
// is within the bound and handled in the call that brings it.
import type { Log } from './log.ts';
import { MalformedCbor, walk } from './cbor-skip.ts';
import { BatchReader, type MessageSpan } from './message-scan.ts';

// CBOR items walked per call: ~2-3 ms measured (1.2 µs an address).
const ITEMS_PER_CALL = 2048;

export class Inbox {
  private readonly batches: BatchReader[] = [];
  private readonly log: Log;

  constructor(log: Log) {
    this.log = log;
  }

  get empty(): boolean {
    return this.batches.length === 0;
  }

  /** A batch from the bus (the stub's own copy); one that is no CBOR array is skipped. */
  push(batch: Uint8Array): void {
    try {
      this.batches.push(new BatchReader(batch));
    } catch (e) {
      if (!(e instanceof MalformedCbor)) throw e;
      this.log(3, `skipping a batch that is not a CBOR array of messages: ${e.message}`);
    }
  }

  /**
   * Hands messages to `handle` in order until a call's work is done. Where
   * a batch turns out malformed, what follows cannot be read and is skipped;
   * the messages before it were handed on.
   */
  take(handle: (span: MessageSpan) => void): void {
    const until = walk.items + ITEMS_PER_CALL;
    while (this.batches.length && walk.items < until) {
      const reader = this.batches[0]!;
      let span: MessageSpan | null;
      try {
        span = reader.next();
      } catch (e) {
        if (!(e instanceof MalformedCbor)) throw e;
        this.log(3, `skipping the rest of a batch: ${e.message}`);
        span = null;
      }
      if (span === null) this.batches.shift();
      else handle(span);
    }
  }
}
