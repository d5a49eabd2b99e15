// The package as a user gets it: `npm pack`, installed from the tarball into
// an empty project in a temporary folder (no path back to this clone), then
// the README's promises run there: the Node example (examples/node/
// two-runtimes.mjs, as it is), `protofly demo`, and `serveDomain()` with
// `deployStub`. Needs `npm run build:stubs && npm run build` first (the
// test script's pretest does it) and the npm registry or npm's cache for the
// package's dependencies.
import test from 'ava';
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

// One install for every check: packing and installing is the slow part.
let installed: Promise<string> | undefined;

function install(): Promise<string> {
  installed ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'protofly-installed-'));
    const { stdout } = await run(NPM, ['pack', '--json', '--pack-destination', dir], { cwd: REPO, maxBuffer: 64 * 1024 * 1024 });
    const [{ filename }] = JSON.parse(stdout) as Array<{ filename: string }>;
    const project = join(dir, 'project');
    await run('mkdir', [project]);
    await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'uses-protofly', private: true, type: 'module' }));
    await run(NPM, ['install', join(dir, filename), '--no-audit', '--no-fund', '--prefer-offline'], { cwd: project, maxBuffer: 64 * 1024 * 1024 });
    return project;
  })();
  return installed;
}

test.after.always(async () => {
  const project = await installed?.catch(() => undefined);
  if (project) await rm(join(project, '..'), { recursive: true, force: true });
});

const node = (project: string, args: string[]) => run(process.execPath, args, { cwd: project, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 });

test.serial('the installed package carries its built stubs: README\'s Node example (two runtimes, one message) runs as it is', async (t) => {
  t.timeout(600_000);
  const project = await install();
  await copyFile(join(REPO, 'examples/node/two-runtimes.mjs'), join(project, 'two-runtimes.mjs'));
  const { stdout } = await node(project, ['two-runtimes.mjs']);
  t.regex(stdout, /protostub\/\w+ LIVE/);
  t.regex(stdout, /bob got: \{ text: 'hello, bob' \}/);
  t.false(stdout.includes(REPO), 'nothing came from the clone');
});

test.serial('the installed `protofly demo` deploys in two runtimes and every message arrives', async (t) => {
  t.timeout(600_000);
  const project = await install();
  const { stdout } = await node(project, [join(project, 'node_modules/protofly/bin/protofly.js'), 'demo', '--json', '--count', '200']);
  const result = JSON.parse(stdout) as { status: string; sent: number; received: number };
  t.is(result.status, 'LIVE');
  t.is(result.sent, 200);
  t.is(result.received, 200);
});

test.serial('the installed package serves a domain with each of its built stubs, and deploys it LIVE', async (t) => {
  t.timeout(600_000);
  const project = await install();
  const packed = JSON.parse(await readFile(join(project, 'node_modules/protofly/package.json'), 'utf8')) as { files: string[] };
  const stubs = packed.files.filter((f) => f.startsWith('build/stubs/')).map((f) => f.replace(/^build\/stubs\/|\.wasm$/g, ''));
  t.true(['mqtt', 'mqtt-c', 'nats-rust', 'hostile-loop'].every((s) => stubs.includes(s)), `shipped: ${stubs.join(', ')}`);
  await writeFile(join(project, 'serve.mjs'), `
    import { createRuntime, serveDomain, startEmbeddedBroker, BUILT_STUBS } from 'protofly';
    const user = { username: 'u', password: 'p' };
    const statuses = [];
    for (const stub of ['mqtt', 'mqtt-c']) {
      const broker = await startEmbeddedBroker({ users: { u: 'p' } });
      const url = broker.url;
      const domain = await serveDomain({ brokerURL: url, entries: { default: { component: BUILT_STUBS + stub + '.wasm', configuration: { url }, connect: [url] } } });
      const runtime = createRuntime({ identity: { credentials: { [domain.catalogue.domain]: user } } });
      const record = await runtime.deployStub(domain.catalogue.origin);
      statuses.push(stub + ' ' + record.status);
      await runtime.close();
      await domain.close();
      await broker.close();
    }
    console.log(JSON.stringify(statuses));
  `);
  const { stdout } = await node(project, ['serve.mjs']);
  t.deepEqual(JSON.parse(stdout), ['mqtt LIVE', 'mqtt-c LIVE']);
});
