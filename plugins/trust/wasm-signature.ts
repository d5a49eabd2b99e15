// Signed components in the WebAssembly signature format
// (WebAssembly/tool-conventions Signatures.md) exactly as wasmsign2 writes
// and verifies it, for a core module or a component alike:
//
// - a custom section named "signature" comes first, before every other
//   section (`SIGNATURE_SECTION_HEADER_NAME`, sig_sections.rs);
// - it holds Ed25519 signatures over the SHA-256 hash of all the bytes after
//   it: every other section, custom ones included, with its id and size
//   (simple.rs `SecretKey::sign` hashes each section as `Section::serialize`
//   writes it; `PublicKey::verify` hashes the raw bytes that follow the
//   signature section, the same bytes since the signer wrote them so);
// - what is signed is "wasmsig" ‖ spec version 0x01 ‖ content type 0x01 ‖
//   hash function 0x01 ‖ the set's hashes, concatenated (lib.rs
//   `SIGNATURE_WASM_DOMAIN`…, multi.rs `build_header_section` and
//   `valid_hashes_for_pk`).
//
// Verification is of the whole binary (wasmsign2's `PublicKey::verify`):
// a set whose hashes stop at a `signature_delimiter` counts only if the
// binary stops there too. Partial verification is not offered: a runtime
// must refuse partly signed stubs by default (Signatures.md).

import { Malformed } from '../direct/binary-reader.ts';
import { pfError } from '../../kernel/errors.ts';
import { ed25519Sign, ed25519Verify, importVerifyKey, sha256 } from './ed25519.ts';
import { ED25519_PUBLIC_KEY_ID, defaultKeyId, parseKeyPair, parsePublicKey, type KeyPair, type PublicKeyInput } from './keys.ts';
import { decodeSignatureData, encodeSignatureData, type SignatureData } from './signature-data.ts';
import { PREAMBLE_BYTES, concat, customSection, readPreamble, readSection, readSections, writeSection, type Section } from './wasm-sections.ts';

export const SIGNATURE_SECTION_NAME = 'signature';
/** lib.rs: `SIGNATURE_WASM_DOMAIN`, `SIGNATURE_VERSION`, `SIGNATURE_WASM_MODULE_CONTENT_TYPE`, `SIGNATURE_HASH_FUNCTION` (SHA-256). */
const DOMAIN = new TextEncoder().encode('wasmsig');
const SPEC_VERSION = 0x01;
const CONTENT_TYPE_WASM = 0x01;
const HASH_SHA256 = 0x01;

const WHAT = 'the component';

export interface SignComponentOptions {
  /**
   * A key id stored beside the signature, a hint for verifiers. 'default' is
   * wasmsign2's own (`wasmsign2 sign -K`; see keys.ts `defaultKeyId`). Its
   * CLI `verify` skips a signature whose key id is not the default one of
   * the key it checks, so any other id makes it unverifiable there.
   */
  readonly keyId?: Uint8Array | 'default';
}

/**
 * Signs a component or core module: the result starts with one signature
 * section made by this key, and any signature section the input had is
 * replaced (wasmsign2's `SecretKey::sign`; its CLI's `sign_multi` would add
 * to it). Sections are rewritten in wasmsign2's normal form (shortest LEB128
 * sizes), so for an unsigned input the result is byte for byte what
 * `wasmsign2 sign` writes with the same key.
 */
export async function signComponent(bytes: Uint8Array, secretKey: KeyPair | Uint8Array, options: SignComponentOptions = {}): Promise<Uint8Array> {
  const pair = secretKey instanceof Uint8Array ? await parseKeyPair(secretKey) : secretKey;
  let sections: Section[];
  try {
    sections = readSections(bytes);
  } catch (error) {
    if (error instanceof Malformed) throw pfError('PF_ERR_COMPONENT_INVALID', [`cannot sign it: ${error.message}`], { cause: error });
    throw error;
  }
  const body = concat(sections.filter((section) => section.custom?.name !== SIGNATURE_SECTION_NAME).map(writeSection));
  const hash = await sha256(body);
  const signature = await ed25519Sign(pair.seed, signedMessage([hash]));
  const keyId = options.keyId === 'default' ? await defaultKeyId(pair.publicKey) : options.keyId;
  const payload = encodeSignatureData({
    specVersion: SPEC_VERSION,
    contentType: CONTENT_TYPE_WASM,
    hashFunction: HASH_SHA256,
    sets: [{ hashes: [hash], signatures: [{ keyId: keyId?.length ? keyId : undefined, algorithm: ED25519_PUBLIC_KEY_ID, signature }] }],
  });
  return concat([bytes.subarray(0, PREAMBLE_BYTES), customSection(SIGNATURE_SECTION_NAME, payload), body]);
}

export interface ComponentVerification {
  readonly ok: true;
  /** The first key of `publicKeys` that signed the component. */
  readonly keyIndex: number;
  /** The key id stored with that signature, if any. */
  readonly keyId?: Uint8Array;
}

/**
 * Checks that a key of `publicKeys` signed exactly these bytes. Throws
 * PF_ERR_SIGNATURE_MISSING (no signature section first),
 * PF_ERR_SIGNATURE_INVALID (malformed section, or bytes that are not what
 * was signed, or a signature under a trusted key's id that does not verify)
 * or PF_ERR_SIGNATURE_UNTRUSTED (the section signs these bytes, but no
 * listed key made a valid signature: the format names no key, only an
 * optional id, so a stranger's signature and a forged one look alike here).
 */
export async function verifyComponent(bytes: Uint8Array, publicKeys: readonly PublicKeyInput[]): Promise<ComponentVerification> {
  const keys = publicKeys.map(parsePublicKey);
  const data = readSignatureSection(bytes);
  if (data.data.specVersion !== SPEC_VERSION) throw invalid(`specification version 0x${data.data.specVersion.toString(16)}, not 0x01`);
  if (data.data.contentType !== CONTENT_TYPE_WASM) throw invalid(`content type 0x${data.data.contentType.toString(16)}, not 0x01 (WebAssembly)`);
  if (data.data.hashFunction !== HASH_SHA256) throw invalid(`hash function 0x${data.data.hashFunction.toString(16)}, not 0x01 (SHA-256)`);

  const hash = await sha256(bytes.subarray(data.end));
  const covering = data.data.sets.filter((set) => set.hashes.some((signed) => sameBytes(signed, hash)));
  if (covering.length === 0) throw invalid('its bytes changed after it was signed: no signed hash is theirs');

  const ed25519 = covering.map((set) => ({ message: signedMessage(set.hashes), records: set.signatures.filter((r) => r.algorithm === ED25519_PUBLIC_KEY_ID) }));
  for (const [keyIndex, key] of keys.entries()) {
    const cryptoKey = await importVerifyKey(key);
    for (const { message, records } of ed25519) {
      for (const record of records) {
        if (await ed25519Verify(cryptoKey, record.signature, message)) return { ok: true, keyIndex, keyId: record.keyId };
      }
    }
  }
  // A signature that names a trusted key by wasmsign2's default id but does
  // not verify was made for these bytes by that key and then damaged, or forged.
  const trustedIds = await Promise.all(keys.map(defaultKeyId));
  for (const { records } of ed25519) {
    for (const record of records) {
      const named = trustedIds.findIndex((id) => record.keyId !== undefined && sameBytes(id, record.keyId));
      if (named >= 0) throw invalid(`a signature names trusted key ${named} by its key id but does not verify`);
    }
  }
  throw pfError('PF_ERR_SIGNATURE_UNTRUSTED', [WHAT, keys.length]);
}

/**
 * The decoded signature section of a binary and where it ends, with the
 * same errors as verifyComponent: for inspecting a signed component.
 */
export function readSignatureSection(bytes: Uint8Array): { data: SignatureData; end: number } {
  let first: Section | undefined;
  try {
    readPreamble(bytes);
    if (bytes.length > PREAMBLE_BYTES) first = readSection(bytes, PREAMBLE_BYTES);
  } catch (error) {
    if (error instanceof Malformed) throw invalid(error.message, error);
    throw error;
  }
  if (first?.custom?.name !== SIGNATURE_SECTION_NAME) throw pfError('PF_ERR_SIGNATURE_MISSING', [WHAT, whyMissing(bytes, first)]);
  try {
    return { data: decodeSignatureData(first.custom.payload), end: first.end };
  } catch (error) {
    if (error instanceof Malformed) throw invalid(`malformed signature section: ${error.message}`, error);
    throw error;
  }
}

/** wasmsign2's signed message: the domain string, the three ids, the set's hashes. */
export function signedMessage(hashes: readonly Uint8Array[]): Uint8Array {
  return concat([DOMAIN, Uint8Array.of(SPEC_VERSION, CONTENT_TYPE_WASM, HASH_SHA256), ...hashes]);
}

function whyMissing(bytes: Uint8Array, first: Section | undefined): string {
  if (!first) return 'it has no sections';
  // Only a first section counts (wasmsign2 reads no other), but saying where
  // a misplaced one is saves its author a search.
  let at = first.end;
  for (let index = 1; at < bytes.length; index++) {
    let section: Section;
    try {
      section = readSection(bytes, at);
    } catch {
      break;
    }
    if (section.custom?.name === SIGNATURE_SECTION_NAME) return `its signature section is section ${index}, and only a first one counts`;
    at = section.end;
  }
  return 'it has no signature section';
}

function invalid(detail: string, cause?: unknown) {
  return pfError('PF_ERR_SIGNATURE_INVALID', [WHAT, detail], { cause });
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

