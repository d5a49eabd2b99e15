// Signed descriptors: a signature over the RFC 8785 canonical JSON of the
// descriptor, carried in its "signature" member.
import test from 'ava';
import { canonicalJson } from '../../plugins/trust/canonical-json.ts';
import { signDescriptor, verifyDescriptor } from '../../plugins/trust/descriptor-signature.ts';
import { generateKeyPair, publicKeyToText, serializeKeyPair } from '../../plugins/trust/keys.ts';
import { testKey, vector } from '../helpers/signature-vectors.ts';

const descriptor = () => ({
  name: 'mqtt',
  version: '1.2.0',
  sourcePackageURL: 'mqtt.wasm',
  sourceHash: 'sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
  configuration: { url: 'wss://broker.example.com/mqtt', keepalive: 30, topics: ['a/#', 'b'] },
  connect: ['wss://broker.example.com/mqtt'],
});

test('a signed descriptor verifies with its signer\'s key, given in any form', async (t) => {
  const pair = await generateKeyPair();
  const signed = await signDescriptor(descriptor(), pair);
  t.like(signed, { ...descriptor(), signature: { alg: 'ed25519', key: publicKeyToText(pair.publicKey) } });
  t.regex(signed.signature.sig, /^[A-Za-z0-9+/]{86}==$/);
  for (const key of [pair.publicKey, publicKeyToText(pair.publicKey)]) {
    t.deepEqual(await verifyDescriptor(signed, [key]), { ok: true, keyIndex: 0, key: publicKeyToText(pair.publicKey) });
  }
  t.like(await verifyDescriptor(await signDescriptor(descriptor(), serializeKeyPair(pair)), [pair.publicKey]), { ok: true }, 'a secret key file signs too');
});

test('a descriptor served with other indentation and member order still verifies', async (t) => {
  const pair = await generateKeyPair();
  const signed = await signDescriptor(descriptor(), pair);
  const reversed = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(reversed);
    if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).reverse().map(([k, v]) => [k, reversed(v)]));
    return value;
  };
  const served = JSON.parse(`\n  ${JSON.stringify(reversed(signed), null, '\t')}\n`);
  t.not(JSON.stringify(served), JSON.stringify(signed));
  t.like(await verifyDescriptor(served, [pair.publicKey]), { ok: true });
});

test('a changed connect list, configuration or any other member after signing is INVALID', async (t) => {
  const pair = await generateKeyPair();
  const signed = await signDescriptor(descriptor(), pair);
  const changes: Array<[string, (d: ReturnType<typeof structuredClone<typeof signed>>) => void]> = [
    ['connect gains a host', (d) => d.connect.push('wss://evil.example.net')],
    ['connect points elsewhere', (d) => { d.connect[0] = 'wss://broker.example.com.evil.net/mqtt'; }],
    ['configuration changes a value', (d) => { d.configuration.url = 'wss://evil.example.net'; }],
    ['configuration gains a member', (d) => { (d.configuration as Record<string, unknown>).debug = true; }],
    ['a number changes type', (d) => { (d.configuration as Record<string, unknown>).keepalive = '30'; }],
    ['the source hash changes', (d) => { d.sourceHash = 'sha256-BAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA='; }],
    ['a member is added', (d) => { (d as Record<string, unknown>).limits = { maxFrameBytes: 1 }; }],
    ['a member is removed', (d) => { delete (d as Partial<typeof d>).version; }],
  ];
  for (const [what, change] of changes) {
    const changed = structuredClone(signed);
    change(changed);
    await t.throwsAsync(verifyDescriptor(changed, [pair.publicKey]), { code: 'PF_ERR_SIGNATURE_INVALID', message: /does not verify/ }, what);
  }
});

test('a valid signature by a key not in the list is UNTRUSTED', async (t) => {
  const [pair, other] = [await generateKeyPair(), await generateKeyPair()];
  const signed = await signDescriptor(descriptor(), pair);
  await t.throwsAsync(verifyDescriptor(signed, [other.publicKey]), { code: 'PF_ERR_SIGNATURE_UNTRUSTED' });
  await t.throwsAsync(verifyDescriptor(signed, []), { code: 'PF_ERR_SIGNATURE_UNTRUSTED' });
  t.like(await verifyDescriptor(signed, [other.publicKey, pair.publicKey]), { keyIndex: 1 });
  // Swapping in a trusted key's name does not help: the signature is not that key's.
  const renamed = { ...signed, signature: { ...signed.signature, key: publicKeyToText(other.publicKey) } };
  await t.throwsAsync(verifyDescriptor(renamed, [other.publicKey]), { code: 'PF_ERR_SIGNATURE_INVALID' });
});

test('a descriptor without a signature member is MISSING its signature', async (t) => {
  const pair = await generateKeyPair();
  await t.throwsAsync(verifyDescriptor(descriptor(), [pair.publicKey]), { code: 'PF_ERR_SIGNATURE_MISSING' });
});

test('a malformed signature member is INVALID and says what is wrong', async (t) => {
  const pair = await generateKeyPair();
  const signed = await signDescriptor(descriptor(), pair);
  const members: Array<[unknown, RegExp]> = [
    [null, /not an object/],
    ['ed25519:…', /not an object/],
    [[signed.signature], /not an object/],
    [{ ...signed.signature, alg: 'rsa' }, /algorithm is "rsa"/],
    [{ ...signed.signature, key: 'ed25519:short' }, /"key" is not/],
    [{ ...signed.signature, key: 42 }, /"key" is not/],
    [{ ...signed.signature, sig: signed.signature.sig.slice(4) }, /"sig" is not 64 bytes/],
    [{ ...signed.signature, sig: ` ${signed.signature.sig}` }, /"sig" is not 64 bytes/],
    [{ ...signed.signature, expires: '2030' }, /does not know: expires/],
  ];
  for (const [member, message] of members) {
    await t.throwsAsync(verifyDescriptor({ ...signed, signature: member }, [pair.publicKey]), { code: 'PF_ERR_SIGNATURE_INVALID', message }, JSON.stringify(member));
  }
});

test('a descriptor with no canonical form cannot be signed, nor verified', async (t) => {
  const pair = await generateKeyPair();
  await t.throwsAsync(signDescriptor({ ...descriptor(), configuration: { ratio: Number.NaN } }, pair), { code: 'PF_ERR_DESCRIPTOR_INVALID' });
  const signed = await signDescriptor(descriptor(), pair);
  // JSON.parse accepts a lone surrogate escape; I-JSON does not.
  const served = JSON.parse(JSON.stringify(signed).replace('"mqtt"', '"mqtt\\ud800"'));
  await t.throwsAsync(verifyDescriptor(served, [pair.publicKey]), { code: 'PF_ERR_SIGNATURE_INVALID', message: /no canonical JSON/ });
});

test('signing again replaces the signature, which covers the descriptor without it', async (t) => {
  const [pair, other] = [await generateKeyPair(), await generateKeyPair()];
  const twice = await signDescriptor(await signDescriptor(descriptor(), pair), other);
  t.like(await verifyDescriptor(twice, [other.publicKey]), { ok: true });
  const { signature, ...rest } = twice;
  const key = await crypto.subtle.importKey('raw', other.publicKey as Uint8Array<ArrayBuffer>, { name: 'Ed25519' }, false, ['verify']);
  t.true(await crypto.subtle.verify({ name: 'Ed25519' }, key, Buffer.from(signature.sig, 'base64'), new TextEncoder().encode(canonicalJson(rest))), 'Web Crypto checks it directly over canonicalJson(descriptor without "signature")');
});

test('the committed descriptor vector verifies under test key 1, and signing is deterministic', async (t) => {
  const pair = await testKey('test-1');
  const signed = JSON.parse(new TextDecoder().decode(await vector('descriptor.signed.json')));
  t.like(await verifyDescriptor(signed, [pair.publicKey]), { ok: true });
  const unsigned = JSON.parse(new TextDecoder().decode(await vector('descriptor.json')));
  t.deepEqual(await signDescriptor(unsigned, pair), signed);
});
