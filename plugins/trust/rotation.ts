// A domain moving to a new key, for runtimes that remember its old one
// (trust on first use). The descriptor signed by the new key carries
//   "rotation": { "from": "ed25519:<old>", "to": "ed25519:<new>", "sig": "<base64>" }
// where `sig` is the old key's Ed25519 signature over the canonical JSON of
//   { "domain": "<domain>", "from": "<old>", "purpose": "protofly key rotation", "to": "<new>" }.
// The domain is signed in, so a statement made for one domain cannot move
// another; the purpose, so no other signed JSON reads as one. The member is
// inside what the new key signs, so it cannot be cut from one descriptor and
// pasted on another by anyone but the new key's holder.
import { pfError } from '../../kernel/errors.ts';
import { fromBase64, toBase64 } from './base64.ts';
import { canonicalJson } from './canonical-json.ts';
import { SIGNATURE_BYTES, ed25519Sign, ed25519Verify, importVerifyKey } from './ed25519.ts';
import { parseKeyPair, parsePublicKey, publicKeyToText, type KeyPair } from './keys.ts';

export const ROTATION_FIELD = 'rotation';
const PURPOSE = 'protofly key rotation';

export interface RotationStatement {
  readonly from: string;
  readonly to: string;
  readonly sig: string;
}

function statement(domain: string, from: string, to: string): Uint8Array {
  return new TextEncoder().encode(canonicalJson({ domain, from, purpose: PURPOSE, to }));
}

/** The old key's word that `domain` now signs with `newKey`: put it in the descriptor as `rotation`, then sign the descriptor with the new key. */
export async function signRotation(domain: string, oldKey: KeyPair | Uint8Array, newKey: string | Uint8Array): Promise<RotationStatement> {
  const pair = oldKey instanceof Uint8Array ? await parseKeyPair(oldKey) : oldKey;
  const from = publicKeyToText(pair.publicKey);
  const to = publicKeyToText(parsePublicKey(newKey));
  const sig = await ed25519Sign(pair.seed, statement(domain, from, to));
  return { from, to, sig: toBase64(sig) };
}

/**
 * Whether `member` is a valid statement by one of `oldKeys` that `domain`
 * moved to `newKey`. False for a missing member; PF_ERR_SIGNATURE_INVALID for
 * one that is malformed or does not verify (it was tampered with).
 */
export async function verifyRotation(member: unknown, domain: string, oldKeys: readonly string[], newKey: string): Promise<boolean> {
  if (member === undefined) return false;
  const invalid = (detail: string) => pfError('PF_ERR_SIGNATURE_INVALID', [`the key rotation statement of ${domain}`, detail]);
  if (typeof member !== 'object' || member === null || Array.isArray(member)) throw invalid(`"${ROTATION_FIELD}" is not an object`);
  const { from, to, sig } = member as Record<string, unknown>;
  if (typeof from !== 'string' || typeof to !== 'string' || typeof sig !== 'string') throw invalid('it needs "from", "to" and "sig" strings');
  if (to !== newKey) throw invalid(`it moves to ${to.slice(0, 60)}, not to the key that signed the descriptor`);
  if (!oldKeys.includes(from)) return false;
  const bytes = fromBase64(sig);
  if (!bytes || bytes.length !== SIGNATURE_BYTES) throw invalid(`"sig" is not ${SIGNATURE_BYTES} bytes in canonical base64`);
  if (!(await ed25519Verify(await importVerifyKey(parsePublicKey(from)), bytes, statement(domain, from, to)))) {
    throw invalid('the old key did not sign it');
  }
  return true;
}
