// A signed protocol stub descriptor: the descriptor carries a "signature"
// member, an Ed25519 signature over the UTF-8 of the RFC 8785 canonical JSON
// of the descriptor without that member. Canonical JSON makes the signature
// survive what servers and editors do to JSON (indentation, member order);
// any change of a value (connect, configuration, sourceHash…) breaks it.
//
// The member is an object, not a compact string:
//   "signature": { "alg": "ed25519", "key": "ed25519:<base64>", "sig": "<base64>" }
// - `key` names the signer, so a verifier tells a valid signature by a key it
//   does not trust (PF_ERR_SIGNATURE_UNTRUSTED) from a damaged or forged one
//   (PF_ERR_SIGNATURE_INVALID), and a later pinning step can see that a
//   domain's key changed (PF_ERR_SIGNATURE_KEY_CHANGED);
// - `alg` leaves room for another algorithm without another field;
// - it reads as what it is in a served descriptor, and needs no parser.
// The member itself is not signed (it cannot sign itself): a changed `key`
// or `alg` only makes the signature fail.

import { pfError } from '../../kernel/errors.ts';
import { fromBase64, toBase64 } from './base64.ts';
import { canonicalJson } from './canonical-json.ts';
import { SIGNATURE_BYTES, ed25519Sign, ed25519Verify, importVerifyKey } from './ed25519.ts';
import { parseKeyPair, parsePublicKey, publicKeyToText, type KeyPair, type PublicKeyInput } from './keys.ts';

export const DESCRIPTOR_SIGNATURE_FIELD = 'signature';
export const DESCRIPTOR_SIGNATURE_ALG = 'ed25519';

export interface DescriptorSignature {
  readonly alg: typeof DESCRIPTOR_SIGNATURE_ALG;
  /** The signer's public key, `ed25519:<base64>`. */
  readonly key: string;
  /** The 64-byte signature, standard base64. */
  readonly sig: string;
}

type Unsigned = Record<string, unknown>;

const WHAT = 'the descriptor';

/** The descriptor with a fresh "signature" member; one it had is replaced. */
export async function signDescriptor<D extends Unsigned>(descriptor: D, secretKey: KeyPair | Uint8Array): Promise<Omit<D, 'signature'> & { signature: DescriptorSignature }> {
  const pair = secretKey instanceof Uint8Array ? await parseKeyPair(secretKey) : secretKey;
  const { [DESCRIPTOR_SIGNATURE_FIELD]: _previous, ...unsigned } = descriptor;
  let text: string;
  try {
    text = canonicalJson(unsigned);
  } catch (error) {
    throw pfError('PF_ERR_DESCRIPTOR_INVALID', [`it cannot be signed: ${(error as Error).message}`], { cause: error });
  }
  const sig = await ed25519Sign(pair.seed, new TextEncoder().encode(text));
  return { ...unsigned, signature: { alg: DESCRIPTOR_SIGNATURE_ALG, key: publicKeyToText(pair.publicKey), sig: toBase64(sig) } };
}

export interface DescriptorVerification {
  readonly ok: true;
  /** The entry of `publicKeys` that is the signer. */
  readonly keyIndex: number;
  /** The signer, `ed25519:<base64>`. */
  readonly key: string;
}

/**
 * Checks that a key of `publicKeys` signed this descriptor as it is. Throws
 * PF_ERR_SIGNATURE_MISSING (no "signature" member), PF_ERR_SIGNATURE_INVALID
 * (a malformed member, or a signature that does not verify under the key it
 * names: the descriptor changed, or the signature was damaged) or
 * PF_ERR_SIGNATURE_UNTRUSTED (a valid signature by a key not in the list).
 */
export async function verifyDescriptor(descriptor: Unsigned, publicKeys: readonly PublicKeyInput[]): Promise<DescriptorVerification> {
  const keys = publicKeys.map(parsePublicKey);
  const { [DESCRIPTOR_SIGNATURE_FIELD]: member, ...unsigned } = descriptor;
  if (member === undefined) throw pfError('PF_ERR_SIGNATURE_MISSING', [WHAT, `it has no "${DESCRIPTOR_SIGNATURE_FIELD}" member`]);
  const { signer, sig } = readMember(member);
  let text: string;
  try {
    text = canonicalJson(unsigned);
  } catch (error) {
    throw invalid(`it has no canonical JSON form: ${(error as Error).message}`, error);
  }
  if (!(await ed25519Verify(await importVerifyKey(signer), sig, new TextEncoder().encode(text)))) {
    throw invalid('it does not verify under the key it names: the descriptor changed after signing, or the signature is damaged');
  }
  const keyIndex = keys.findIndex((key) => key.every((byte, i) => byte === signer[i]));
  if (keyIndex < 0) throw pfError('PF_ERR_SIGNATURE_UNTRUSTED', [WHAT, keys.length]);
  return { ok: true, keyIndex, key: publicKeyToText(signer) };
}

/**
 * The key a descriptor's signature names, `ed25519:<base64>` (not yet
 * verified), or undefined for an unsigned descriptor. PF_ERR_SIGNATURE_INVALID
 * for a malformed "signature" member.
 */
export function descriptorSigner(descriptor: Unsigned): string | undefined {
  const member = descriptor[DESCRIPTOR_SIGNATURE_FIELD];
  return member === undefined ? undefined : publicKeyToText(readMember(member).signer);
}

function readMember(member: unknown): { signer: Uint8Array; sig: Uint8Array } {
  if (typeof member !== 'object' || member === null || Array.isArray(member)) throw invalid(`"${DESCRIPTOR_SIGNATURE_FIELD}" is not an object`);
  const { alg, key, sig, ...rest } = member as Record<string, unknown>;
  const extra = Object.keys(rest);
  if (extra.length > 0) throw invalid(`"${DESCRIPTOR_SIGNATURE_FIELD}" has members this version does not know: ${extra.slice(0, 5).join(', ')}`);
  if (alg !== DESCRIPTOR_SIGNATURE_ALG) throw invalid(`the algorithm is ${JSON.stringify(alg)}, not "${DESCRIPTOR_SIGNATURE_ALG}"`);
  let signer: Uint8Array;
  try {
    signer = parsePublicKey(typeof key === 'string' ? key : '');
  } catch (error) {
    throw invalid(`"key" is not an ed25519:<base64> public key`, error);
  }
  const bytes = typeof sig === 'string' ? fromBase64(sig) : undefined;
  if (!bytes || bytes.length !== SIGNATURE_BYTES) throw invalid(`"sig" is not ${SIGNATURE_BYTES} bytes in canonical base64`);
  return { signer, sig: bytes };
}

function invalid(detail: string, cause?: unknown) {
  return pfError('PF_ERR_SIGNATURE_INVALID', [WHAT, detail], { cause });
}
