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

export class OnceWindow {
  readonly maxEntries: number;
  readonly maxAgeMs: number;
  // Two generations of identity → when it was taken in: new ones go to
  // `#current`; when it holds half the bound it becomes `#previous` and the
  // old previous is dropped whole. No per-entry deletes: a Map that is
  // deleted from at one end and added to at the other churns its hash table
  // on the hot path (measured: several times the cost of a lookup).
  #current = new Map<string, number>();
  #previous = new Map<string, number>();
  /** When the newest identity of `#previous` was taken in. */
  #previousNewest = -Infinity;
  readonly #generation: number;

  constructor(options: OnceWindowOptions = {}) {
    this.maxEntries = Math.max(2, Math.floor(options.maxEntries ?? 16_384));
    this.maxAgeMs = Math.max(0, options.maxAgeMs ?? 300_000);
    this.#generation = Math.ceil(this.maxEntries / 2);
  }

  get size(): number {
    return this.#current.size + this.#previous.size;
  }

  /** True when `identity` was taken in within the window (a repeat); takes it in otherwise. */
  repeat(identity: string, now: number): boolean {
    const at = this.#current.get(identity) ?? this.#previous.get(identity);
    if (at !== undefined && now - at < this.maxAgeMs) return true;
    // Everything in the previous generation is past its age: let it go.
    if (now - this.#previousNewest >= this.maxAgeMs && this.#previous.size) this.#previous = new Map();
    this.#current.set(identity, now);
    if (this.#current.size >= this.#generation) {
      this.#previous = this.#current;
      this.#previousNewest = now;
      this.#current = new Map();
    }
    return false;
  }
}
