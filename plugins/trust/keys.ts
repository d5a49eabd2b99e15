// Ed25519 keys in the forms a signer and a verifier exchange:
// - wasmsign2's files (src/lib/src/signature/keys.rs, `PublicKey::to_bytes`,
//   `SecretKey::to_bytes`): a type byte, then the key — 0x01 ‖ 32-byte public
//   key (33 bytes), 0x81 ‖ 32-byte seed ‖ 32-byte public key (65 bytes);
// - protofly's text form for configuration and descriptors:
//   `ed25519:<standard base64 of the 32-byte public key>`.

import { pfError } from '../../kernel/errors.ts';
import { fromBase64, toBase64 } from './base64.ts';
import { PUBLIC_KEY_BYTES, SEED_BYTES, generateSeed, hmacSha256, publicKeyOfSeed } from './ed25519.ts';

/** wasmsign2's `ED25519_PK_ID`: also the algorithm id of an Ed25519 signature record. */
export const ED25519_PUBLIC_KEY_ID = 0x01;
/** wasmsign2's `ED25519_SK_ID`. */
export const ED25519_KEY_PAIR_ID = 0x81;
export const PUBLIC_KEY_TEXT_PREFIX = 'ed25519:';

export interface KeyPair {
  /** The RFC 8032 secret seed: whoever holds it signs. */
  readonly seed: Uint8Array;
  /** The 32-byte public key. */
  readonly publicKey: Uint8Array;
}

/** A public key as a caller may hold it: 32 raw bytes, wasmsign2's 33 bytes, or `ed25519:<base64>`. */
export type PublicKeyInput = Uint8Array | string;

const invalid = (detail: string) => pfError('PF_ERR_SIGNATURE_KEY_INVALID', [detail]);

export async function generateKeyPair(): Promise<KeyPair> {
  return generateSeed();
}

export async function keyPairFromSeed(seed: Uint8Array): Promise<KeyPair> {
  if (seed.length !== SEED_BYTES) throw invalid(`a seed is ${SEED_BYTES} bytes, not ${seed.length}`);
  return { seed: seed.slice(), publicKey: await publicKeyOfSeed(seed) };
}

/** wasmsign2's secret key file: 0x81 ‖ seed ‖ public key. */
export function serializeKeyPair(pair: KeyPair): Uint8Array {
  return Uint8Array.of(ED25519_KEY_PAIR_ID, ...pair.seed, ...pair.publicKey);
}

/**
 * Reads wasmsign2's secret key file. The public half is checked against the
 * seed: Ed25519 hashes the public key into every signature, so a mismatched
 * half would sign with signatures nobody can verify.
 */
export async function parseKeyPair(bytes: Uint8Array): Promise<KeyPair> {
  const expected = 1 + SEED_BYTES + PUBLIC_KEY_BYTES;
  if (bytes.length !== expected) throw invalid(`a wasmsign2 secret key is ${expected} bytes, not ${bytes.length}`);
  if (bytes[0] !== ED25519_KEY_PAIR_ID) throw invalid(`a wasmsign2 secret key starts with 0x81, not 0x${hex(bytes[0])}${bytes[0] === ED25519_PUBLIC_KEY_ID ? ' (this is a public key)' : ''}`);
  const pair = await keyPairFromSeed(bytes.subarray(1, 1 + SEED_BYTES));
  const stored = bytes.subarray(1 + SEED_BYTES);
  if (!stored.every((byte, i) => byte === pair.publicKey[i])) throw invalid('the public half of the secret key does not belong to its seed');
  return pair;
}

/** wasmsign2's public key file: 0x01 ‖ public key. */
export function serializePublicKey(publicKey: Uint8Array): Uint8Array {
  return Uint8Array.of(ED25519_PUBLIC_KEY_ID, ...rawPublicKey(publicKey));
}

export function publicKeyToText(publicKey: Uint8Array): string {
  return PUBLIC_KEY_TEXT_PREFIX + toBase64(rawPublicKey(publicKey));
}

/** The 32-byte public key of any PublicKeyInput. */
export function parsePublicKey(key: PublicKeyInput): Uint8Array {
  if (typeof key === 'string') {
    if (!key.startsWith(PUBLIC_KEY_TEXT_PREFIX)) throw invalid(`a public key text starts with "${PUBLIC_KEY_TEXT_PREFIX}": ${JSON.stringify(key.slice(0, 80))}`);
    const bytes = fromBase64(key.slice(PUBLIC_KEY_TEXT_PREFIX.length));
    if (!bytes) throw invalid(`"${PUBLIC_KEY_TEXT_PREFIX}" is followed by something other than canonical base64`);
    if (bytes.length !== PUBLIC_KEY_BYTES) throw invalid(`a public key is ${PUBLIC_KEY_BYTES} bytes, this text holds ${bytes.length}`);
    return bytes;
  }
  if (key.length === 1 + PUBLIC_KEY_BYTES) {
    if (key[0] !== ED25519_PUBLIC_KEY_ID) throw invalid(`a wasmsign2 public key starts with 0x01, not 0x${hex(key[0])}`);
    return key.slice(1);
  }
  return rawPublicKey(key);
}

/**
 * wasmsign2's default key id (`PublicKey::attach_default_key_id`): the first
 * 12 bytes of HMAC-SHA-256 keyed with the public key over the text "key_id"
 * (hmac-sha256's `HMAC::mac(input, key)` takes the message first). Its CLI
 * attaches it when signing with `-K` and always when verifying.
 */
export async function defaultKeyId(publicKey: Uint8Array): Promise<Uint8Array> {
  const mac = await hmacSha256(rawPublicKey(publicKey), new TextEncoder().encode('key_id'));
  return mac.slice(0, 12);
}

function rawPublicKey(key: Uint8Array): Uint8Array {
  if (key.length !== PUBLIC_KEY_BYTES) throw invalid(`a public key is ${PUBLIC_KEY_BYTES} raw bytes or 33 in wasmsign2's form, not ${key.length}`);
  return key;
}

const hex = (byte: number) => byte.toString(16).padStart(2, '0');
