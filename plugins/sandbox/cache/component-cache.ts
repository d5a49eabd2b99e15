// Where transpiled components are kept between deploys, by the verified
// `sourceHash` of the component they came from: a changed hash is a
// different key, so a stale entry is never used.
import type { TranspiledComponent } from '../component-instance.ts';

export interface ComponentCache {
  has(hash: string): Promise<boolean>;
  get(hash: string): Promise<TranspiledComponent | undefined>;
  put(hash: string, component: TranspiledComponent): Promise<void>;
}

/** A hash as a file or key name: base64 has `/` and `+`. */
export function cacheKey(hash: string): string {
  return hash.replace(/^sha256-/, '').replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
