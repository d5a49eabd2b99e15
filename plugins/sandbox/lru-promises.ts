// A bounded cache of promised values, least recently used out first.
/** A failed promise is not kept: the next ask tries again. */
export class LruPromises<T> {
  readonly #entries = new Map<string, Promise<T>>();
  constructor(readonly size: number) {}

  get(key: string, make: () => Promise<T>): Promise<T> {
    let entry = this.#entries.get(key);
    if (entry) {
      this.#entries.delete(key);
    } else {
      entry = make();
      entry.catch(() => { if (this.#entries.get(key) === entry) this.#entries.delete(key); });
    }
    this.#entries.set(key, entry);
    if (this.#entries.size > this.size) this.#entries.delete(this.#entries.keys().next().value!);
    return entry;
  }

  has(key: string): boolean {
    return this.#entries.has(key);
  }

  clear(): void {
    this.#entries.clear();
  }
}
