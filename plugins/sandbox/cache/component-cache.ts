// Where transpiled components are kept between deploys, by the verified
// `sourceHash` of the component they came from: a changed hash is a
// different key, so a stale entry is never used.
import type { TranspiledComponent } from '../component-instance.ts';

/**
 * Which keys a source's embedded signature verified under (plugins/trust),
 * kept beside its prepared form so a new process need not download it again
 * to check.
 */
export interface SignedBy {
  sourceHash: string;
  keys: string[];
}

/**
 * jco's output, or (the direct path, `direct` set) the stub's core module
 * alone, or the direct path's note that it declined the component, or (the
 * trust plugin, `signed` set, nothing else) whom the source was signed by.
 */
export type CachedComponent = TranspiledComponent & { direct?: { postReturn: string[] }; declined?: true; reason?: string; signed?: SignedBy };

export interface ComponentCache {
  has(key: string): Promise<boolean>;
  get(key: string): Promise<CachedComponent | undefined>;
  /**
   * Keeps a component. Deploys do not wait for it (store-in-background.ts);
   * it rejects when the entry could not be kept, which is reported.
   */
  put(key: string, component: CachedComponent): Promise<void>;
}

/** A hash as a file or key name: base64 has `/` and `+`. */
export function cacheKey(hash: string): string {
  return hash.replace(/^sha256-/, '').replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
