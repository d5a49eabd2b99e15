// Node's crypto for the checks of ed25519.ts: the same Ed25519 and SHA-256,
// answered in this thread rather than through Web Crypto's thread pool.
import { createHash, KeyObject, verify } from 'node:crypto';
import type { NativeChecks } from './ed25519.ts';

export const nodeChecks: NativeChecks = {
  verify: (key, signature, message) => verify(null, message, KeyObject.from(key), signature),
  sha256: (bytes) => new Uint8Array(createHash('sha256').update(bytes).digest()),
};
