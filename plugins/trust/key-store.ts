// Where trust on first use keeps the key each domain first signed with.
// Node keeps a JSON file, a page IndexedDB; a runtime without either keeps
// them for its own life only.

export interface KeyStore {
  /** The keys remembered for a domain (`ed25519:<base64>`), or undefined before its first signed deploy. */
  get(domain: string): Promise<readonly string[] | undefined>;
  /** Replaces what is remembered for a domain (its first key, or the key it rotated to). */
  set(domain: string, keys: readonly string[]): Promise<void>;
}

export function memoryKeyStore(): KeyStore {
  const keys = new Map<string, readonly string[]>();
  return {
    async get(domain) { return keys.get(domain); },
    async set(domain, next) { keys.set(domain, [...next]); },
  };
}

/** Checks what a store read back: a damaged file must not become trust. */
export function isKeyList(value: unknown): value is string[] {
  return Array.isArray(value) && value.length > 0 && value.length <= 16 && value.every((key) => typeof key === 'string' && key.length <= 128);
}
