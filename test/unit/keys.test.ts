// Ed25519 keys: RFC 8032's test key, wasmsign2's key files, the text form.
import test from 'ava';
import {
  defaultKeyId, generateKeyPair, keyPairFromSeed, parseKeyPair, parsePublicKey, publicKeyToText, serializeKeyPair, serializePublicKey,
} from '../../plugins/trust/keys.ts';
import { testKey, vector } from '../helpers/signature-vectors.ts';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

test('the RFC 8032 TEST 1 seed gives the RFC\'s public key', async (t) => {
  const pair = await testKey('test-1');
  t.is(hex(pair.publicKey), 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
});

test('key pairs and public keys round-trip through wasmsign2\'s files, byte for byte as wasmsign2 wrote them', async (t) => {
  const pair = await testKey('test-1');
  const file = serializeKeyPair(pair);
  t.is(file.length, 65);
  t.is(file[0], 0x81);
  t.deepEqual(file, await vector('wasmsign2/test-1.sk'));
  t.deepEqual(await parseKeyPair(file), pair);
  const publicFile = serializePublicKey(pair.publicKey);
  t.deepEqual(publicFile, await vector('wasmsign2/test-1.pk'));
  t.deepEqual(parsePublicKey(publicFile), pair.publicKey);
});

test('a generated key pair is fresh and consistent', async (t) => {
  const [a, b] = [await generateKeyPair(), await generateKeyPair()];
  t.notDeepEqual(a.seed, b.seed);
  t.deepEqual((await keyPairFromSeed(a.seed)).publicKey, a.publicKey);
  t.deepEqual(await parseKeyPair(serializeKeyPair(a)), a);
});

test('the text form is ed25519: and canonical base64 of the 32 raw bytes', async (t) => {
  const pair = await testKey('test-1');
  const text = publicKeyToText(pair.publicKey);
  t.is(text, 'ed25519:11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=');
  t.is(`${text}\n`, new TextDecoder().decode(await vector('keys/test-1.txt')));
  t.deepEqual(parsePublicKey(text), pair.publicKey);
});

test('keys that cannot be read say why, with PF_ERR_SIGNATURE_KEY_INVALID', async (t) => {
  const pair = await testKey('test-1');
  const file = serializeKeyPair(pair);
  const cases: Array<[() => unknown, RegExp]> = [
    [() => parsePublicKey('11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo='), /starts with "ed25519:"/],
    [() => parsePublicKey('ed25519:11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo'), /canonical base64/],
    [() => parsePublicKey('ed25519:11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURp='), /canonical base64/],
    [() => parsePublicKey('ed25519: 11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo='), /canonical base64/],
    [() => parsePublicKey('ed25519:AAAA'), /holds 3/],
    [() => parsePublicKey(new Uint8Array(16)), /not 16/],
    [() => parsePublicKey(Uint8Array.of(0x81, ...pair.publicKey)), /starts with 0x01, not 0x81/],
  ];
  for (const [read, message] of cases) t.throws(read, { code: 'PF_ERR_SIGNATURE_KEY_INVALID', message });
  await t.throwsAsync(parseKeyPair(serializePublicKey(pair.publicKey)), { code: 'PF_ERR_SIGNATURE_KEY_INVALID', message: /65 bytes/ });
  await t.throwsAsync(parseKeyPair(Uint8Array.of(0x01, ...file.subarray(1))), { code: 'PF_ERR_SIGNATURE_KEY_INVALID', message: /this is a public key/ });
  const mismatched = file.slice();
  mismatched[64] ^= 1;
  await t.throwsAsync(parseKeyPair(mismatched), { code: 'PF_ERR_SIGNATURE_KEY_INVALID', message: /does not belong to its seed/ });
});

test('the default key id is wasmsign2\'s: the one it stored in its -K vector', async (t) => {
  const pair = await testKey('test-1');
  const signed = await vector('wasmsign2/echo-c.wasmsign2-keyid.wasm');
  t.is(hex(await defaultKeyId(pair.publicKey)), '58fb94a6933f01b8b7707a8b');
  t.true(hex(signed).includes('0c58fb94a6933f01b8b7707a8b01'), 'length 12, the id, then algorithm 0x01');
});
