// Signed stubs in the deploy flow (plugins/trust/plugin.ts): a domain's key
// pinned in the runtime, or remembered from its first deploy, decides what
// runs. Every refusal comes with its code before anything compiles, and a
// good deploy of the same domain works right after it.
import test, { type ExecutionContext } from 'ava';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clearComponentCache } from '../../api.ts';
import type { CreateRuntimeOptions } from '../../create-runtime.ts';
import type { ErrorCode } from '../../kernel/errors.ts';
import { fileCache } from '../../plugins/sandbox/cache/file-cache.ts';
import { generateKeyPair, publicKeyToText, type KeyPair } from '../../plugins/trust/keys.ts';
import { signRotation } from '../../plugins/trust/rotation.ts';
import { catalogue, runtime } from '../helpers/runtime.ts';
import { signedDomain } from '../helpers/signed-domain.ts';
import { builtStub } from '../helpers/built.ts';

type Rt = ReturnType<typeof runtime>;
type Domain = Awaited<ReturnType<typeof signedDomain>>;

/** The steps a runtime goes through from now on, `parent:hook` for sub-steps. */
function steps(rt: Rt): string[] {
  const seen: string[] = [];
  rt.hooks.step.tap('test', (event) => {
    if (event.phase !== 'start') seen.push(event.parent ? `${event.parent}:${event.hook}` : event.hook);
  });
  return seen;
}

/** The deploy fails with `code`, having compiled and run nothing, and leaves nothing registered. */
async function refused(t: ExecutionContext, rt: Rt, origin: string, code: ErrorCode) {
  const seen = steps(rt);
  const error = await t.throwsAsync(rt.deployStub(origin));
  t.is((error as { code?: string }).code, code, error?.message);
  t.false(seen.some((s) => s.startsWith('instantiate')), `nothing compiled or ran: ${seen.join(' ')}`);
  t.is(rt.registry.list().length, 0, 'nothing is left registered');
  return error!;
}

/** The domain publishes properly again, and the same runtime deploys it. */
async function recovers(t: ExecutionContext, rt: Rt, domain: Domain, pair: KeyPair) {
  await domain.publish({ component: pair, descriptor: pair });
  const stub = await rt.deployStub(domain.domain.origin);
  t.is(stub.status, 'LIVE', 'a good deploy works right after');
  return stub;
}

const pin = (domain: string, ...keys: string[]): CreateRuntimeOptions => ({ trust: { keys: { [domain]: keys } } });
const keyText = (pair: KeyPair) => publicKeyToText(pair.publicKey);

test('a component and descriptor signed by the pinned key deploy, both checks showing as sub-steps', async (t) => {
  const pair = await generateKeyPair();
  const domain = await signedDomain(t, pair);
  const rt = runtime(t, pin(domain.domain.domain, keyText(pair)));
  const seen = steps(rt);
  const stub = await rt.deployStub(domain.domain.origin);
  t.is(stub.status, 'LIVE');
  t.true(seen.includes('fetchDescriptor:signature'), seen.join(' '));
  t.true(seen.indexOf('loadSource:download') < seen.indexOf('loadSource:signature'), seen.join(' '));
  t.true(seen.indexOf('loadSource:signature') < seen.indexOf('loadSource:integrity'), seen.join(' '));
  t.deepEqual([...rt.errors, ...rt.warnings], []);
});

test('a stub signed by another key than the pinned one is refused with PF_ERR_SIGNATURE_UNTRUSTED before its source is fetched', async (t) => {
  const [pinned, other] = await Promise.all([generateKeyPair(), generateKeyPair()]);
  const domain = await signedDomain(t, other);
  const rt = runtime(t, pin(domain.domain.domain, keyText(pinned)));
  await refused(t, rt, domain.domain.origin, 'PF_ERR_SIGNATURE_UNTRUSTED');
  t.is(domain.domain.hits(domain.sourcePath), 0);
  await recovers(t, rt, domain, pinned);
});

test('a component changed after signing is refused with PF_ERR_SIGNATURE_INVALID, not merely as a wrong hash', async (t) => {
  const pair = await generateKeyPair();
  const domain = await signedDomain(t, pair);
  // The web server serves other bytes under the signed descriptor.
  await domain.publish({ component: pair, descriptor: pair, tamperComponent: (bytes) => { bytes[bytes.length - 40] ^= 0x01; } });
  const rt = runtime(t, pin(domain.domain.domain, keyText(pair)));
  const error = await refused(t, rt, domain.domain.origin, 'PF_ERR_SIGNATURE_INVALID');
  t.regex(error.message, /changed after it was signed/);
  t.is((error as { hook?: string }).hook, 'loadSource');
  await recovers(t, rt, domain, pair);
});

test('an unsigned component is refused with PF_ERR_SIGNATURE_MISSING where signatures are required', async (t) => {
  const pair = await generateKeyPair();
  const domain = await signedDomain(t, pair);
  await domain.publish({ descriptor: pair });
  // Pinned: the domain's key must sign both.
  const pinned = runtime(t, pin(domain.domain.domain, keyText(pair)));
  t.regex((await refused(t, pinned, domain.domain.origin, 'PF_ERR_SIGNATURE_MISSING')).message, /component/);
  // `require` with no key for the domain: nothing it serves can be checked.
  await domain.publish({});
  const strict = runtime(t, { trust: { require: true } });
  t.regex((await refused(t, strict, domain.domain.origin, 'PF_ERR_SIGNATURE_MISSING')).message, /descriptor/);
  await recovers(t, pinned, domain, pair);
});

test('without pinning, an unsigned stub runs with a PF_ERR_SIGNATURE_MISSING warning on the error hook', async (t) => {
  const domain = await signedDomain(t, undefined);
  await domain.publish({});
  const rt = runtime(t);
  const stub = await rt.deployStub(domain.domain.origin);
  t.is(stub.status, 'LIVE');
  t.deepEqual(rt.warnings.map((w) => [w.code, w.domain]), [['PF_ERR_SIGNATURE_MISSING', domain.domain.domain]]);
});

test('a descriptor changed after signing (a connect entry added) is refused with PF_ERR_SIGNATURE_INVALID', async (t) => {
  const pair = await generateKeyPair();
  const domain = await signedDomain(t, pair);
  await domain.publish({ component: pair, descriptor: pair, tamperDescriptor: (d) => { (d.connect as string[]).push('ws://127.0.0.1:9/elsewhere'); } });
  const rt = runtime(t, pin(domain.domain.domain, keyText(pair)));
  const error = await refused(t, rt, domain.domain.origin, 'PF_ERR_SIGNATURE_INVALID');
  t.regex(error.message, /descriptor/);
  t.is(domain.domain.hits(domain.sourcePath), 0);
  await recovers(t, rt, domain, pair);
});

test('trust on first use: a later key is refused with PF_ERR_SIGNATURE_KEY_CHANGED, one the old key rotated to is taken and remembered', async (t) => {
  const [first, second] = await Promise.all([generateKeyPair(), generateKeyPair()]);
  const domain = await signedDomain(t, first);
  const store = join(await mkdtemp(join(tmpdir(), 'protofly-keys-')), 'trusted-keys.json');
  const tofu: CreateRuntimeOptions = { trust: { firstUse: true, store } };
  const name = domain.domain.domain;

  const one = runtime(t, tofu);
  t.is((await one.deployStub(domain.domain.origin)).status, 'LIVE');
  t.deepEqual(JSON.parse(await readFile(store, 'utf8')), { [name]: [keyText(first)] }, 'the first key is kept on disk');

  // Another process, later: the domain now signs with a new key, no word from the old one.
  await domain.publish({ component: second, descriptor: second });
  const two = runtime(t, tofu);
  const error = await refused(t, two, domain.domain.origin, 'PF_ERR_SIGNATURE_KEY_CHANGED');
  t.true(error.message.includes(keyText(first)) && error.message.includes(keyText(second)), error.message);
  // Unsigned is refused too: the domain was seen signing.
  await domain.publish({});
  await refused(t, two, domain.domain.origin, 'PF_ERR_SIGNATURE_MISSING');
  // A rotation statement by another domain's key does not move this one.
  const stranger = await generateKeyPair();
  const forged = await signRotation(name, stranger, keyText(second));
  await domain.publish({ component: second, descriptor: second, edit: (d) => { d.rotation = forged; } });
  await refused(t, two, domain.domain.origin, 'PF_ERR_SIGNATURE_KEY_CHANGED');
  // The old key's statement does.
  const rotation = await signRotation(name, first, keyText(second));
  await domain.publish({ component: second, descriptor: second, edit: (d) => { d.rotation = rotation; } });
  t.is((await two.deployStub(domain.domain.origin)).status, 'LIVE');
  t.deepEqual(JSON.parse(await readFile(store, 'utf8')), { [name]: [keyText(second)] }, 'the new key is remembered');

  // And from then on the first key is the stranger.
  await domain.publish({ component: first, descriptor: first });
  await refused(t, runtime(t, tofu), domain.domain.origin, 'PF_ERR_SIGNATURE_KEY_CHANGED');
});

test('a rotation statement made for one domain does not move another', async (t) => {
  const [first, second] = await Promise.all([generateKeyPair(), generateKeyPair()]);
  const domain = await signedDomain(t, first);
  const tofu: CreateRuntimeOptions = { trust: { firstUse: true } };
  const rt = runtime(t, tofu);
  await rt.deployStub(domain.domain.origin);
  await rt.undeployStub(domain.domain.origin);
  const elsewhere = await signRotation('other.example', first, keyText(second));
  await domain.publish({ component: second, descriptor: second, edit: (d) => { d.rotation = elsewhere; } });
  await refused(t, rt, domain.domain.origin, 'PF_ERR_SIGNATURE_INVALID');
});

/** A server that answers every request with a redirect to `location(path)`. */
async function redirector(t: ExecutionContext, location: (path: string) => string): Promise<string> {
  const server: Server = createServer((req, res) => res.writeHead(302, { location: location(req.url ?? '/') }).end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve(undefined)); }));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

test('a descriptor or source fetch redirected to plain http off loopback is refused with PF_ERR_INSECURE_REDIRECT, without connecting there', async (t) => {
  // The redirect names a host that does not exist: a connection attempt would fail differently.
  const origin = await redirector(t, (path) => `http://stubs.example.invalid${path}`);
  const rt = runtime(t);
  const error = await refused(t, rt, origin, 'PF_ERR_INSECURE_REDIRECT');
  t.regex(error.message, /http:\/\/stubs\.example\.invalid\/\.well-known/);

  // The source, redirected: the descriptor names it on its own origin, which sends it away.
  const domain = await signedDomain(t, undefined);
  const away = await redirector(t, (path) => `http://cdn.example.invalid${path}`);
  await domain.publish({ edit: (d) => { d.sourcePackageURL = `${away}/stubs/echo-c.wasm`; } });
  const permissive = runtime(t, { trust: { allowElsewhere: true } });
  t.regex((await refused(t, permissive, domain.domain.origin, 'PF_ERR_INSECURE_REDIRECT')).message, /cdn\.example\.invalid/);
  // Redirects on loopback are followed.
  const local = await redirector(t, (path) => `${domain.domain.origin}${path}`);
  await domain.publish({ edit: (d) => { d.sourcePackageURL = `${local}/stubs/echo-c.wasm`; } });
  t.is((await permissive.deployStub(domain.domain.origin)).status, 'LIVE');
});

test('a source on another origin, or a connect entry outside the domain, needs the domain signature or allowElsewhere (PF_ERR_SIGNATURE_MISSING naming it)', async (t) => {
  const pair = await generateKeyPair();
  const domain = await signedDomain(t, undefined);
  const cdn = await catalogue(t, { default: { component: builtStub('echo-c') } }, { inlineMaxBytes: 0 });
  const cdnSource = `${cdn.origin}/stubs/echo-c.wasm`;
  const rt = runtime(t);

  await domain.publish({ edit: (d) => { d.sourcePackageURL = cdnSource; d.sourceHash = cdn.descriptor('default').sourceHash; } });
  t.true((await refused(t, rt, domain.domain.origin, 'PF_ERR_SIGNATURE_MISSING')).message.includes(cdnSource));
  t.is(cdn.hits('/stubs/echo-c.wasm'), 0, 'the other origin was not asked');

  await domain.publish({ edit: (d) => { d.connect = ['wss://broker.other.example/mqtt']; } });
  t.regex((await refused(t, rt, domain.domain.origin, 'PF_ERR_SIGNATURE_MISSING')).message, /wss:\/\/broker\.other\.example\/mqtt/);

  // Signed by the domain's pinned key, both are the domain's word.
  await domain.publish({ component: pair, descriptor: pair, edit: (d) => { d.connect = ['wss://broker.other.example/mqtt']; } });
  const pinned = runtime(t, pin(domain.domain.domain, keyText(pair)));
  t.is((await pinned.deployStub(domain.domain.origin)).status, 'LIVE');
  // Or the application says so.
  await domain.publish({ edit: (d) => { d.connect = ['wss://broker.other.example/mqtt']; } });
  t.is((await runtime(t, { trust: { allowElsewhere: true } }).deployStub(domain.domain.origin)).status, 'LIVE');
});

test('updateStub refuses an older version with PF_ERR_DOWNGRADE and keeps the running one, unless asked', async (t) => {
  const pair = await generateKeyPair();
  const domain = await signedDomain(t, pair);
  await domain.publish({ component: pair, descriptor: pair, edit: (d) => { d.version = '1.2.0'; } });
  const rt = runtime(t, pin(domain.domain.domain, keyText(pair)));
  const stub = await rt.deployStub(domain.domain.origin);
  // An old signed descriptor served again.
  await domain.publish({ component: pair, descriptor: pair, edit: (d) => { d.version = '1.1.9'; d.configuration = { old: true }; } });
  const error = await t.throwsAsync(rt.updateStub(domain.domain.origin));
  t.is((error as { code?: string }).code, 'PF_ERR_DOWNGRADE');
  t.is(stub.descriptor.version, '1.2.0');
  t.is(stub.status, 'LIVE');
  const taken = await rt.updateStub(domain.domain.origin, { allowDowngrade: true });
  t.is(taken.descriptor.version, '1.1.9');
  t.is(taken.status, 'LIVE');
  // A newer one is an update, a pre-release of the same version is older.
  await domain.publish({ component: pair, descriptor: pair, edit: (d) => { d.version = '1.2.0-rc.1'; } });
  await rt.updateStub(domain.domain.origin, { allowDowngrade: true });
  await domain.publish({ component: pair, descriptor: pair, edit: (d) => { d.version = '1.2.0-rc.0'; } });
  t.is(((await t.throwsAsync(rt.updateStub(domain.domain.origin))) as { code?: string }).code, 'PF_ERR_DOWNGRADE');
  await domain.publish({ component: pair, descriptor: pair, edit: (d) => { d.version = '1.2.0'; } });
  t.is((await rt.updateStub(domain.domain.origin)).descriptor.version, '1.2.0');
});

test('an update signed by another key than the pinned one is refused and the running stub stays', async (t) => {
  const [pair, other] = await Promise.all([generateKeyPair(), generateKeyPair()]);
  const domain = await signedDomain(t, pair);
  const rt = runtime(t, pin(domain.domain.domain, keyText(pair)));
  const stub = await rt.deployStub(domain.domain.origin);
  await domain.publish({ component: other, descriptor: other, edit: (d) => { d.version = '9.0.0'; } });
  t.is(((await t.throwsAsync(rt.updateStub(domain.domain.origin))) as { code?: string }).code, 'PF_ERR_SIGNATURE_UNTRUSTED');
  t.is(stub.status, 'LIVE');
  t.is(stub.descriptor.version, '0.1.0');
});

test('a cached component is checked again when a runtime requires its signature: it is downloaded, not taken on trust', async (t) => {
  const pair = await generateKeyPair();
  const domain = await signedDomain(t, pair);
  // Deployed once without any check: its prepared form is kept in this process.
  await runtime(t).deployStub(domain.domain.origin);
  const downloads = domain.domain.hits(domain.sourcePath);
  const rt = runtime(t, pin(domain.domain.domain, keyText(pair)));
  const seen = steps(rt);
  await rt.deployStub(domain.domain.origin);
  t.is(domain.domain.hits(domain.sourcePath), downloads + 1);
  t.true(seen.includes('loadSource:signature'));
  // Checked once, the same bytes under the same key are not fetched again.
  const again = runtime(t, pin(domain.domain.domain, keyText(pair)));
  await again.deployStub(domain.domain.origin);
  t.is(domain.domain.hits(domain.sourcePath), downloads + 1);
});

test('pinned keys are read when the runtime is made: a malformed one fails createRuntime', (t) => {
  t.throws(() => runtime(t, { trust: { keys: { 'example.com': ['ed25519:not-base64!'] } } }), { code: 'PF_ERR_SIGNATURE_KEY_INVALID' } as never);
});

// Signed stubs from the disk cache (issue 15): who signed a kept component is
// kept beside it, so a new process deploys it as one that checked it would.
// clearComponentCache() is what a new process starts with: nothing prepared
// or checked in memory; what is left is the cache directory.

/** A cache directory of the test's own, removed after it. */
async function cacheDirOf(t: ExecutionContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'protofly-cache-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** The sub-steps among `steps(rt)`. */
const substepsOf = (seen: string[]) => seen.filter((step) => step.includes(':'));

/** A cache directory the signed stub was deployed into once, by a runtime pinning its key. */
async function deployedOnce(t: ExecutionContext) {
  const pair = await generateKeyPair();
  const domain = await signedDomain(t, pair);
  const cacheDir = await cacheDirOf(t);
  const options: CreateRuntimeOptions = { ...pin(domain.domain.domain, keyText(pair)), cacheDir };
  const stub = await runtime(t, options).deployStub(domain.domain.origin);
  t.is(domain.domain.hits(domain.sourcePath), 1);
  // Its cache writes go on in the background: this waits for the record's.
  t.true(await fileCache(cacheDir).has(signedRecord(stub.descriptor.sourceHash, pair)), 'the signer is recorded');
  clearComponentCache();
  return { pair, domain, cacheDir, options };
}

/** The cache entry saying which key signed a source (plugins/trust/plugin.ts). */
const signedRecord = (sourceHash: string, pair: KeyPair) => `signed-${sourceHash}-${keyText(pair).replace(/^ed25519:/, '')}`;

test('a signed stub from the disk cache in a new process is not downloaded again: its signature is not checked again, its descriptor\'s is', async (t) => {
  const { domain, options } = await deployedOnce(t);
  const rt = runtime(t, options);
  const seen = steps(rt);
  t.is((await rt.deployStub(domain.domain.origin)).status, 'LIVE');
  t.deepEqual(substepsOf(seen), ['fetchDescriptor:signature', 'loadSource:cached', 'instantiate:compile']);
  t.is(domain.domain.hits(domain.sourcePath), 1, 'the source was downloaded once');
  t.deepEqual([...rt.errors, ...rt.warnings], []);
});

test('without the record of its signer, a new process downloads the cached signed stub and checks it, and records it again', async (t) => {
  const { domain, cacheDir, options } = await deployedOnce(t);
  const records = (await readdir(cacheDir)).filter((name) => name.startsWith('signed-'));
  t.is(records.length, 1);
  await rm(join(cacheDir, records[0]), { recursive: true });
  const rt = runtime(t, options);
  const seen = steps(rt);
  t.is((await rt.deployStub(domain.domain.origin)).status, 'LIVE');
  t.deepEqual(substepsOf(seen), ['fetchDescriptor:signature', 'loadSource:download', 'loadSource:signature', 'loadSource:integrity', 'instantiate:compile']);
  t.is(domain.domain.hits(domain.sourcePath), 2);

  clearComponentCache();
  await runtime(t, options).deployStub(domain.domain.origin);
  t.is(domain.domain.hits(domain.sourcePath), 2, 'recorded again by the check');
});

test('the disk cache of a signed stub is refused once the domain\'s key is no longer pinned (PF_ERR_SIGNATURE_UNTRUSTED), nothing downloaded or run', async (t) => {
  const { domain, cacheDir } = await deployedOnce(t);
  const other = await generateKeyPair();
  const rt = runtime(t, { ...pin(domain.domain.domain, keyText(other)), cacheDir });
  await refused(t, rt, domain.domain.origin, 'PF_ERR_SIGNATURE_UNTRUSTED');
  t.is(domain.domain.hits(domain.sourcePath), 1);
});

test('a cached component recorded as signed by a key the domain no longer has is downloaded and checked: the new key\'s descriptor cannot vouch for it', async (t) => {
  const { pair, domain, cacheDir } = await deployedOnce(t);
  // The domain now signs with another key; a descriptor signed by it names the old bytes (signed by the old key, recorded so).
  const rotated = await generateKeyPair();
  const descriptor = await domain.publish({ component: pair, descriptor: rotated });
  const rt = runtime(t, { ...pin(domain.domain.domain, keyText(rotated)), cacheDir });
  const error = await refused(t, rt, domain.domain.origin, 'PF_ERR_SIGNATURE_UNTRUSTED');
  t.is((error as { hook?: string }).hook, 'loadSource');
  t.is(domain.domain.hits(domain.sourcePath), 2, 'downloaded to be checked');

  // A record in the new key's name that says otherwise than its name is not taken either.
  const sourceHash = descriptor.sourceHash as string;
  await fileCache(cacheDir).put(signedRecord(sourceHash, rotated), { glue: '', cores: {}, signed: { sourceHash, keys: [keyText(pair)] } });
  clearComponentCache();
  await refused(t, runtime(t, { ...pin(domain.domain.domain, keyText(rotated)), cacheDir }), domain.domain.origin, 'PF_ERR_SIGNATURE_UNTRUSTED');
  t.is(domain.domain.hits(domain.sourcePath), 3);
});

test('with a signed stub kept on disk, bytes changed after signing are still refused (PF_ERR_SIGNATURE_INVALID), and bytes the descriptor does not name are never used', async (t) => {
  const { pair, domain, options } = await deployedOnce(t);
  // The server sends other bytes under the descriptor naming the kept ones: they are not fetched, the kept ones run.
  await domain.publish({ component: pair, descriptor: pair, tamperComponent: (bytes) => { bytes[bytes.length - 40] ^= 0x01; } });
  const rt = runtime(t, options);
  t.is((await rt.deployStub(domain.domain.origin)).status, 'LIVE');
  t.is(domain.domain.hits(domain.sourcePath), 1);
  // A new component, changed after it was signed: nothing kept speaks for it.
  await rt.undeployStub(domain.domain.origin);
  clearComponentCache();
  await domain.publish({ component: pair, descriptor: pair, variant: 'two', tamperComponent: (bytes) => { bytes[bytes.length - 40] ^= 0x01; } });
  await refused(t, runtime(t, options), domain.domain.origin, 'PF_ERR_SIGNATURE_INVALID');
  t.is(domain.domain.hits(domain.sourcePath), 2);
});

test('trust on first use: a new process deploys the remembered key\'s stub from the disk cache without downloading it', async (t) => {
  const pair = await generateKeyPair();
  const domain = await signedDomain(t, pair);
  const dir = await cacheDirOf(t);
  const options: CreateRuntimeOptions = { trust: { firstUse: true, store: join(dir, 'trusted-keys.json') }, cacheDir: join(dir, 'components') };
  const first = await runtime(t, options).deployStub(domain.domain.origin);
  t.true(await fileCache(join(dir, 'components')).has(signedRecord(first.descriptor.sourceHash, pair)));
  clearComponentCache();
  const rt = runtime(t, options);
  const seen = steps(rt);
  t.is((await rt.deployStub(domain.domain.origin)).status, 'LIVE');
  t.deepEqual(substepsOf(seen), ['fetchDescriptor:signature', 'loadSource:cached', 'instantiate:compile']);
  t.is(domain.domain.hits(domain.sourcePath), 1);
});
