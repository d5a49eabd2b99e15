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

/** Sender → whom it answers ('' for anything but an answer) → the ids taken in, each with when (ms since the window began). */
type Generation = Map<string, Map<string, Ids>>;

/**
 * One sender's (to one requester) ids in one generation. Small integer ids —
 * what nearly every sender uses, a sequence — live in an open-addressed table
 * of typed arrays: no Map entry, no boxed key and no rehash of a JS table
 * per message (a Map here was ~9% of the fastest stub path's time, about a
 * quarter of what its CBOR costs). Any other id (a string, a fraction, past
 * 32 bits) goes to a Map.
 *
 * A stub chooses its ids, so it could choose ones that collide: no id is
 * looked for past MAX_PROBES slots — one that finds no room there goes to
 * the Map (whose hashing is V8's, seeded) — so a lookup costs at most that
 * many steps whatever the ids.
 */
class Ids {
  #keys = new Int32Array(16);
  /** When each key was taken in, plus one (0: an empty slot). */
  #times = new Float64Array(16);
  /** 32 − log2 of the table's size: a slot is the top bits of the mixed id. */
  #shift = 28;
  #count = 0;
  #others: Map<string | number, number> | undefined;

  /** When `id` was taken in, or -1. */
  get(id: string | number): number {
    if (typeof id === 'number' && (id | 0) === id) {
      const mask = this.#keys.length - 1;
      for (let n = 0, i = Math.imul(id, MULTIPLIER) >>> this.#shift; n < MAX_PROBES; n++, i = (i + 1) & mask) {
        const time = this.#times[i];
        if (time === 0) break;
        if (this.#keys[i] === id) return time - 1;
      }
    }
    return this.#others?.get(id) ?? -1;
  }

  /** Takes `id` in at `at`; true when it was not there before. */
  set(id: string | number, at: number): boolean {
    let free = -1;
    if (typeof id === 'number' && (id | 0) === id) {
      if (2 * (this.#count + 1) > this.#keys.length) this.#grow();
      const mask = this.#keys.length - 1;
      for (let n = 0, i = Math.imul(id, MULTIPLIER) >>> this.#shift; n < MAX_PROBES; n++, i = (i + 1) & mask) {
        if (this.#times[i] === 0) {
          free = i;
          break;
        }
        if (this.#keys[i] === id) {
          this.#times[i] = at + 1;
          return false;
        }
      }
    }
    if (this.#others?.has(id)) {
      this.#others.set(id, at);
      return false;
    }
    if (free >= 0) {
      this.#keys[free] = id as number;
      this.#times[free] = at + 1;
      this.#count++;
    } else {
      (this.#others ??= new Map()).set(id, at);
    }
    return true;
  }

  #grow(): void {
    const keys = this.#keys;
    const times = this.#times;
    this.#keys = new Int32Array(keys.length * 2);
    this.#times = new Float64Array(keys.length * 2);
    this.#shift--;
    this.#count = 0;
    for (let i = 0; i < keys.length; i++) if (times[i] !== 0) this.set(keys[i], times[i] - 1);
  }
}

/** The most slots an id is looked for in (see Ids). */
const MAX_PROBES = 16;
/**
 * Fibonacci hashing (the top bits of the id times an odd constant): a
 * sequence of ids spreads evenly over the table, with hardly a collision.
 * The constant is 2^32 divided by the golden ratio, made different in each
 * process by a random even part, so where ids land cannot be worked out
 * beforehand; MAX_PROBES bounds the cost even if it were.
 */
const MULTIPLIER = (0x9e3779b9 ^ (globalThis.crypto.getRandomValues(new Uint32Array(1))[0] & 0xfff0)) | 1;

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
    const pair = this.#pairOf(from, to);
    let seen = pair.current ? pair.current.get(id) : -1;
    if (seen < 0 && pair.previous) seen = pair.previous.get(id);
    if (seen >= 0 && at - seen < this.maxAgeMs) return true;
    // Everything in the previous generation is past its age: let it go.
    if (this.#previousSize && at - this.#previousNewest >= this.maxAgeMs) {
      this.#previous = new Map();
      this.#previousSize = 0;
      pair.previous = undefined;
    }
    if (!pair.current) {
      let byTo = this.#current.get(from);
      if (!byTo) this.#current.set(from, byTo = new Map());
      byTo.set(to, pair.current = new Ids());
    }
    if (pair.current.set(id, at)) this.#currentSize++;
    if (this.#currentSize >= this.#generation) {
      this.#previous = this.#current;
      this.#previousSize = this.#currentSize;
      this.#previousNewest = at;
      this.#current = new Map();
      this.#currentSize = 0;
      pair.previous = pair.current;
      pair.current = undefined;
    }
    return false;
  }

  // The last sender and requester, compared by content: a stub's batch is
  // mostly one conversation, and its strings are new objects each message
  // (decoded), so looking them up in a map would hash them afresh each time.
  #pair: Pair = { from: '', to: '', current: undefined, previous: undefined };

  #pairOf(from: string, to: string): Pair {
    const pair = this.#pair;
    if (from === pair.from && to === pair.to) return pair;
    pair.from = from;
    pair.to = to;
    pair.current = this.#current.get(from)?.get(to);
    pair.previous = this.#previousSize ? this.#previous.get(from)?.get(to) : undefined;
    return pair;
  }
}

/** One (sender, requester)'s ids in each generation. */
interface Pair {
  from: string;
  to: string;
  current: Ids | undefined;
  previous: Ids | undefined;
}
