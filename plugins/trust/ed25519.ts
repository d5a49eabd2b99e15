// Ed25519 (RFC 8032), SHA-256 and HMAC-SHA-256 through Web Crypto alone, so
// the same code signs and verifies in Node 20 and in a page. Web Crypto's
// Ed25519 is the deterministic RFC 8032 scheme, as is ed25519-compact's
// `sign(msg, None)` that wasmsign2 calls: the same key signs the same bytes
// the same way in both.

import { fromBase64 } from './base64.ts';

export const SEED_BYTES = 32;
export const PUBLIC_KEY_BYTES = 32;
export const SIGNATURE_BYTES = 64;

const ED25519 = { name: 'Ed25519' } as const;

// Web Crypto's types want ArrayBuffer-backed views (a SharedArrayBuffer one
// is refused when called); the bytes handled here come from files and fetches.
const view = (bytes: Uint8Array) => bytes as Uint8Array<ArrayBuffer>;

/**
 * The same checks done synchronously by the platform, where it can (Node's
 * crypto): Web Crypto answers through the thread pool, ≈0.1–1 ms a call on a
 * busy machine, for work of tens of microseconds. Signing stays on Web Crypto.
 */
export interface NativeChecks {
  verify(key: CryptoKey, signature: Uint8Array, message: Uint8Array): boolean;
  sha256(bytes: Uint8Array): Uint8Array;
}

let native: NativeChecks | undefined;

/** Set once by a platform's entry (index.ts for Node). */
export function useNativeChecks(checks: NativeChecks): void {
  native = checks;
}

function subtle(): SubtleCrypto {
  const subtle = globalThis.crypto?.subtle;
  // A page has crypto.subtle only in a secure context (https, or localhost).
  if (!subtle) throw new Error('Web Crypto (crypto.subtle) is not available here: a page needs a secure context (https or localhost)');
  return subtle;
}

// A private key is imported as PKCS#8 (RFC 8410 §7): a fixed 16-byte DER
// header, then the 32-byte seed. Raw import is for public keys only, and JWK
// import would trust whatever public half it is handed.
const PKCS8_ED25519_HEADER = [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];

function pkcs8(seed: Uint8Array): Uint8Array {
  const der = new Uint8Array(PKCS8_ED25519_HEADER.length + SEED_BYTES);
  der.set(PKCS8_ED25519_HEADER);
  der.set(seed, PKCS8_ED25519_HEADER.length);
  return der;
}

function fromBase64url(text: string | undefined): Uint8Array {
  const standard = (text ?? '').replaceAll('-', '+').replaceAll('_', '/');
  const bytes = fromBase64(standard.padEnd(Math.ceil(standard.length / 4) * 4, '='));
  if (!bytes) throw new Error('Web Crypto exported a JWK field that is not base64url');
  return bytes;
}

/** A fresh seed and its public key. */
export async function generateSeed(): Promise<{ seed: Uint8Array; publicKey: Uint8Array }> {
  const pair = (await subtle().generateKey(ED25519, true, ['sign', 'verify'])) as CryptoKeyPair;
  const jwk = await subtle().exportKey('jwk', pair.privateKey);
  return { seed: fromBase64url(jwk.d), publicKey: fromBase64url(jwk.x) };
}

/** The public key a seed makes (Web Crypto derives it on export). */
export async function publicKeyOfSeed(seed: Uint8Array): Promise<Uint8Array> {
  const key = await subtle().importKey('pkcs8', view(pkcs8(seed)), ED25519, true, ['sign']);
  return fromBase64url((await subtle().exportKey('jwk', key)).x);
}

export async function ed25519Sign(seed: Uint8Array, message: Uint8Array): Promise<Uint8Array> {
  const key = await subtle().importKey('pkcs8', view(pkcs8(seed)), ED25519, false, ['sign']);
  return new Uint8Array(await subtle().sign(ED25519, key, view(message)));
}

// The keys a runtime checks against are few and come back with every deploy:
// each import is a trip through Web Crypto (≈0.1–0.3 ms in Node), kept once made.
const imported = new Map<string, Promise<CryptoKey>>();
const IMPORTED_KEPT = 64;

export function importVerifyKey(publicKey: Uint8Array): Promise<CryptoKey> {
  const id = String.fromCharCode(...publicKey);
  let key = imported.get(id);
  if (!key) {
    if (imported.size >= IMPORTED_KEPT) imported.delete(imported.keys().next().value!);
    key = subtle().importKey('raw', view(publicKey), ED25519, false, ['verify']);
    key.catch(() => imported.delete(id));
    imported.set(id, key);
  }
  return key;
}

/** False, never an exception, for a signature that does not verify or is not 64 bytes. */
export async function ed25519Verify(key: CryptoKey, signature: Uint8Array, message: Uint8Array): Promise<boolean> {
  if (signature.length !== SIGNATURE_BYTES) return false;
  try {
    if (native) return native.verify(key, signature, message);
    return await subtle().verify(ED25519, key, view(signature), view(message));
  } catch {
    return false;
  }
}

export async function sha256(bytes: Uint8Array): Promise<Uint8Array> {
  if (native) return native.sha256(bytes);
  return new Uint8Array(await subtle().digest('SHA-256', view(bytes)));
}

export async function hmacSha256(key: Uint8Array, data: Uint8Array): Promise<Uint8Array> {
  const hmacKey = await subtle().importKey('raw', view(key), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return new Uint8Array(await subtle().sign('HMAC', hmacKey, view(data)));
}
