// The stub kit as an operator uses it: the built CLI makes, builds, checks
// and serves a stub folder; conformance passes the repo's own stubs and
// names the broken check of stubs that break the contract.
import test from 'ava';
import { existsSync } from 'node:fs';
import { execFile, spawn } from 'node:child_process';
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startEmbeddedBroker } from '../../domain/broker.ts';
import { isProtoflyError } from '../../kernel/errors.ts';
import { buildStub } from '../../kit/build-stub.ts';
import { runConformance, type ConformanceReport } from '../../kit/conformance/run.ts';
import { newStub } from '../../kit/new-stub.ts';
import { sha256Of } from '../../kit/stub-folder.ts';
import { builtStub } from '../helpers/built.ts';
import { MOSQUITTO, startMosquitto } from '../helpers/mosquitto.ts';
import { catalogue, runtime } from '../helpers/runtime.ts';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../../bin/protofly.js', import.meta.url));

async function protofly(...args: string[]) {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { timeout: 110_000, maxBuffer: 16 << 20 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

const work = await mkdtemp(join(tmpdir(), 'protofly-kit-'));
test.after.always(() => rm(work, { recursive: true, force: true }));

// Each skeleton is made and built once, through the CLI, for every test.
const skeletons = new Map<string, Promise<{ dir: string; wasm: string; descriptor: Record<string, unknown>; stderr: string }>>();
function skeleton(lang: 'ts' | 'c' | 'rust' | 'as') {
  let made = skeletons.get(lang);
  if (!made) {
    made = (async () => {
      const name = `hello-${lang}`;
      const created = await protofly('stub', 'new', name, '--lang', lang, '--dir', work);
      if (created.code !== 0) throw new Error(`stub new failed: ${created.stderr}${created.stdout}`);
      const dir = join(work, name);
      const built = await protofly('stub', 'build', dir);
      if (built.code !== 0) throw new Error(`stub build failed: ${built.stderr}${built.stdout}`);
      return { dir, wasm: join(dir, 'build', `${name}.wasm`), descriptor: JSON.parse(built.stdout), stderr: built.stderr };
    })();
    skeletons.set(lang, made);
  }
  return made;
}

const failed = (report: ConformanceReport) => report.checks.filter((c) => !c.ok).map((c) => c.name);

const RUSTC = existsSync('/usr/bin/rustc') && existsSync('/usr/lib/rustlib/wasm32-unknown-unknown');
for (const lang of ['c', 'ts', 'rust', 'as'] as const) {
  const kitTest = lang === 'rust' && !RUSTC ? test.skip : test;
  kitTest(`stub new --lang ${lang} + stub build: the folder builds and the printed descriptor matches the component`, async (t) => {
    const { dir, wasm, descriptor } = await skeleton(lang);
    await access(join(dir, 'README.md'));
    if (lang === 'c') for (const glue of ['protostub.h', 'protostub.c', 'cbor.h', 'cbor.c']) await access(join(dir, glue));
    if (lang === 'rust') for (const glue of ['src/abi.rs', 'src/cbor.rs']) await access(join(dir, glue));
    if (lang === 'as') for (const glue of ['protostub.ts', 'cbor.ts', 'utf8.ts', 'status.ts']) await access(join(dir, glue));
    t.like(descriptor, { name: `hello-${lang}`, version: '0.1.0', sourcePackageURL: `/stubs/hello-${lang}.wasm`, configuration: {}, connect: [] });
    t.is(descriptor.sourceHash, sha256Of(new Uint8Array(await readFile(wasm))));
    t.regex(String(descriptor.sourceHash), /^sha256-[A-Za-z0-9+/]{43}=$/);
    t.regex((await skeleton(lang)).stderr, /runs on the direct path/, 'the author is told which way a runtime calls the stub');
  });

  kitTest(`conformance passes for the ${lang} skeleton as generated`, async (t) => {
    const { wasm } = await skeleton(lang);
    const { code, stdout } = await protofly('conformance', wasm, '--json');
    const report = JSON.parse(stdout) as ConformanceReport;
    t.deepEqual(failed(report), [], JSON.stringify(report, null, 2));
    t.is(code, 0);
    t.is(report.component, wasm);
    t.regex(report.checks.find((c) => c.name === 'handles-valid-messages')!.detail, /SUBSCRIBE answered with code 200/);
    t.true(report.checks.some((c) => c.name === 'goes-live' && c.ok && !c.skipped));
  });
}

test('stub build --inline prints a descriptor with the component inside, which a runtime deploys from that one request', async (t) => {
  const { dir, wasm } = await skeleton('c');
  const built = await protofly('stub', 'build', dir, '--inline');
  t.is(built.code, 0, built.stderr);
  const descriptor = JSON.parse(built.stdout) as Record<string, unknown> & { sourcePackage: { encoding: string; sourceCode: string } };
  const component = new Uint8Array(await readFile(wasm));
  t.is(descriptor.sourcePackageURL, '/sourcePackage');
  t.is(descriptor.sourcePackage.encoding, 'base64');
  t.deepEqual(new Uint8Array(Buffer.from(descriptor.sourcePackage.sourceCode, 'base64')), component);
  t.is(descriptor.sourceHash, sha256Of(component));

  // Served as it was printed, from a domain that has no component file at all.
  const domain = await catalogue(t, {});
  domain.override('/.well-known/protocolstub/default', { body: descriptor });
  const stub = await runtime(t).deployStub(domain.origin);
  t.is(stub.status, 'LIVE');
  t.is(domain.hits('/.well-known/protocolstub/default'), 1);
});

test('stub new refuses a folder that exists and a language it has no template for', async (t) => {
  const { dir } = await skeleton('c');
  const again = await newStub({ name: 'hello-c', lang: 'c', parent: work }).catch((e) => e);
  t.true(isProtoflyError(again, 'PF_ERR_KIT_EXISTS'), String(again));
  const cobol = await newStub({ name: 'x', lang: 'cobol', parent: work }).catch((e) => e);
  t.true(isProtoflyError(cobol, 'PF_ERR_KIT_USAGE'));
  const text = await protofly('stub', 'new', 'hello-c', '--lang', 'c', '--dir', work);
  t.is(text.code, 1);
  t.regex(text.stderr, /^PF_ERR_KIT_EXISTS: /m);
  t.truthy(dir);
});

test('conformance passes echo-c (no back-end: LIVE is checked without one)', async (t) => {
  const report = await runConformance(builtStub('echo-c'));
  t.deepEqual(failed(report), []);
  t.true(report.ok);
  t.like(report.checks.find((c) => c.name === 'survives-malformed-frames'), { ok: true, skipped: true });
});

test('conformance passes the MQTT stub against the embedded aedes broker, with credentials', async (t) => {
  const broker = await startEmbeddedBroker({ users: { alice: 's3cret' } });
  t.teardown(() => broker.close());
  const report = await runConformance(builtStub('mqtt'), { brokerURL: broker.url, user: 'alice', password: 's3cret' });
  t.deepEqual(failed(report), [], JSON.stringify(report, null, 2));
  t.like(report.checks.find((c) => c.name === 'survives-malformed-frames'), { ok: true, skipped: undefined });
  t.like(report.checks.find((c) => c.name === 'goes-live'), { ok: true, skipped: undefined });
  // The same stub with a wrong password: only the LIVE check can tell.
  const refused = await runConformance(builtStub('mqtt'), { brokerURL: broker.url, user: 'alice', password: 'wrong' });
  t.deepEqual(failed(refused), ['goes-live']);
  t.regex(refused.checks.find((c) => c.name === 'goes-live')!.detail, /PF_ERR_LOGIN/);
});

test('conformance --json passes the MQTT stub against mosquitto', async (t) => {
  if (!(await access(MOSQUITTO).then(() => true, () => false))) return t.pass('mosquitto is not installed');
  const mosquitto = await startMosquitto({ bob: 'pa55' });
  t.teardown(() => mosquitto.dispose());
  const { code, stdout } = await protofly('conformance', builtStub('mqtt'), '--broker', mosquitto.url, '--user', 'bob', '--password', 'pa55', '--json');
  const report = JSON.parse(stdout) as ConformanceReport;
  t.deepEqual(failed(report), [], JSON.stringify(report, null, 2));
  t.is(code, 0);
});

test('without --broker, a stub that needs a back-end has its LIVE check skipped, not failed', async (t) => {
  const { code, stdout } = await protofly('conformance', builtStub('mqtt'));
  t.is(code, 0);
  t.regex(stdout, /^SKIP {2}goes-live +the stub opens a connection/m);
  t.regex(stdout, /^PASS {2}survives-malformed-frames/m);
});

// Stubs made with the kit and then broken the way real stubs get broken.
async function brokenStub(name: string, edit: (source: string) => string): Promise<string> {
  const dir = await newStub({ name, lang: 'c', parent: work });
  const source = join(dir, 'stub.c');
  const original = await readFile(source, 'utf8');
  const changed = edit(original);
  if (changed === original) throw new Error(`${name}: the edit changed nothing`);
  await writeFile(source, changed);
  return (await buildStub(dir)).path;
}

test('conformance fails a stub whose status is not from its own stubURL, naming status-shape', async (t) => {
  const wasm = await brokenStub('wrong-from', (s) => s.replace(
    'pf_post_status(stub_url, "LIVE"',
    'pf_post_status(PF_STR("hyperty-runtime://elsewhere.example/protostub/1"), "LIVE"',
  ));
  const report = await runConformance(wasm);
  t.false(report.ok);
  t.true(failed(report).includes('status-shape'));
  t.regex(report.checks.find((c) => c.name === 'status-shape')!.detail, /from is "hyperty-runtime:\/\/elsewhere\.example\/protostub\/1", not the stub's own URL/);
  const cli = await protofly('conformance', wasm);
  t.is(cli.code, 1);
  t.regex(cli.stdout, /^FAIL {2}status-shape /m);
});

test('conformance fails a stub whose init traps, naming the init checks', async (t) => {
  const wasm = await brokenStub('trapping-init', (s) => s.replace(
    'int stub_init(const uint8_t *config, size_t len, pf_str *err) {\n',
    'int stub_init(const uint8_t *config, size_t len, pf_str *err) {\n  __builtin_trap();\n',
  ));
  const report = await runConformance(wasm);
  t.false(report.ok);
  t.like(report.checks.find((c) => c.name === 'init-accepts-config'), { ok: false });
  t.regex(report.checks.find((c) => c.name === 'init-accepts-config')!.detail, /^init trapped on the documented config/);
  t.regex(report.checks.find((c) => c.name === 'init-refuses-garbage')!.detail, /trapped on bytes that are not CBOR/);
  t.like(report.checks.find((c) => c.name === 'wit-shape'), { ok: true });
});

test('conformance fails a stub that traps on a malformed batch, naming survives-malformed-batches', async (t) => {
  // A stub that trusts its input: traps where a careful one logs and skips.
  const wasm = await brokenStub('trusting', (s) => s.replace(
    '    pf_logz(PF_WARN, "trusting: batch is not a CBOR array, skipped");\n',
    '    __builtin_trap();\n',
  ));
  const report = await runConformance(wasm);
  t.deepEqual(failed(report), ['survives-malformed-batches']);
  t.regex(report.checks.find((c) => c.name === 'survives-malformed-batches')!.detail, /^trapped on no bytes at all: PF_ERR_STUB_TRAP/);
});

test('conformance on a stub that loops forever ends at its deadline with a failing check, not a hang', async (t) => {
  const wasm = await brokenStub('looping', (s) => s.replace(
    '    pf_logz(PF_WARN, "looping: batch is not a CBOR array, skipped");\n',
    '    { volatile int spin = 1; while (spin) {} }\n',
  ));
  const started = Date.now();
  const cli = await protofly('conformance', wasm, '--timeout', '8', '--json');
  t.is(cli.code, 1);
  const report = JSON.parse(cli.stdout);
  t.false(report.ok);
  t.like(report.checks[0], { name: 'completes', ok: false });
  t.regex(report.checks[0].detail, /never returned/);
  t.true(Date.now() - started < 30_000);
});

test('protofly serve <dir> serves the built stub folder as a domain a runtime deploys from', async (t) => {
  const { dir, wasm } = await skeleton('c');
  const child = spawn(process.execPath, [CLI, 'serve', dir, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
  let output = '';
  const origin = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve printed no origin: ${output}`)), 30_000);
    child.stdout.on('data', (chunk) => {
      output += chunk;
      const match = /serving (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match) { clearTimeout(timer); resolve(match[1]); }
    });
    child.stderr.on('data', (chunk) => { output += chunk; });
    child.once('exit', () => reject(new Error(`serve exited: ${output}`)));
  });
  const descriptor = await (await fetch(`${origin}/.well-known/protocolstub/default`)).json() as Record<string, unknown>;
  t.like(descriptor, { name: 'hello-c', sourceHash: sha256Of(new Uint8Array(await readFile(wasm))) });
  t.regex(String((descriptor.configuration as { url: string }).url), /^ws:\/\/127\.0\.0\.1:\d+\/mqtt$/);
  const rt = runtime(t);
  const stub = await rt.deployStub(origin);
  t.is(stub.status, 'LIVE');
  t.true(stub.stubURL.startsWith(`hyperty-runtime://${new URL(origin).host}/protostub/`));
  child.kill('SIGTERM');
  t.is(await exited, 0);
});

test('protofly serve <dir> on a folder that was never built says so', async (t) => {
  const dir = await newStub({ name: 'never-built', lang: 'c', parent: work });
  const { code, stderr } = await protofly('serve', dir, '--port', '0');
  t.is(code, 1);
  t.regex(stderr, /^PF_ERR_KIT_NOT_BUILT: .*never-built\.wasm does not exist yet/m);
});
