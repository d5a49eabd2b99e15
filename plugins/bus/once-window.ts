// The receiving side of "once, not twice": a stub may carry a message twice
// (QoS 1, a publication repeated after a reconnect, a batch replayed after a
// crash), so the bus remembers the identities it delivered recently and drops
// a repeat. Bounded by count and by age: memory stays flat under any load, and
// a sender reusing an id after the window is treated as a new message.

export interface OnceWindowOptions {
  /**
   * Identities remembered at most; the newest half of them always are.
   * Default 16,384.
   */
  maxEntries?: number;
  /** How long an identity is remembered, in ms. Default 5 minutes. */
  maxAgeMs?: number;
}

/** Sender → whom it answers ('' for anything but an answer) → id → when taken in (ms since the window began). */
type Generation = Map<string, Map<string, Map<string | number, number>>>;

export class OnceWindow {
  readonly maxEntries: number;
  readonly maxAgeMs: number;
  // Two generations: new identities go to `#current`; when it holds half the
  // bound it becomes `#previous` and the old previous is dropped whole. No
  // per-entry deletes (a Map deleted from at one end churns its table), and
  // no key built per message: the sender, whom it answers and the id, as
  // they came, key nested maps (building "from|to|id" strings halved the
  // throughput of the fastest stub path, in allocation, hashing and GC).
  #current: Generation = new Map();
  #previous: Generation = new Map();
  #currentSize = 0;
  #previousSize = 0;
  /** When the newest identity of `#previous` was taken in. */
  #previousNewest = -Infinity;
  readonly #generation: number;
  // Times are kept relative to this, in whole ms: small integers, which V8
  // stores in place (an epoch timestamp would be a heap number per entry).
  #base: number | undefined;

  constructor(options: OnceWindowOptions = {}) {
    this.maxEntries = Math.max(2, Math.floor(options.maxEntries ?? 16_384));
    this.maxAgeMs = Math.max(0, options.maxAgeMs ?? 300_000);
    this.#generation = Math.ceil(this.maxEntries / 2);
  }

  get size(): number {
    return this.#currentSize + this.#previousSize;
  }

  /**
   * True when `(from, id)` — `(from, to, id)` when `to` is given (answers:
   * ids are chosen by each requester) — was taken in within the window (a
   * repeat); takes it in otherwise.
   */
  repeat(from: string, id: string | number, to: string, now: number): boolean {
    this.#base ??= now;
    const at = Math.floor(now - this.#base);
    let byTo = this.#current.get(from);
    let ids = byTo?.get(to);
    const seen = ids?.get(id) ?? this.#previous.get(from)?.get(to)?.get(id);
    if (seen !== undefined && at - seen < this.maxAgeMs) return true;
    // Everything in the previous generation is past its age: let it go.
    if (this.#previousSize && at - this.#previousNewest >= this.maxAgeMs) {
      this.#previous = new Map();
      this.#previousSize = 0;
    }
    if (!byTo) this.#current.set(from, byTo = new Map());
    if (!ids) byTo.set(to, ids = new Map());
    if (!ids.has(id)) this.#currentSize++;
    ids.set(id, at);
    if (this.#currentSize >= this.#generation) {
      this.#previous = this.#current;
      this.#previousSize = this.#currentSize;
      this.#previousNewest = at;
      this.#current = new Map();
      this.#currentSize = 0;
    }
    return false;
  }
}
