// The committed interop vectors of test/fixtures/signatures/ (make-vectors.ts,
// wasmsign2/README.md): keys from RFC 8032's test seeds, inputs, and the same
// inputs signed by protofly and by wasmsign2.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { keyPairFromSeed, type KeyPair } from '../../plugins/trust/keys.ts';
import { TEST_SEEDS } from '../fixtures/signatures/make-vectors.ts';

const dir = fileURLToPath(new URL('../fixtures/signatures/', import.meta.url));

export async function vector(name: string): Promise<Uint8Array> {
  return new Uint8Array(await readFile(`${dir}${name}`));
}

export async function testKey(name: keyof typeof TEST_SEEDS): Promise<KeyPair> {
  return keyPairFromSeed(new Uint8Array(Buffer.from(TEST_SEEDS[name], 'hex')));
}
