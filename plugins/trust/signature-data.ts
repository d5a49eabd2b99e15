// The payload of the `signature` custom section, as wasmsign2 encodes it
// (src/lib/src/signature/sig_sections.rs, `SignatureData`, `SignedHashes`,
// `SignatureForHashes`, their `serialize`/`deserialize`). Numbers are
// unsigned LEB128 (`varint::put`/`get32`; the three leading ids use `get7`,
// one byte below 0x80). Unlike the tables of tool-conventions' Signatures.md,
// each signed-hashes set and each signature record is itself written with a
// LEB128 length in front (`varint::put_slice`):
//
//   spec_version u7 · content_type u7 · hash_fn u7 · set_count u32
//   set_count × ( set_len u32 · set )
//   set       = hash_count u32 · hash_count × 32-byte hash
//               · signature_count u32 · signature_count × ( record_len u32 · record )
//   record    = key_id_len u32 · key_id (none when 0) · alg_id u8 · sig_len u32 · sig
//
// Decoding is bounded: every count and length is checked against the bytes
// left before anything is allocated or looped over, and the counts against
// wasmsign2's own ceilings, so a hostile section costs at most its own size.

import { BinaryReader, Malformed } from '../direct/binary-reader.ts';
import { concat, leb128 } from './wasm-sections.ts';

export const HASH_BYTES = 32;

export const SIGNATURE_LIMITS = Object.freeze({
  /** wasmsign2's `MAX_HASHES`, which it applies to the set count too. */
  maxSets: 64,
  maxHashesPerSet: 64,
  /** wasmsign2's `MAX_SIGNATURES`, per set there; protofly counts all sets together, so a verifier tries at most this many per key. */
  maxSignatures: 256,
  /** Protofly's own ceiling (wasmsign2 has none): one signature takes about 80 bytes, so this leaves room for hundreds. */
  maxPayloadBytes: 64 * 1024,
});

export interface SignatureRecord {
  /** None is written as an empty key id. */
  readonly keyId?: Uint8Array;
  readonly algorithm: number;
  readonly signature: Uint8Array;
}

export interface SignedHashes {
  readonly hashes: readonly Uint8Array[];
  readonly signatures: readonly SignatureRecord[];
}

export interface SignatureData {
  readonly specVersion: number;
  readonly contentType: number;
  readonly hashFunction: number;
  readonly sets: readonly SignedHashes[];
}

export function encodeSignatureData(data: SignatureData): Uint8Array {
  return concat([
    Uint8Array.of(data.specVersion, data.contentType, data.hashFunction, ...leb128(data.sets.length)),
    ...data.sets.map((set) => slice(encodeSet(set))),
  ]);
}

function encodeSet(set: SignedHashes): Uint8Array {
  return concat([
    Uint8Array.of(...leb128(set.hashes.length)),
    ...set.hashes,
    Uint8Array.of(...leb128(set.signatures.length)),
    ...set.signatures.map((record) => slice(concat([slice(record.keyId ?? new Uint8Array()), Uint8Array.of(record.algorithm), slice(record.signature)]))),
  ]);
}

/** `varint::put_slice`: a LEB128 length, then the bytes. */
function slice(bytes: Uint8Array): Uint8Array {
  return concat([Uint8Array.of(...leb128(bytes.length)), bytes]);
}

/**
 * Decodes a signature section's payload; throws Malformed with the reason.
 * A signature record that cannot be read is dropped, as wasmsign2 drops it
 * (`if let Ok(signature) = …`): a record of a future algorithm must not
 * spoil the Ed25519 ones beside it. Bytes left over after the last set or
 * the last record of a set are refused: Signatures.md says the data ends
 * with its last signature, and wasmsign2 never writes more.
 */
export function decodeSignatureData(payload: Uint8Array): SignatureData {
  if (payload.length > SIGNATURE_LIMITS.maxPayloadBytes) throw new Malformed(`${payload.length} bytes, more than the ${SIGNATURE_LIMITS.maxPayloadBytes}-byte limit`);
  const reader = new BinaryReader(payload);
  const specVersion = u7(reader, 'specification version');
  const contentType = u7(reader, 'content type');
  const hashFunction = u7(reader, 'hash function');
  const setCount = count(reader, SIGNATURE_LIMITS.maxSets, 'signed hash sets');
  const sets: SignedHashes[] = [];
  let signatures = 0;
  for (let i = 0; i < setCount; i++) {
    const set = decodeSet(new BinaryReader(reader.take(reader.u32())));
    signatures += set.signatures.length;
    if (signatures > SIGNATURE_LIMITS.maxSignatures) throw new Malformed(`more than ${SIGNATURE_LIMITS.maxSignatures} signatures`);
    sets.push(set);
  }
  if (!reader.done) throw new Malformed(`${reader.end - reader.at} bytes after the last signed hash set`);
  return { specVersion, contentType, hashFunction, sets };
}

function decodeSet(reader: BinaryReader): SignedHashes {
  const hashCount = count(reader, SIGNATURE_LIMITS.maxHashesPerSet, 'hashes');
  const hashes: Uint8Array[] = [];
  for (let i = 0; i < hashCount; i++) hashes.push(reader.take(HASH_BYTES));
  const signatureCount = count(reader, SIGNATURE_LIMITS.maxSignatures, 'signatures');
  const signatures: SignatureRecord[] = [];
  for (let i = 0; i < signatureCount; i++) {
    const record = decodeRecord(reader.take(reader.u32()));
    if (record) signatures.push(record);
  }
  if (!reader.done) throw new Malformed(`${reader.end - reader.at} bytes after the last signature of a set`);
  return { hashes, signatures };
}

function decodeRecord(bytes: Uint8Array): SignatureRecord | undefined {
  try {
    const reader = new BinaryReader(bytes);
    const keyId = reader.take(reader.u32());
    const algorithm = reader.byte();
    const signature = reader.take(reader.u32());
    if (!reader.done) return undefined;
    return { keyId: keyId.length > 0 ? keyId : undefined, algorithm, signature };
  } catch (error) {
    if (error instanceof Malformed) return undefined;
    throw error;
  }
}

function u7(reader: BinaryReader, what: string): number {
  const byte = reader.byte();
  if (byte & 0x80) throw new Malformed(`the ${what} is not a one-byte number`);
  return byte;
}

/** A count no larger than `max`, nor than the bytes left (each item takes at least one). */
function count(reader: BinaryReader, max: number, what: string): number {
  const n = reader.u32();
  if (n > max) throw new Malformed(`${n} ${what}, more than wasmsign2's limit of ${max}`);
  if (n > reader.end - reader.at) throw new Malformed(`${n} ${what} in ${reader.end - reader.at} bytes`);
  return n;
}
