// Signed stubs in a page: the same refusals as in Node (test/integration/
// signed-stubs.test.ts), from the browser bundle, with Web Crypto's Ed25519
// and first-use keys in IndexedDB. Each refusal has its code and comes before
// anything compiles; a good deploy works right after it.
import test, { type ExecutionContext } from 'ava';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { generateKeyPair, publicKeyToText, type KeyPair } from '../../plugins/trust/keys.ts';
import { signRotation } from '../../plugins/trust/rotation.ts';
import { CHROMIUM, launchChromium } from '../helpers/chromium.ts';
import { signedDomain } from '../helpers/signed-domain.ts';

const BUNDLE = fileURLToPath(new URL('../../dist/browser/', import.meta.url));

// The page keeps runtimes by name, so a test can deploy, change what the
// domain serves, and update in the same runtime.
const PAGE = `<!doctype html><meta charset="utf-8"><title>protofly signed stubs</title>
<script type="module">
  import { createRuntime } from '/protofly/protofly.js';
  const runtimes = new Map();
  async function attempt(runtime, action) {
    const steps = [];
    runtime.hooks.step.tap('page', (e) => { if (e.phase !== 'start') steps.push(e.parent ? e.parent + ':' + e.hook : e.hook); });
    try {
      const stub = await action();
      return { status: stub.status, version: stub.descriptor.version, steps };
    } catch (error) {
      return { code: error.code, message: String(error.message), steps };
    }
  }
  window.deploy = (name, origin, options) => {
    if (!runtimes.has(name)) runtimes.set(name, createRuntime(options));
    return attempt(runtimes.get(name), () => runtimes.get(name).deployStub(origin));
  };
  window.update = (name, origin, options) => attempt(runtimes.get(name), () => runtimes.get(name).updateStub(origin, options));
  window.ready = true;
</script>`;

interface Result { status?: string; version?: string; code?: string; message?: string; steps: string[] }

async function servePage(t: ExecutionContext): Promise<string> {
  const server = createServer(async (request, response) => {
    const path = new URL(request.url ?? '/', 'http://x').pathname;
    if (path === '/') return void response.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
    const file = normalize(join(BUNDLE, path.replace(/^\/protofly\//, '')));
    if (!path.startsWith('/protofly/') || !file.startsWith(BUNDLE)) return void response.writeHead(404).end();
    const body = await readFile(file).catch(() => undefined);
    if (!body) return void response.writeHead(404).end();
    response.writeHead(200, { 'content-type': extname(file) === '.wasm' ? 'application/wasm' : 'text/javascript' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

async function openPage(t: ExecutionContext, extraArgs: string[] = []): Promise<Page> {
  const context = await launchChromium(t, undefined, extraArgs);
  const page = await context.newPage();
  await page.goto(await servePage(t));
  await page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready, null, { timeout: 60_000 });
  return page;
}

const deploy = (page: Page, name: string, origin: string, options: object = {}) =>
  page.evaluate(([n, o, opts]) => (window as unknown as { deploy(n: string, o: string, opts: object): Promise<Result> }).deploy(n, o, opts), [name, origin, options] as const);
const update = (page: Page, name: string, origin: string, options: object = {}) =>
  page.evaluate(([n, o, opts]) => (window as unknown as { update(n: string, o: string, opts: object): Promise<Result> }).update(n, o, opts), [name, origin, options] as const);

function isRefused(t: ExecutionContext, result: Result, code: string, what: string) {
  t.is(result.code, code, `${what}: ${result.message ?? result.status}`);
  t.false(result.steps.some((s) => s.startsWith('instantiate')), `${what}: nothing compiled: ${result.steps.join(' ')}`);
}

const keyText = (pair: KeyPair) => publicKeyToText(pair.publicKey);
const withChromium = existsSync(CHROMIUM) && existsSync(join(BUNDLE, 'protofly.js'))
  ? test.serial
  : (title: string) => test.skip(`${title} — skipped: needs ${CHROMIUM} and dist/browser (npm run build)`, () => {});

withChromium('in a page, a stub signed by the pinned key deploys; another key, changed bytes, an unsigned component and a changed descriptor are each refused', async (t) => {
  t.timeout(180_000);
  const [pair, other] = await Promise.all([generateKeyPair(), generateKeyPair()]);
  const domain = await signedDomain(t, pair);
  const page = await openPage(t);
  const options = { trust: { keys: { [domain.domain.domain]: [keyText(pair)] } } };
  const origin = domain.domain.origin;

  const good = await deploy(page, 'pinned-1', origin, options);
  t.is(good.status, 'LIVE', good.message);
  t.true(good.steps.includes('fetchDescriptor:signature') && good.steps.includes('loadSource:signature'), good.steps.join(' '));

  const cases: Array<[string, string, Parameters<typeof domain.publish>[0]]> = [
    ['another key', 'PF_ERR_SIGNATURE_UNTRUSTED', { component: other, descriptor: other }],
    // Bytes this page has not verified before (it would run those it has, by their hash, without a download).
    ['bytes changed after signing', 'PF_ERR_SIGNATURE_INVALID', { component: pair, descriptor: pair, variant: 'tampered', tamperComponent: (b) => { b[b.length - 40] ^= 1; } }],
    ['an unsigned component', 'PF_ERR_SIGNATURE_MISSING', { descriptor: pair }],
    ['a descriptor changed after signing', 'PF_ERR_SIGNATURE_INVALID', { component: pair, descriptor: pair, tamperDescriptor: (d) => { d.configuration = { url: 'ws://127.0.0.1:9/' }; } }],
  ];
  let n = 2;
  for (const [what, code, publication] of cases) {
    await domain.publish(publication);
    isRefused(t, await deploy(page, `pinned-${n++}`, origin, options), code, what);
    await domain.publish({ component: pair, descriptor: pair });
    t.is((await deploy(page, `pinned-${n++}`, origin, options)).status, 'LIVE', `a good deploy after ${what}`);
  }
});

withChromium('in a page, trust on first use keeps the key in IndexedDB across a reload: a changed key is refused, a rotation the old key signed is taken', async (t) => {
  t.timeout(180_000);
  const [first, second] = await Promise.all([generateKeyPair(), generateKeyPair()]);
  const domain = await signedDomain(t, first);
  const origin = domain.domain.origin;
  const options = { trust: { firstUse: true } };
  const page = await openPage(t);
  t.is((await deploy(page, 'a', origin, options)).status, 'LIVE');

  await page.reload();
  await page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready, null, { timeout: 60_000 });
  await domain.publish({ component: second, descriptor: second });
  isRefused(t, await deploy(page, 'b', origin, options), 'PF_ERR_SIGNATURE_KEY_CHANGED', 'a new key, no rotation');
  const rotation = await signRotation(domain.domain.domain, first, keyText(second));
  await domain.publish({ component: second, descriptor: second, edit: (d) => { d.rotation = rotation; } });
  t.is((await deploy(page, 'c', origin, options)).status, 'LIVE');
  // The first key is now the stranger.
  await domain.publish({ component: first, descriptor: first });
  isRefused(t, await deploy(page, 'd', origin, options), 'PF_ERR_SIGNATURE_KEY_CHANGED', 'back to the old key');
});

withChromium('in a page, a redirect to plain http off loopback and a downgrade are refused', async (t) => {
  t.timeout(180_000);
  const pair = await generateKeyPair();
  const domain = await signedDomain(t, pair);
  const origin = domain.domain.origin;
  const port = new URL(origin).port;
  // A name off loopback that this browser resolves to loopback: the test stays on the machine.
  const away = createServer((req, res) => res.writeHead(302, { location: `http://stubs.example.test:${port}${req.url}`, 'access-control-allow-origin': '*' }).end());
  await new Promise<void>((resolve) => away.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => { away.closeAllConnections(); away.close(() => resolve()); }));
  const redirecting = `http://127.0.0.1:${(away.address() as AddressInfo).port}`;
  const page = await openPage(t, ['--host-resolver-rules=MAP *.example.test 127.0.0.1']);

  const options = { trust: { keys: { [domain.domain.domain]: [keyText(pair)] }, allowElsewhere: true } };
  await domain.publish({ component: pair, descriptor: pair, edit: (d) => { d.sourcePackageURL = `${redirecting}/stubs/echo-c.wasm`; } });
  const redirected = await deploy(page, 'redirect', origin, options);
  isRefused(t, redirected, 'PF_ERR_INSECURE_REDIRECT', 'a source redirected to plain http');
  t.regex(redirected.message ?? '', /stubs\.example\.test/);

  await domain.publish({ component: pair, descriptor: pair, edit: (d) => { d.version = '2.0.0'; } });
  t.is((await deploy(page, 'versions', origin, options)).status, 'LIVE', 'a good deploy after the redirect');
  await domain.publish({ component: pair, descriptor: pair, edit: (d) => { d.version = '1.9.0'; } });
  const older = await update(page, 'versions', origin);
  isRefused(t, older, 'PF_ERR_DOWNGRADE', 'an older version');
  const taken = await update(page, 'versions', origin, { allowDowngrade: true });
  t.deepEqual([taken.status, taken.version], ['LIVE', '1.9.0']);
});
