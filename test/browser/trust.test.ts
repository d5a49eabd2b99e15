// plugins/trust in a page: Web Crypto alone verifies what wasmsign2 signed
// and signs what Node verifies, with no Node API bundled in.
import test from 'ava';
import { build } from 'esbuild';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { verifyComponent } from '../../plugins/trust/wasm-signature.ts';
import { CHROMIUM, launchChromium } from '../helpers/chromium.ts';
import { testKey, vector } from '../helpers/signature-vectors.ts';

const withChromium = existsSync(CHROMIUM) ? test : test.skip;

/** The page's script: the trust files bundled for a browser, exposed as `trust`. */
async function pageBundle(): Promise<string> {
  const entry = [
    "export { signComponent, verifyComponent } from './plugins/trust/wasm-signature.ts';",
    "export { signDescriptor, verifyDescriptor } from './plugins/trust/descriptor-signature.ts';",
    "export { keyPairFromSeed, generateKeyPair } from './plugins/trust/keys.ts';",
    "export { fromBase64 } from './plugins/trust/base64.ts';",
  ].join('\n');
  const result = await build({
    stdin: { contents: entry, resolveDir: fileURLToPath(new URL('../../', import.meta.url)), loader: 'ts' },
    bundle: true, format: 'iife', globalName: 'trust', platform: 'browser', write: false,
  });
  return result.outputFiles[0].text;
}

withChromium('a page verifies a component wasmsign2 signed, and signs one that Node verifies', async (t) => {
  const context = await launchChromium(t);
  const page = await context.newPage();
  // Web Crypto needs a secure context: a page of http://localhost is one, served here without a server.
  const script = await pageBundle();
  await page.route('http://localhost/trust', (route) => route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>trust</title>' }));
  await page.goto('http://localhost/trust');
  await page.addScriptTag({ content: script });
  const signedByWasmsign2 = Buffer.from(await vector('wasmsign2/echo-c.wasmsign2.wasm')).toString('base64');
  const unsigned = Buffer.from(await vector('echo-c.wasm')).toString('base64');
  const pair = await testKey('test-1');

  const fromPage = await page.evaluate(async ({ signedByWasmsign2, unsigned, seed }) => {
    // No named functions in here: tsx would wrap them in a helper the page lacks.
    type Trust = typeof import('../../plugins/trust/wasm-signature.ts') & typeof import('../../plugins/trust/descriptor-signature.ts')
      & typeof import('../../plugins/trust/keys.ts') & typeof import('../../plugins/trust/base64.ts');
    const trust = (window as unknown as { trust: Trust }).trust;
    const pair = await trust.keyPairFromSeed(Uint8Array.from(seed));
    const verified = await trust.verifyComponent(trust.fromBase64(signedByWasmsign2)!, [pair.publicKey]);
    const tampered = trust.fromBase64(signedByWasmsign2)!;
    tampered[tampered.length - 1] ^= 1;
    const refused = await trust.verifyComponent(tampered, [pair.publicKey]).catch((error: { code: string }) => error.code);
    const other = await trust.generateKeyPair();
    const untrusted = await trust.verifyComponent(trust.fromBase64(signedByWasmsign2)!, [other.publicKey]).catch((error: { code: string }) => error.code);
    const signed = await trust.signComponent(trust.fromBase64(unsigned)!, pair);
    const descriptor = await trust.signDescriptor({ name: 'echo', connect: ['wss://example.com'] }, pair);
    const descriptorOk = await trust.verifyDescriptor(descriptor, [pair.publicKey]);
    return { keyIndex: verified.keyIndex, refused, untrusted, signed: Array.from(signed), descriptorOk: descriptorOk.ok, isSecureContext };
  }, { signedByWasmsign2, unsigned, seed: Array.from(pair.seed) });

  t.true(fromPage.isSecureContext);
  t.is(fromPage.keyIndex, 0);
  t.is(fromPage.refused, 'PF_ERR_SIGNATURE_INVALID');
  t.is(fromPage.untrusted, 'PF_ERR_SIGNATURE_UNTRUSTED');
  t.true(fromPage.descriptorOk);
  const signed = Uint8Array.from(fromPage.signed);
  t.deepEqual(signed, await vector('wasmsign2/echo-c.wasmsign2.wasm'), 'the page signs the bytes wasmsign2 signs');
  t.like(await verifyComponent(signed, [pair.publicKey]), { ok: true });
});
