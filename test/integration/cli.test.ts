// The commands a user types, run as a user runs them: the built CLI.
import test, { type ExecutionContext } from 'ava';
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { DEPLOY_STEPS } from '../../kernel/hooks.ts';
import { verifyDescriptor } from '../../plugins/trust/descriptor-signature.ts';
import { verifyComponent } from '../../plugins/trust/wasm-signature.ts';
import { builtStub } from '../helpers/built.ts';
import { parseOpenMetrics, valueOf } from '../helpers/openmetrics.ts';
import { catalogue } from '../helpers/runtime.ts';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../../bin/protofly.js', import.meta.url));

async function protofly(...args: string[]) {
  return protoflyWith({}, ...args);
}

/** With these environment variables besides the test's own (XDG_CACHE_HOME: a component cache of its own). */
async function protoflyWith(env: Record<string, string>, ...args: string[]) {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { timeout: 60_000, env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

test('protofly demo --json reports LIVE and every message sent was received', async (t) => {
  const { code, stdout } = await protofly('demo', '--json', '--count', '300');
  t.is(code, 0);
  const report = JSON.parse(stdout);
  t.is(report.status, 'LIVE');
  t.is(report.sent, 300);
  t.is(report.received, 300);
  t.regex(report.stubURL, /^hyperty-runtime:\/\/127\.0\.0\.1:\d+\/protostub\/[0-9a-f]{8}$/);
  t.deepEqual(report.steps.map((s: { hook: string }) => s.hook), [...DEPLOY_STEPS]);
  t.true(report.steps.every((s: { ms: number }) => typeof s.ms === 'number' && s.ms >= 0));
  // A first impression is the fast path: the C stub, run without jco.
  t.like(report, { stub: 'mqtt-c', language: 'C', path: 'direct' });
  // The domain signed its stubs with a key made for the run, which both runtimes pinned.
  t.regex(report.publicKey, /^ed25519:[A-Za-z0-9+/]{43}=$/);
});

test('protofly demo --stub mqtt-ts carries the same messages through the TypeScript stub, and names it', async (t) => {
  const { code, stdout } = await protofly('demo', '--json', '--count', '100', '--stub', 'mqtt-ts');
  t.is(code, 0);
  t.like(JSON.parse(stdout), { status: 'LIVE', sent: 100, received: 100, stub: 'mqtt-ts', language: 'TypeScript' });
  const text = await protofly('demo', '--count', '20');
  t.regex(text.stdout, /^sent 20 alice → bob, received 20, in order, \d+ msg\/s through the C stub mqtt-c \(direct path\)$/m);
  t.regex(text.stdout, /^signed by ed25519:[A-Za-z0-9+/]{43}=, pinned in both runtimes$/m);
  const wrong = await protofly('demo', '--stub', 'mqtt-go');
  t.is(wrong.code, 2);
  t.regex(wrong.stderr, /--stub must be one of mqtt-c, mqtt-ts, not "mqtt-go"/);
});

test('protofly deploy <domain> deploys a stub and prints its status', async (t) => {
  const domain = await catalogue(t, { default: { component: builtStub('echo-c') } });
  const { code, stdout } = await protofly('deploy', domain.origin, '--json');
  t.is(code, 0);
  const report = JSON.parse(stdout);
  t.is(report.status, 'LIVE');
  t.true(report.stubURL.startsWith(`hyperty-runtime://${domain.domain}/protostub/`));
});

test('protofly deploy shows a failing deploy with its code and exits non-zero', async (t) => {
  const domain = await catalogue(t, { default: { component: builtStub('echo-c'), configuration: { failInit: true } } });
  const json = await protofly('deploy', domain.origin, '--json');
  t.is(json.code, 1);
  t.like(JSON.parse(json.stdout), { status: 'FAILED', error: { code: 'PF_ERR_STUB_INIT' } });
  const text = await protofly('deploy', domain.origin);
  t.is(text.code, 1);
  t.regex(text.stdout, /status FAILED \(the stub refused to start: init refused by configuration\)/);
  t.regex(text.stderr, /^PF_ERR_STUB_INIT: /m);
});

test('the Node embedding example runs as the README says and bob gets the message', async (t) => {
  const example = fileURLToPath(new URL('../../examples/node/two-runtimes.mjs', import.meta.url));
  const { stdout } = await run(process.execPath, [example], { timeout: 60_000 });
  t.regex(stdout, /LIVE \(direct path\)/);
  t.regex(stdout, /bob got: \{ text: 'hello, bob' \}/);
});

test('protofly stub keygen, sign and verify: a signed component verifies with its key only, refuses a changed byte, and still deploys', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'protofly-sign-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const keyFile = join(dir, 'domain.key');
  const component = join(dir, 'echo-c.wasm');
  await copyFile(builtStub('echo-c'), component);

  const keygen = await protofly('stub', 'keygen', keyFile);
  t.is(keygen.code, 0, keygen.stderr);
  const publicKey = keygen.stdout.trim();
  t.regex(publicKey, /^ed25519:[A-Za-z0-9+/]{43}=$/);
  t.is((await readFile(keyFile)).byteLength, 65, "wasmsign2's key-pair file: 0x81, seed, public key");
  t.is((await stat(keyFile)).mode & 0o077, 0, 'the secret key is readable by its owner only');
  t.like(await protofly('stub', 'keygen', keyFile), { code: 1 }, 'an existing key pair is never overwritten');

  t.like(await protofly('stub', 'sign', component, '--key', keyFile), { code: 0 });
  t.like(await protofly('stub', 'verify', component, '--key', publicKey), { code: 0 });
  const other = await protofly('stub', 'keygen', join(dir, 'other.key'));
  const untrusted = await protofly('stub', 'verify', component, '--key', other.stdout.trim());
  t.is(untrusted.code, 1);
  t.regex(untrusted.stderr, /^PF_ERR_SIGNATURE_UNTRUSTED: /m);
  const unsigned = await protofly('stub', 'verify', builtStub('echo-c'), '--key', publicKey);
  t.regex(unsigned.stderr, /^PF_ERR_SIGNATURE_MISSING: /m);

  // The signature covers every byte after it: the last one changed is caught.
  const signed = await readFile(component);
  const changed = join(dir, 'changed.wasm');
  signed[signed.length - 1] ^= 1;
  await writeFile(changed, signed);
  t.regex((await protofly('stub', 'verify', changed, '--key', publicKey)).stderr, /^PF_ERR_SIGNATURE_INVALID: /m);

  // A signature section first is a custom section like any other: the signed component deploys.
  const domain = await catalogue(t, { default: { component } });
  const deployed = await protofly('deploy', domain.origin, '--json');
  t.like(JSON.parse(deployed.stdout), { status: 'LIVE' });
  // Its descriptor is not signed: a runtime that pins the key refuses it, and one that pins nothing warns.
  const pinned = await protofly('deploy', domain.origin, '--pin', publicKey, '--json');
  t.like(JSON.parse(pinned.stdout), { status: 'FAILED', error: { code: 'PF_ERR_SIGNATURE_MISSING' } });
  t.regex((await protofly('deploy', domain.origin)).stdout, /warning {2}PF_ERR_SIGNATURE_MISSING: the descriptor of /);
});

test('protofly stub build --key signs the component and then the descriptor, whose sourceHash is of the signed bytes', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'protofly-signed-build-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const keyFile = join(dir, 'domain.key');
  const publicKey = (await protofly('stub', 'keygen', keyFile)).stdout.trim();
  t.like(await protofly('stub', 'new', 'signed-echo', '--lang', 'c', '--dir', dir), { code: 0 });
  const built = await protofly('stub', 'build', join(dir, 'signed-echo'), '--key', keyFile);
  t.is(built.code, 0, built.stderr);
  const descriptor = JSON.parse(built.stdout);
  t.like(descriptor.signature, { alg: 'ed25519', key: publicKey });
  await verifyDescriptor(descriptor, [publicKey]);
  const component = join(dir, 'signed-echo', 'build', 'signed-echo.wasm');
  t.like(await protofly('stub', 'verify', component, '--key', publicKey), { code: 0 });
  t.is(descriptor.sourceHash, `sha256-${createHash('sha256').update(await readFile(component)).digest('base64')}`);
  // What the domain declares beside the code is covered: a connect entry added after signing is caught.
  await t.throwsAsync(verifyDescriptor({ ...descriptor, connect: [...descriptor.connect, 'wss://elsewhere.example'] }, [publicKey]), { code: 'PF_ERR_SIGNATURE_INVALID' } as never);
});

// `protofly serve` running in the background until the test stops it; resolves
// once it has printed `until` (stdout and stderr together).
async function serving(t: ExecutionContext, args: string[], until: RegExp) {
  const child = spawn(process.execPath, [CLI, 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve printed no ${until}: ${output}`)), 30_000);
    const read = (chunk: Buffer) => {
      output += chunk;
      if (until.test(output)) { clearTimeout(timer); resolve(); }
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.once('exit', () => reject(new Error(`serve exited: ${output}`)));
  });
  return { output, stop: async () => { child.kill('SIGTERM'); return exited; } };
}

test('protofly serve --key serves signed stubs and descriptors and prints the key to pin, and how', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'protofly-serve-key-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const keyFile = join(dir, 'domain.key');
  const publicKey = (await protofly('stub', 'keygen', keyFile)).stdout.trim();

  const served = await serving(t, ['--port', '0', '--key', keyFile], /createRuntime\(.*\n/);
  const [, origin, domain] = /^serving (http:\/\/(127\.0\.0\.1:\d+)) /m.exec(served.output)!;
  const lines = served.output.split('\n');
  t.true(lines.includes(`stubs and descriptors signed by ${publicKey}; pin it in the runtimes that deploy from here:`), served.output);
  t.true(lines.includes(`  createRuntime({ trust: { keys: { '${domain}': ['${publicKey}'] } } })`), served.output);

  const descriptor = await (await fetch(`${origin}/.well-known/protocolstub/default`)).json() as { sourcePackageURL: string; sourceHash: string };
  t.like(await verifyDescriptor(descriptor, [publicKey]), { key: publicKey });
  const source = new Uint8Array(await (await fetch(new URL(descriptor.sourcePackageURL, origin))).arrayBuffer());
  await verifyComponent(source, [publicKey]);
  t.is(descriptor.sourceHash, `sha256-${createHash('sha256').update(source).digest('base64')}`);

  // `deploy --pin` runs it with the key pinned, both checks printed; another key is refused.
  // (A component cache of its own: serve's runtime keeps the component it checked in the default one.)
  const cache = { XDG_CACHE_HOME: join(dir, 'cache') };
  const pinned = await protoflyWith(cache, 'deploy', origin, '--pin', publicKey);
  t.is(pinned.code, 0, pinned.stderr);
  t.is(pinned.stdout.match(/ {4}signature ✓/g)?.length, 2, pinned.stdout);
  // The next process takes the component from the cache, with the key it was checked under: only the descriptor is checked.
  const cached = await protoflyWith(cache, 'deploy', origin, '--pin', publicKey);
  t.is(cached.code, 0, cached.stderr);
  t.is(cached.stdout.match(/ {4}signature ✓/g)?.length, 1, cached.stdout);
  t.regex(cached.stdout, /loadSource .*\n.* {4}cached /, cached.stdout);
  const otherKey = (await protofly('stub', 'keygen', join(dir, 'other.key'))).stdout.trim();
  const refused = await protofly('deploy', origin, '--pin', otherKey, '--json');
  t.is(refused.code, 1);
  t.like(JSON.parse(refused.stdout), { status: 'FAILED', error: { code: 'PF_ERR_SIGNATURE_UNTRUSTED' } });
  t.is(await served.stop(), 0);
});

test('protofly serve runs the default stub in a runtime of its own and answers GET /metrics with that runtime\'s OpenMetrics text', async (t) => {
  const served = await serving(t, ['--port', '0'], /metrics at \S+\n/);
  const [, stubURL, metricsURL] = /^runtime \S+ runs the default stub, LIVE: (\S+); metrics at (\S+)$/m.exec(served.output) ?? [];
  t.regex(metricsURL ?? served.output, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
  const response = await fetch(metricsURL);
  t.is(response.status, 200);
  t.is(response.headers.get('content-type'), 'application/openmetrics-text; version=1.0.0; charset=utf-8');
  const families = parseOpenMetrics(await response.text());
  const stub = { stub_url: stubURL, domain: new URL(metricsURL).host, name: 'default' };
  t.is(valueOf(families, 'protofly_stub_status', { ...stub, protofly_stub_status: 'LIVE' }), 1);
  t.true(valueOf(families, 'protofly_stub_status_seconds_total', { ...stub, status: 'LIVE' })! > 0);
  t.is(valueOf(families, 'protofly_deploys_total'), 1);
  t.is(await served.stop(), 0);
});

test('protofly serve without --key prints no key; --key without a readable key pair is refused before serving', async (t) => {
  const unsigned = await serving(t, ['--port', '0'], /^serving .*\n/m);
  t.notRegex(unsigned.output, /ed25519:|createRuntime/);
  const descriptor = await (await fetch(`${/^serving (\S+)/m.exec(unsigned.output)![1]}/.well-known/protocolstub/default`)).json() as Record<string, unknown>;
  t.false('signature' in descriptor);
  t.is(await unsigned.stop(), 0);

  const dir = await mkdtemp(join(tmpdir(), 'protofly-serve-key-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const missing = await protofly('serve', '--port', '0', '--key', join(dir, 'no.key'));
  t.is(missing.code, 1);
  t.regex(missing.stderr, /^PF_ERR_KIT_USAGE: .*cannot read the key pair .*no\.key: ENOENT/m);
  // A public key is not a key pair: serving needs the secret half.
  const publicOnly = join(dir, 'domain.pub');
  await writeFile(publicOnly, Uint8Array.of(0x01, ...new Uint8Array(32)));
  const wrong = await protofly('serve', '--port', '0', '--key', publicOnly);
  t.is(wrong.code, 1);
  t.regex(wrong.stderr, /^PF_ERR_SIGNATURE_KEY_INVALID: .*a wasmsign2 secret key is 65 bytes, not 33$/m);
  const bare = await protofly('serve', '--port', '0', '--key');
  t.is(bare.code, 2);
  t.regex(bare.stderr, /--key needs the key pair file/);
});
