// protofly's signed components against wasmsign2: vectors that wasmsign2
// itself signed (test/fixtures/signatures/wasmsign2/), byte-for-byte
// comparison of the two signers, and a second, deliberately plain reading of
// the format — Signatures.md's tables plus the length prefixes wasmsign2
// writes — that checks a protofly signature with Web Crypto directly.
import test from 'ava';
import { defaultKeyId, parsePublicKey } from '../../plugins/trust/keys.ts';
import { readSignatureSection, signComponent, verifyComponent } from '../../plugins/trust/wasm-signature.ts';
import { testKey, vector } from '../helpers/signature-vectors.ts';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

test('components and core modules signed by wasmsign2 verify in protofly', async (t) => {
  const one = await testKey('test-1');
  for (const name of ['echo-c.wasmsign2.wasm', 'echo-c.wasmsign2-keyid.wasm', 'echo-c.wasmsign2-extensible.wasm', 'core-module.wasmsign2.wasm', 'core-module.wasmsign2-keyid.wasm']) {
    const result = await verifyComponent(await vector(`wasmsign2/${name}`), [one.publicKey]);
    t.like(result, { ok: true, keyIndex: 0 }, name);
  }
});

test('a component signed by two keys through wasmsign2 verifies under either', async (t) => {
  const bytes = await vector('wasmsign2/echo-c.wasmsign2-two-signers.wasm');
  const [one, two] = [await testKey('test-1'), await testKey('test-2')];
  t.like(await verifyComponent(bytes, [one.publicKey]), { keyIndex: 0, keyId: undefined });
  const second = await verifyComponent(bytes, [two.publicKey]);
  t.is(second.keyIndex, 0);
  t.is(hex(second.keyId!), hex(await defaultKeyId(two.publicKey)), 'the key id wasmsign2 stored is the one protofly computes');
});

test('protofly signs an unsigned input into the very bytes wasmsign2 writes', async (t) => {
  const one = await testKey('test-1');
  for (const input of ['echo-c', 'core-module']) {
    const unsigned = await vector(`${input}.wasm`);
    t.deepEqual(await signComponent(unsigned, one), await vector(`wasmsign2/${input}.wasmsign2.wasm`), input);
    t.deepEqual(await signComponent(unsigned, one, { keyId: 'default' }), await vector(`wasmsign2/${input}.wasmsign2-keyid.wasm`), `${input} with the default key id`);
    // The committed protofly vectors are the same bytes, and stay so.
    t.deepEqual(await vector(`${input}.protofly.wasm`), await vector(`wasmsign2/${input}.wasmsign2.wasm`));
    t.deepEqual(await vector(`${input}.protofly-keyid.wasm`), await vector(`wasmsign2/${input}.wasmsign2-keyid.wasm`));
  }
});

test('the core module vector has padded LEB128 sizes, which both signers rewrite in shortest form', async (t) => {
  const unsigned = await vector('core-module.wasm');
  const signed = await vector('core-module.protofly.wasm');
  t.deepEqual([...unsigned.subarray(8, 14)], [0x01, 0x84, 0x80, 0x80, 0x80, 0x00], 'the input pads its type section size');
  const body = signed.subarray(readSignatureSection(signed).end);
  t.deepEqual([...body.subarray(0, 2)], [0x01, 0x04], 'the signed output does not');
  t.is(body.length, unsigned.length - 8 - 4 - 1, 'four bytes fewer in the type section size, one in the "pad" name length');
  t.true(WebAssembly.validate(signed as Uint8Array<ArrayBuffer>));
});

// ── a second reading ────────────────────────────────────────────────────────
// Written from the spec tables, not from plugins/trust: a cursor, LEB128, and
// the fields in order. Where wasmsign2 adds a length before a signed-hashes
// set and before a signature record (varint::put_slice in sig_sections.rs),
// this reader takes that length and reads the record inside it.

function plainDecode(signed: Uint8Array) {
  let at = 8;
  const u8 = () => signed[at++];
  const leb = () => {
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      const byte = u8();
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
  };
  const bytes = (n: number) => signed.slice(at, (at += n));
  if (u8() !== 0) throw new Error('the first section is not custom');
  const sectionEnd = leb() + at;
  const name = new TextDecoder().decode(bytes(leb()));
  const header = { spec: u8(), content: u8(), hashFn: u8() };
  const sets = [];
  for (let s = leb(); s > 0; s--) {
    const setEnd = leb() + at;
    const hashes = [];
    for (let h = leb(); h > 0; h--) hashes.push(bytes(32));
    const signatures = [];
    for (let g = leb(); g > 0; g--) {
      const recordEnd = leb() + at;
      const keyId = bytes(leb());
      const alg = u8();
      const signature = bytes(leb());
      if (at !== recordEnd) throw new Error('a signature record is not what its length says');
      signatures.push({ keyId, alg, signature });
    }
    if (at !== setEnd) throw new Error('a set is not what its length says');
    sets.push({ hashes, signatures });
  }
  if (at !== sectionEnd) throw new Error('the section is not what its size says');
  return { name, header, sets, signedBytes: signed.subarray(sectionEnd) };
}

test('a plain reading of the spec tables plus wasmsign2 length prefixes decodes a protofly signature, and Web Crypto verifies it', async (t) => {
  const one = await testKey('test-1');
  const signed = await signComponent(await vector('echo-c.wasm'), one, { keyId: 'default' });
  const decoded = plainDecode(signed);
  t.is(decoded.name, 'signature');
  t.deepEqual(decoded.header, { spec: 1, content: 1, hashFn: 1 });
  t.is(decoded.sets.length, 1);
  const [{ hashes, signatures }] = decoded.sets;
  t.is(hashes.length, 1);
  t.is(hex(hashes[0]), hex(new Uint8Array(await crypto.subtle.digest('SHA-256', decoded.signedBytes as Uint8Array<ArrayBuffer>))), 'the hash is of every byte after the section');
  t.is(signatures.length, 1);
  t.is(signatures[0].alg, 1);
  t.is(hex(signatures[0].keyId), hex(await defaultKeyId(one.publicKey)));

  const message = new Uint8Array([...new TextEncoder().encode('wasmsig'), 1, 1, 1, ...hashes[0]]);
  const key = await crypto.subtle.importKey('raw', one.publicKey as Uint8Array<ArrayBuffer>, { name: 'Ed25519' }, false, ['verify']);
  t.true(await crypto.subtle.verify({ name: 'Ed25519' }, key, signatures[0].signature, message));
});

test('the plain reading agrees with wasmsign2 on its own vectors', async (t) => {
  const [one, two] = [await testKey('test-1'), await testKey('test-2')];
  const decoded = plainDecode(await vector('wasmsign2/echo-c.wasmsign2-two-signers.wasm'));
  const [{ hashes, signatures }] = decoded.sets;
  const message = new Uint8Array([...new TextEncoder().encode('wasmsig'), 1, 1, 1, ...hashes.flatMap((h) => [...h])]);
  for (const [record, pair] of [[signatures[0], one], [signatures[1], two]] as const) {
    const key = await crypto.subtle.importKey('raw', pair.publicKey as Uint8Array<ArrayBuffer>, { name: 'Ed25519' }, false, ['verify']);
    t.true(await crypto.subtle.verify({ name: 'Ed25519' }, key, record.signature, message));
  }
  t.is(signatures[0].keyId.length, 0, 'signed without -K: no key id');
  t.deepEqual(parsePublicKey(await vector('keys/test-2.pk')), two.publicKey);
});
