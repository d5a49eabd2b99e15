// The receiving side of "once, not twice": a stub may carry a message twice
// (QoS 1, a publication repeated after a reconnect, a batch replayed after a
// crash), so the bus remembers the identities it delivered recently and drops
// a repeat. Bounded by count and by age: memory stays flat under any load, and
// a sender reusing an id after the window is treated as a new message.

export interface OnceWindowOptions {
  /** Identities remembered at most (oldest forgotten first). Default 16,384. */
  maxEntries?: number;
  /** How long an identity is remembered, in ms. Default 5 minutes. */
  maxAgeMs?: number;
}

/** How often (in insertions) entries past their age are swept from the oldest end. */
const SWEEP_EVERY = 256;

export class OnceWindow {
  readonly maxEntries: number;
  readonly maxAgeMs: number;
  /** Identity → when it was first seen; a Map keeps insertion order, oldest first. */
  readonly #seen = new Map<string, number>();
  #insertions = 0;

  constructor(options: OnceWindowOptions = {}) {
    this.maxEntries = Math.max(1, options.maxEntries ?? 16_384);
    this.maxAgeMs = Math.max(0, options.maxAgeMs ?? 300_000);
  }

  get size(): number {
    return this.#seen.size;
  }

  /** True when `identity` was seen within the window (a repeat); remembers it otherwise. */
  repeat(identity: string, now: number): boolean {
    const at = this.#seen.get(identity);
    if (at !== undefined) {
      if (now - at < this.maxAgeMs) return true;
      this.#seen.delete(identity);
    }
    this.#seen.set(identity, now);
    if (this.#seen.size > this.maxEntries) this.#seen.delete(this.#seen.keys().next().value!);
    if (++this.#insertions % SWEEP_EVERY === 0) this.#sweep(now);
    return false;
  }

  #sweep(now: number): void {
    for (const [identity, at] of this.#seen) {
      if (now - at < this.maxAgeMs) return;
      this.#seen.delete(identity);
    }
  }
}
