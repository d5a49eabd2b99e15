// Node's hash for the integrity check: synchronous, in this thread. Web
// Crypto's digest would hop to the thread pool and back, which costs more
// than hashing a small stub.
import { createHash } from 'node:crypto';

export function sha256IntegrityNode(bytes: Uint8Array): string {
  return `sha256-${createHash('sha256').update(bytes).digest('base64')}`;
}
