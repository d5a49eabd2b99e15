// A stub's worker gets the host interface and nothing of the host process:
// not its environment, and not its flags — a preload the application runs
// with (a loader, an agent) must not run again inside every stub's worker.
import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { builtStub } from '../helpers/built.ts';

const run = promisify(execFile);
const PACKAGE = pathToFileURL(new URL('../../dist/index.js', import.meta.url).pathname).href;

test('a preload the host process runs with does not run in the stub\'s worker', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'protofly-preload-'));
  const log = join(dir, 'preload.log');
  // Each thread that runs the preload says which it is.
  await writeFile(join(dir, 'preload.mjs'), [
    "import { appendFileSync } from 'node:fs';",
    "import { isMainThread } from 'node:worker_threads';",
    `appendFileSync(${JSON.stringify(log)}, isMainThread ? 'main\\n' : 'worker\\n');`,
  ].join('\n'));
  // The application: the built package, a stub deployed in a worker, one echo.
  await writeFile(join(dir, 'app.mjs'), [
    `import { createRuntime, startCatalogue } from ${JSON.stringify(PACKAGE)};`,
    `const catalogue = await startCatalogue({ entries: { default: { component: ${JSON.stringify(builtStub('echo-c'))} } } });`,
    "const runtime = createRuntime({ cacheDir: false, sandbox: { kind: 'worker' } });",
    'const stub = await runtime.deployStub(catalogue.origin);',
    'const me = `hyperty://${catalogue.domain}/me`;',
    'const echoed = new Promise((resolve) => runtime.bus.addListener(me, (m) => resolve(m.body.text)));',
    "runtime.bus.postMessage({ id: '1', type: 'CREATE', from: me, to: `hyperty://${catalogue.domain}/echo`, body: { text: 'hi' } });",
    'console.log(JSON.stringify({ status: stub.status, echoed: await echoed }));',
    'await runtime.close();',
    'await catalogue.close();',
  ].join('\n'));
  const { stdout } = await run(process.execPath, ['--import', pathToFileURL(join(dir, 'preload.mjs')).href, join(dir, 'app.mjs')], { timeout: 60_000 });
  t.deepEqual(JSON.parse(stdout), { status: 'LIVE', echoed: 'hi' }, 'the stub ran in its worker and answered');
  t.is(await readFile(log, 'utf8'), 'main\n', 'the preload ran once, in the application\'s thread only');
});
