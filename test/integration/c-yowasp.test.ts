// C stubs built with @yowasp/clang (clang and wasm-ld compiled to
// WebAssembly: what a machine with nothing but Node builds them with) keep
// the contract as Debian's clang's do. PROTOFLY_CLANG=yowasp asks for it, so
// these run here too, where Debian's clang is installed.
import test from 'ava';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedBroker } from '../../domain/broker.ts';
import { buildStub } from '../../kit/build-stub.ts';
import { runConformance, type ConformanceReport } from '../../kit/conformance/run.ts';
import { newStub } from '../../kit/new-stub.ts';
import { buildStubDir } from '../../stubs/toolchain/build-dir.ts';
import { chooseClang } from '../../stubs/toolchain/clang-choice.ts';
import { YOWASP_CLANG, YOWASP_INSTALL, yowaspClang } from '../../stubs/toolchain/clang-yowasp.ts';
import { STUBS_DIR } from '../../stubs/toolchain/paths.ts';
import { catalogue, inbox, runtime } from '../helpers/runtime.ts';

process.env.PROTOFLY_CLANG = 'yowasp';

const installed = Boolean(await yowaspClang());
const yowaspTest = installed ? test.serial : test.skip;
const unless = installed ? '' : ` — skipped: ${YOWASP_CLANG.name} is not installed (${YOWASP_INSTALL})`;
// The first build in a process loads and warms up the 100 MiB compiler
// (≈10–40 s on two busy cores); the ones after take seconds.
const BUILD_MS = 300_000;
const BY_YOWASP = /^@yowasp\/clang 22\.[^ ]+ \(clang in WebAssembly\)$/;

const work = await mkdtemp(join(tmpdir(), 'protofly-yowasp-'));
test.after.always(() => rm(work, { recursive: true, force: true }));

async function buildRepoStub(name: string): Promise<{ path: string; compiler?: string }> {
  const { component, compiler } = await buildStubDir(join(STUBS_DIR, name));
  const path = join(work, `${name}.wasm`);
  await writeFile(path, component);
  return { path, compiler };
}

const failed = (report: ConformanceReport) => report.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);

yowaspTest(`echo-c built with @yowasp/clang passes conformance and echoes a message through a runtime${unless}`, async (t) => {
  t.timeout(BUILD_MS);
  const { path, compiler } = await buildRepoStub('echo-c');
  t.regex(compiler ?? '', BY_YOWASP, 'the build says which clang made it');
  const report = await runConformance(path);
  t.deepEqual(failed(report), []);

  const domain = await catalogue(t, { default: { component: path } });
  const rt = runtime(t);
  const me = `hyperty://${domain.domain}/me`;
  const replies = inbox(rt, me);
  t.is((await rt.deployStub(domain.origin)).status, 'LIVE');
  rt.bus.postMessage({ id: 'y1', type: 'CREATE', from: me, to: `hyperty://${domain.domain}/echo`, body: { text: 'built in WebAssembly ✓' } });
  await replies.waitFor(1);
  t.like(replies.messages[0], { id: 'y1', type: 'RESPONSE', from: `hyperty://${domain.domain}/echo`, body: { text: 'built in WebAssembly ✓' } });
});

yowaspTest(`mqtt-c built with @yowasp/clang passes conformance against the embedded broker${unless}`, async (t) => {
  t.timeout(BUILD_MS);
  const { path, compiler } = await buildRepoStub('mqtt-c');
  t.regex(compiler ?? '', BY_YOWASP);
  const broker = await startEmbeddedBroker({ users: { yowasp: 'pw' } });
  t.teardown(() => broker.close());
  const report = await runConformance(path, { brokerURL: broker.url, user: 'yowasp', password: 'pw' });
  t.deepEqual(failed(report), []);
  t.like(report.checks.find((c) => c.name === 'goes-live'), { ok: true, skipped: undefined });
});

yowaspTest(`a stub made by \`stub new --lang c\` builds with @yowasp/clang and passes conformance${unless}`, async (t) => {
  t.timeout(BUILD_MS);
  const dir = await newStub({ name: 'hello-yowasp', lang: 'c', parent: work });
  const built = await buildStub(dir);
  t.regex(built.compiler ?? '', BY_YOWASP);
  t.deepEqual(failed(await runConformance(built.path)), []);
});

yowaspTest(`a hostile fixture, whose includes climb out of its folder ("../hostile-common/hostile.h"), builds with @yowasp/clang${unless}`, async (t) => {
  t.timeout(BUILD_MS);
  const { path } = await buildRepoStub('hostile-trap');
  t.true((await readFile(path)).byteLength > 0);
});

yowaspTest(`a compile error from @yowasp/clang names the source at its path on this machine${unless}`, async (t) => {
  t.timeout(BUILD_MS);
  const dir = await newStub({ name: 'broken-yowasp', lang: 'c', parent: work });
  const source = join(dir, 'stub.c');
  await writeFile(source, `${await readFile(source, 'utf8')}\nint broken(void) { return no_such_name; }\n`);
  const error = await buildStub(dir).then(() => undefined, (e: Error) => e);
  t.truthy(error, 'the build fails');
  t.regex(error!.message, /clang \(@yowasp\/clang\) failed/);
  t.true(error!.message.includes(`${source}:`), error!.message);
  t.regex(error!.message, /undeclared identifier 'no_such_name'/);
});

test('with no clang at the Debian path, C stubs are built with @yowasp/clang, and the build says why', async (t) => {
  const missing = join(work, 'no-such-clang');
  // '' is PROTOFLY_CLANG unset: this file sets it to yowasp for the builds.
  if (!installed) {
    const error = await chooseClang('', missing).then(() => undefined, (e: Error) => e);
    t.regex(error?.message ?? '', /apt-get install clang lld.*npm install --save-dev @yowasp\/clang@/);
    return;
  }
  const clang = await chooseClang('', missing);
  t.is(clang.name, `${(await yowaspClang())!.name}; no clang at ${missing}`);
});

test('PROTOFLY_CLANG naming a clang that is not there fails the build, naming both ways to get one', async (t) => {
  const missing = join(work, 'no-such-clang');
  const error = await chooseClang(missing).then(() => undefined, (e: Error) => e);
  t.regex(error?.message ?? '', new RegExp(`PROTOFLY_CLANG=${missing}, but no clang at ${missing}`));
  t.regex(error!.message, /apt-get install clang lld/);
  t.regex(error!.message, /PROTOFLY_CLANG=yowasp/);
});
