// Signed components: what verifyComponent accepts and what it refuses, with
// which code. The component is a real built stub (echo-c).
import test from 'ava';
import { readFile } from 'node:fs/promises';
import { recognise } from '../../plugins/direct/component-shape.ts';
import type { ProtoflyError } from '../../kernel/errors.ts';
import { generateKeyPair, publicKeyToText, serializeKeyPair, serializePublicKey } from '../../plugins/trust/keys.ts';
import { SIGNATURE_LIMITS, encodeSignatureData } from '../../plugins/trust/signature-data.ts';
import { concat, customSection, leb128, readSections } from '../../plugins/trust/wasm-sections.ts';
import { readSignatureSection, signComponent, signedMessage, verifyComponent } from '../../plugins/trust/wasm-signature.ts';
import { builtStub } from '../helpers/built.ts';
import { testKey, vector } from '../helpers/signature-vectors.ts';

const echo = async () => new Uint8Array(await readFile(builtStub('echo-c')));
const preamble = (bytes: Uint8Array) => bytes.subarray(0, 8);

/** The binary with its signature section replaced by one with this payload. */
function withSignaturePayload(signed: Uint8Array, payload: Uint8Array): Uint8Array {
  return concat([preamble(signed), customSection('signature', payload), signed.subarray(readSignatureSection(signed).end)]);
}

test('a component signed with a key verifies with that key, given in any of its forms', async (t) => {
  const pair = await generateKeyPair();
  const signed = await signComponent(await echo(), pair);
  t.true(recognise(signed).ok, 'still a stub component the direct path takes as it is');
  for (const key of [pair.publicKey, serializePublicKey(pair.publicKey), publicKeyToText(pair.publicKey)]) {
    t.deepEqual(await verifyComponent(signed, [key]), { ok: true, keyIndex: 0, keyId: undefined });
  }
  t.like(await verifyComponent(await signComponent(await echo(), serializeKeyPair(pair)), [pair.publicKey]), { ok: true }, 'a secret key file signs too');
});

test('the index of the first trusted key that signed is reported', async (t) => {
  const [pair, other] = [await generateKeyPair(), await generateKeyPair()];
  const signed = await signComponent(await echo(), pair, { keyId: 'default' });
  const result = await verifyComponent(signed, [other.publicKey, pair.publicKey]);
  t.is(result.keyIndex, 1);
  t.is(result.keyId?.length, 12);
});

test('one byte changed in any section after the signature makes it INVALID', async (t) => {
  const pair = await generateKeyPair();
  const signed = await signComponent(await echo(), pair);
  const sections = readSections(signed).slice(1);
  t.true(sections.length > 5);
  for (const section of sections) {
    for (const at of [section.start, section.start + 1, Math.floor((section.start + section.end) / 2), section.end - 1]) {
      const changed = signed.slice();
      changed[at] ^= 0x01;
      await t.throwsAsync(verifyComponent(changed, [pair.publicKey]), { code: 'PF_ERR_SIGNATURE_INVALID' }, `byte ${at} of section ${section.id}`);
    }
  }
});

test('a section added, dropped or cut after signing makes it INVALID', async (t) => {
  const pair = await generateKeyPair();
  const signed = await signComponent(await echo(), pair);
  const sections = readSections(signed);
  const last = sections[sections.length - 1];
  for (const changed of [
    concat([signed, customSection('added', Uint8Array.of(1))]),
    signed.subarray(0, last.start),
    signed.subarray(0, signed.length - 1),
  ]) {
    await t.throwsAsync(verifyComponent(changed, [pair.publicKey]), { code: 'PF_ERR_SIGNATURE_INVALID' });
  }
});

test('a signature by another key is UNTRUSTED, and so is one that is damaged but names no key', async (t) => {
  const [pair, other] = [await generateKeyPair(), await generateKeyPair()];
  const signed = await signComponent(await echo(), pair);
  await t.throwsAsync(verifyComponent(signed, [other.publicKey]), { code: 'PF_ERR_SIGNATURE_UNTRUSTED', message: /none of the 1 trusted key$/ });
  await t.throwsAsync(verifyComponent(signed, []), { code: 'PF_ERR_SIGNATURE_UNTRUSTED' });
  const damaged = signed.slice();
  damaged[readSignatureSection(signed).end - 1] ^= 0x01; // the signature's last byte
  await t.throwsAsync(verifyComponent(damaged, [pair.publicKey]), { code: 'PF_ERR_SIGNATURE_UNTRUSTED' });
});

test('a damaged signature that names a trusted key by its key id is INVALID', async (t) => {
  const pair = await generateKeyPair();
  const signed = await signComponent(await echo(), pair, { keyId: 'default' });
  const damaged = signed.slice();
  damaged[readSignatureSection(signed).end - 1] ^= 0x01;
  await t.throwsAsync(verifyComponent(damaged, [pair.publicKey]), { code: 'PF_ERR_SIGNATURE_INVALID', message: /names trusted key 0/ });
});

test('a component without a signature section is MISSING its signature', async (t) => {
  const pair = await generateKeyPair();
  const bytes = await echo();
  await t.throwsAsync(verifyComponent(bytes, [pair.publicKey]), { code: 'PF_ERR_SIGNATURE_MISSING', message: /no signature section/ });
  await t.throwsAsync(verifyComponent(preamble(bytes), [pair.publicKey]), { code: 'PF_ERR_SIGNATURE_MISSING', message: /no sections/ });
});

test('a signature section that is not first does not count', async (t) => {
  const pair = await generateKeyPair();
  const signed = await signComponent(await echo(), pair);
  const [signature, first, ...rest] = readSections(signed);
  const moved = concat([preamble(signed), ...[first, signature, ...rest].map((s) => signed.subarray(s.start, s.end))]);
  await t.throwsAsync(verifyComponent(moved, [pair.publicKey]), { code: 'PF_ERR_SIGNATURE_MISSING', message: /section 1, and only a first one counts/ });
  // Signing it again puts a single signature first.
  const resigned = await signComponent(moved, pair);
  t.is(readSections(resigned).filter((s) => s.custom?.name === 'signature').length, 1);
  t.like(await verifyComponent(resigned, [pair.publicKey]), { ok: true });
});

test('signing a signed component replaces its signature', async (t) => {
  const [pair, other] = [await generateKeyPair(), await generateKeyPair()];
  const twice = await signComponent(await signComponent(await echo(), pair), other);
  t.like(await verifyComponent(twice, [other.publicKey]), { ok: true });
  await t.throwsAsync(verifyComponent(twice, [pair.publicKey]), { code: 'PF_ERR_SIGNATURE_UNTRUSTED' });
});

test('a core module is signed and verified like a component', async (t) => {
  const pair = await testKey('test-1');
  const signed = await signComponent(await vector('core-module.wasm'), pair);
  t.like(await verifyComponent(signed, [pair.publicKey]), { ok: true });
  signed[signed.length - 1] ^= 1;
  await t.throwsAsync(verifyComponent(signed, [pair.publicKey]), { code: 'PF_ERR_SIGNATURE_INVALID' });
});

test('what is not a WebAssembly binary is refused: INVALID to verify, COMPONENT_INVALID to sign', async (t) => {
  const pair = await generateKeyPair();
  for (const bytes of [new Uint8Array(), new TextEncoder().encode('<html>not wasm</html>'), Uint8Array.of(0, 0x61, 0x73, 0x6d, 2, 0, 0, 0)]) {
    await t.throwsAsync(verifyComponent(bytes, [pair.publicKey]), { code: 'PF_ERR_SIGNATURE_INVALID' });
    await t.throwsAsync(signComponent(bytes, pair), { code: 'PF_ERR_COMPONENT_INVALID' });
  }
});

test('a trusted key that cannot be read is a configuration error, PF_ERR_SIGNATURE_KEY_INVALID', async (t) => {
  const signed = await signComponent(await echo(), await generateKeyPair());
  for (const key of ['ed25519:nope', 'rsa:AAAA', new Uint8Array(31), Uint8Array.of(0x81, ...new Uint8Array(32))]) {
    await t.throwsAsync(verifyComponent(signed, [key]), { code: 'PF_ERR_SIGNATURE_KEY_INVALID' });
  }
});

test('another spec version, content type or hash function is INVALID', async (t) => {
  const pair = await generateKeyPair();
  const signed = await signComponent(await echo(), pair);
  const { data } = readSignatureSection(signed);
  for (const [field, value] of [['specVersion', 2], ['contentType', 2], ['hashFunction', 2]] as const) {
    const payload = encodeSignatureData({ ...data, [field]: value });
    await t.throwsAsync(verifyComponent(withSignaturePayload(signed, payload), [pair.publicKey]), { code: 'PF_ERR_SIGNATURE_INVALID' }, field);
  }
});

// ── hostile signature sections ──────────────────────────────────────────────

test('every truncation of a signature section is INVALID, not a crash', async (t) => {
  const pair = await generateKeyPair();
  const signed = await signComponent(await echo(), pair, { keyId: 'default' });
  const payload = readSignatureSection(signed).data;
  const full = encodeSignatureData(payload);
  for (let length = 0; length < full.length; length++) {
    const error = await t.throwsAsync<ProtoflyError>(verifyComponent(withSignaturePayload(signed, full.subarray(0, length)), [pair.publicKey]));
    // Cutting the last record short drops that record, as wasmsign2 does, and leaves nothing that verifies.
    t.true(error?.code === 'PF_ERR_SIGNATURE_INVALID' || error?.code === 'PF_ERR_SIGNATURE_UNTRUSTED', `${length}: ${error?.message}`);
  }
});

test('huge counts and lengths past the end are INVALID at once, with nothing allocated for them', async (t) => {
  const pair = await generateKeyPair();
  const signed = await signComponent(await echo(), pair);
  const max = leb128(0xffffffff);
  const hostile: Array<[string, number[]]> = [
    ['4 billion sets', [1, 1, 1, ...max]],
    ['65 sets', [1, 1, 1, 65]],
    ['a set longer than the section', [1, 1, 1, 1, ...max]],
    ['4 billion hashes', [1, 1, 1, 1, 6, ...max, 0]],
    ['2 hashes in 1 byte', [1, 1, 1, 1, 2, 2, 0]],
    ['4 billion signatures', [1, 1, 1, 1, 7, 0, ...max, 0]],
    ['257 signatures', [1, 1, 1, 1, 4, 0, ...leb128(257)]],
    ['a record longer than the set', [1, 1, 1, 1, 7, 0, 1, ...max]],
    ['a LEB128 number of six bytes', [1, 1, 1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00]],
    ['a spec version with its high bit set', [0x81, 1, 1, 0]],
    ['bytes after the last set', [1, 1, 1, 0, 0]],
  ];
  const started = performance.now();
  for (const [what, payload] of hostile) {
    await t.throwsAsync(verifyComponent(withSignaturePayload(signed, Uint8Array.from(payload)), [pair.publicKey]), { code: 'PF_ERR_SIGNATURE_INVALID' }, what);
  }
  t.true(performance.now() - started < 2000, 'all of them together in well under two seconds');
});

test('a section size past the end of the file is INVALID', async (t) => {
  const pair = await generateKeyPair();
  const bytes = concat([preamble(await echo()), Uint8Array.of(0, ...leb128(0xffffffff), 9), new TextEncoder().encode('signature')]);
  await t.throwsAsync(verifyComponent(bytes, [pair.publicKey]), { code: 'PF_ERR_SIGNATURE_INVALID' });
});

test('a section larger than the payload limit is INVALID before it is read', async (t) => {
  const pair = await generateKeyPair();
  const signed = await signComponent(await echo(), pair);
  const big = new Uint8Array(SIGNATURE_LIMITS.maxPayloadBytes + 1);
  await t.throwsAsync(verifyComponent(withSignaturePayload(signed, big), [pair.publicKey]), { code: 'PF_ERR_SIGNATURE_INVALID', message: /limit/ });
});

test('the most signatures a section may hold cost a bounded number of checks', async (t) => {
  // 256 signatures over the right hash, none by the trusted keys: the worst a
  // verifier meets, and each key tries each one once.
  const [pair, ...trusted] = [await generateKeyPair(), await generateKeyPair(), await generateKeyPair()];
  const signed = await signComponent(await echo(), pair);
  const { data } = readSignatureSection(signed);
  const record = data.sets[0].signatures[0];
  const sets = [{ hashes: data.sets[0].hashes, signatures: Array.from({ length: SIGNATURE_LIMITS.maxSignatures }, () => record) }];
  const crowded = withSignaturePayload(signed, encodeSignatureData({ ...data, sets }));
  const started = performance.now();
  await t.throwsAsync(verifyComponent(crowded, trusted.map((k) => k.publicKey)), { code: 'PF_ERR_SIGNATURE_UNTRUSTED' });
  t.log(`${Math.round(performance.now() - started)} ms for ${2 * SIGNATURE_LIMITS.maxSignatures} checks`);
  t.true(performance.now() - started < 5000);
  const tooMany = [{ ...sets[0], signatures: [...sets[0].signatures, record] }];
  await t.throwsAsync(verifyComponent(withSignaturePayload(signed, encodeSignatureData({ ...data, sets: tooMany })), [pair.publicKey]), { code: 'PF_ERR_SIGNATURE_INVALID' });
});

test('a record of an unknown algorithm is skipped, as wasmsign2 skips it, and the Ed25519 one beside it still counts', async (t) => {
  const pair = await generateKeyPair();
  const signed = await signComponent(await echo(), pair);
  const { data } = readSignatureSection(signed);
  const future = { algorithm: 0x42, signature: new Uint8Array(100) };
  const sets = [{ hashes: data.sets[0].hashes, signatures: [future, ...data.sets[0].signatures] }];
  t.like(await verifyComponent(withSignaturePayload(signed, encodeSignatureData({ ...data, sets })), [pair.publicKey]), { ok: true });
});

test('the signed message is "wasmsig", the three ids and the hashes', (t) => {
  const hash = new Uint8Array(32).fill(7);
  t.deepEqual([...signedMessage([hash])], [...new TextEncoder().encode('wasmsig'), 1, 1, 1, ...hash]);
});
