// The package as a user gets it: `npm pack`, installed from the tarball into
// an empty project in a temporary folder (no path back to this clone), then
// the README's promises run there: the Node example (examples/node/
// two-runtimes.mjs, as it is), the README's TypeScript for Node checked with
// `tsc --strict` against the installed types, `protofly demo`, `serveDomain()`
// with `deployStub`, `protofly stub new|build` + `conformance`, and
// `protofly serve --demo` opened in Chromium (the page embeds the installed
// dist/browser/ bundle), and the README's "Embed in a page" files served with
// the README's Content-Security-Policies, deploying in Chromium. Needs `npm run build:stubs && npm run build` first (the
// test script's pretest does it) and the npm registry or npm's cache for the
// package's dependencies.
import test from 'ava';
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { serveDomain } from '../../domain/serve.ts';
import { CHROMIUM, launchChromium } from '../helpers/chromium.ts';

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
    // A Node project in TypeScript has Node's types: the same version this repo builds with.
    const { devDependencies } = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
    await run(NPM, ['install', join(dir, filename), `@types/node@${devDependencies['@types/node']}`, '--no-audit', '--no-fund', '--prefer-offline'],
      { cwd: project, maxBuffer: 64 * 1024 * 1024 });
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
  t.true(['mqtt', 'mqtt-c', 'nats-rust', 'hostile-loop', 'hostile-open'].every((s) => stubs.includes(s)), `shipped: ${stubs.join(', ')}`);
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

/** The fenced blocks under the README heading `heading` (up to the next heading of its level), in order. */
async function readmeBlocks(heading: string): Promise<Array<{ lang: string; text: string }>> {
  const readme = await readFile(join(REPO, 'README.md'), 'utf8');
  const start = readme.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`no heading "${heading}" in README.md`);
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map(([, lang, text]) => ({ lang, text }));
}

/** The first fenced block of `lang` under the README heading `heading`. */
async function readmeBlock(heading: string, lang: string): Promise<string> {
  const block = (await readmeBlocks(heading)).find((b) => b.lang === lang);
  if (!block) throw new Error(`no ${lang || 'plain'} block under "${heading}" in README.md`);
  return block.text;
}

test.serial('the README\'s TypeScript for Node type-checks with tsc --strict against the installed package\'s types', async (t) => {
  t.timeout(600_000);
  const project = await install();
  await writeFile(join(project, 'readme-node.ts'), await readmeBlock('Use it in Node', 'ts'));
  await writeFile(join(project, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { strict: true, noEmit: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', types: ['node'] },
    files: ['readme-node.ts'],
  }));
  // The repo's compiler, the project's files and types: nothing else.
  const tsc = join(REPO, 'node_modules/typescript/bin/tsc');
  const result = await node(project, [tsc, '-p', 'tsconfig.json']).then(() => '', (error: { stdout?: string }) => error.stdout ?? String(error));
  t.is(result, '', 'no type errors');
});

const CLANG = '/usr/bin/clang';
(existsSync(CLANG) ? test.serial : test.skip)(`the installed \`protofly stub new --lang c\`, \`stub build\` and \`conformance\` make a conformant stub${existsSync(CLANG) ? '' : ' — skipped: needs clang'}`, async (t) => {
  t.timeout(600_000);
  const project = await install();
  const cli = join(project, 'node_modules/protofly/bin/protofly.js');
  await node(project, [cli, 'stub', 'new', 'hello', '--lang', 'c']);
  await node(project, [cli, 'stub', 'build', 'hello']);
  const { stdout } = await node(project, [cli, 'conformance', join(project, 'hello/build/hello.wasm')]);
  t.regex(stdout, /conformant: .*hello\.wasm/);
  t.notRegex(stdout, /FAIL/);
});

// What a machine with nothing but Node does: PROTOFLY_CLANG=yowasp stands
// for "no Debian clang" here, where Debian's is installed.
test.serial('the installed `protofly stub build` of a C stub with no Debian clang names @yowasp/clang, and builds a conformant stub once the project installs it', async (t) => {
  t.timeout(900_000);
  const project = await install();
  const cli = join(project, 'node_modules/protofly/bin/protofly.js');
  const withYowasp = (args: string[]) => run(process.execPath, [cli, ...args], {
    cwd: project, timeout: 300_000, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, PROTOFLY_CLANG: 'yowasp' },
  });
  await node(project, [cli, 'stub', 'new', 'hello-yowasp', '--lang', 'c']);
  const refused = await withYowasp(['stub', 'build', 'hello-yowasp']).then(() => undefined, (error: { stderr?: string }) => error);
  t.truthy(refused, 'an optional peer dependency is not installed with the package');
  const command = /npm install --save-dev (@yowasp\/clang@\S+)/.exec(refused!.stderr ?? '');
  t.truthy(command, refused!.stderr);
  await run(NPM, ['install', '--save-dev', command![1], '--no-audit', '--no-fund', '--prefer-offline'], { cwd: project, maxBuffer: 64 * 1024 * 1024 });
  const built = await withYowasp(['stub', 'build', 'hello-yowasp']);
  t.regex(built.stderr, /built .*hello-yowasp\.wasm \(.*@yowasp\/clang 22\./);
  const { stdout } = await node(project, [cli, 'conformance', join(project, 'hello-yowasp/build/hello-yowasp.wasm')]);
  t.regex(stdout, /conformant: .*hello-yowasp\.wasm/);
  t.notRegex(stdout, /FAIL/);
});

(existsSync(CHROMIUM) ? test.serial : test.skip)(`the installed \`protofly serve --demo\` page embeds the installed browser bundle and deploys LIVE in Chromium${existsSync(CHROMIUM) ? '' : ' — skipped: needs chromium'}`, async (t) => {
  t.timeout(600_000);
  const project = await install();
  const [, url] = await serving(t, project, ['serve', '--demo'], /demo at (http:\/\/\S+)/);
  const context = await launchChromium(t);
  const page = await context.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(url);
  await page.waitForFunction(() => {
    const demo = (window as unknown as { protoflyDemo?: { panes: Record<string, { ready?: boolean }> } }).protoflyDemo;
    return demo?.panes.alpha?.ready && demo.panes.beta?.ready;
  }, null, { timeout: 90_000 });
  const statuses = await page.evaluate(() => {
    const demo = (window as unknown as { protoflyDemo: { panes: Record<string, { status: string }> } }).protoflyDemo;
    return [demo.panes.alpha.status, demo.panes.beta.status];
  });
  t.deepEqual(statuses, ['LIVE', 'LIVE']);
  t.deepEqual(pageErrors, []);
});

(existsSync(CHROMIUM) ? test.serial : test.skip)(`the README's "Embed in a page" example, under the README's CSPs, deploys LIVE in Chromium from the installed dist/browser/${existsSync(CHROMIUM) ? '' : ' — skipped: needs chromium'}`, async (t) => {
  t.timeout(600_000);
  const project = await install();
  const bundle = join(project, 'node_modules/protofly/dist/browser');
  const user = { username: 'embedder', password: 'embed-pass' };
  const domain = await serveDomain({ users: { [user.username]: user.password } });
  t.teardown(() => domain.close());
  const [html, script, pagePolicy, workerPolicy] = await readmeBlocks('Embed in a page');
  t.deepEqual([html.lang, script.lang], ['html', 'js']);
  // The README's placeholders, filled in for this domain: nothing else changes.
  const app = script.text.replace("'https://example.com'", `'${domain.catalogue.origin}'`);
  t.not(app, script.text, 'the example names a domain to replace');
  const policy = pagePolicy.text.trim().replace('<the domains> <their brokers>', `${domain.catalogue.origin} ${new URL(domain.brokerURL).origin}`);
  t.not(policy, pagePolicy.text.trim(), 'the page policy has placeholders to fill');
  const site = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': policy }).end(html.text);
      return;
    }
    if (path === '/app.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(app);
      return;
    }
    const name = path.slice('/protofly/'.length);
    if (!path.startsWith('/protofly/') || !/^[\w.-]+$/.test(name)) {
      res.writeHead(404).end();
      return;
    }
    readFile(join(bundle, name)).then((body) => {
      const headers: Record<string, string> = { 'content-type': name.endsWith('.wasm') ? 'application/wasm' : 'text/javascript; charset=utf-8' };
      if (name === 'stub-worker.js') headers['content-security-policy'] = workerPolicy.text.trim();
      res.writeHead(200, headers).end(body);
    }, () => res.writeHead(404).end());
  });
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => site.close(() => resolve())));
  const context = await launchChromium(t);
  const tab = await context.newPage();
  const problems: string[] = [];
  tab.on('pageerror', (error) => problems.push(error.message));
  tab.on('console', (message) => { if (/Content.Security.Policy|Refused to/i.test(message.text())) problems.push(message.text()); });
  const asked: string[] = [];
  tab.on('dialog', (dialog) => {
    asked.push(dialog.message());
    void dialog.accept(/password/.test(dialog.message()) ? user.password : user.username);
  });
  await tab.goto(`http://127.0.0.1:${(site.address() as AddressInfo).port}/`);
  await tab.waitForFunction(() => /LIVE|FAILED|DISCONNECTED/.test(document.body?.textContent ?? ''), null, { timeout: 90_000 });
  t.regex(await tab.evaluate(() => document.body.textContent ?? ''), /^hyperty-runtime:\/\/127\.0\.0\.1:\d+\/protostub\/\S+ LIVE$/);
  t.deepEqual(asked, [`${domain.catalogue.domain} user`, `${domain.catalogue.domain} password`], 'the identity lookup asked once for the domain');
  t.deepEqual(problems, []);
});

/** Starts an installed CLI command that serves until stopped; resolves with the line matching `ready`. */
async function serving(t: import('ava').ExecutionContext, project: string, args: string[], ready: RegExp): Promise<RegExpExecArray> {
  const server = spawn(process.execPath, [join(project, 'node_modules/protofly/bin/protofly.js'), ...args], { cwd: project, stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => { server.kill(); });
  let printed = '';
  return new Promise((resolve, reject) => {
    server.stdout!.on('data', (chunk) => {
      printed += chunk;
      const found = ready.exec(printed);
      if (found) resolve(found);
    });
    server.stderr!.on('data', (chunk) => { printed += chunk; });
    server.once('exit', (code) => reject(new Error(`protofly ${args.join(' ')} exited (${code}): ${printed}`)));
  });
}

test.serial('the installed `protofly serve` serves a domain that the installed `protofly deploy` deploys LIVE', async (t) => {
  t.timeout(600_000);
  const project = await install();
  const [, origin] = await serving(t, project, ['serve', '--user', 'cli', '--password', 'cli-pass'], /serving (http:\/\/\S+)/);
  const { stdout } = await node(project, [join(project, 'node_modules/protofly/bin/protofly.js'), 'deploy', origin, '--json', '--user', 'cli', '--password', 'cli-pass']);
  const result = JSON.parse(stdout) as { status: string; stubURL: string };
  t.is(result.status, 'LIVE');
  t.regex(result.stubURL, /^hyperty-runtime:\/\/127\.0\.0\.1:\d+\/protostub\//);
});

test.serial('the installed `protofly stub build` of a TypeScript stub names what it needs, and builds a conformant stub once the project installs it', async (t) => {
  t.timeout(900_000);
  const project = await install();
  const cli = join(project, 'node_modules/protofly/bin/protofly.js');
  await node(project, [cli, 'stub', 'new', 'hello-ts', '--lang', 'ts']);
  const refused = await node(project, [cli, 'stub', 'build', 'hello-ts']).then(() => undefined, (error: { stderr?: string; code?: number }) => error);
  t.truthy(refused, 'the build cannot succeed without its toolchain');
  // The command it prints, as a user would paste it.
  const command = /npm install --save-dev ([^(]+) \(/.exec(refused!.stderr ?? '');
  t.truthy(command, refused!.stderr);
  t.regex(command![1], /esbuild@[\d.]+/);
  t.regex(command![1], /@bytecodealliance\/componentize-js@[\d.]+/);
  await run(NPM, ['install', '--save-dev', ...command![1].trim().split(/\s+/), '--no-audit', '--no-fund', '--prefer-offline'], { cwd: project, maxBuffer: 64 * 1024 * 1024 });
  await node(project, [cli, 'stub', 'build', 'hello-ts']);
  const { stdout } = await node(project, [cli, 'conformance', join(project, 'hello-ts/build/hello-ts.wasm')]);
  t.regex(stdout, /conformant: .*hello-ts\.wasm/);
});

test.serial('the installed `protofly stub build` of an AssemblyScript stub names what it needs, and builds a conformant stub on the direct path once the project installs it', async (t) => {
  t.timeout(900_000);
  const project = await install();
  const cli = join(project, 'node_modules/protofly/bin/protofly.js');
  await node(project, [cli, 'stub', 'new', 'hello-as', '--lang', 'as']);
  const refused = await node(project, [cli, 'stub', 'build', 'hello-as']).then(() => undefined, (error: { stderr?: string; code?: number }) => error);
  t.truthy(refused, 'the build cannot succeed without its compiler');
  const command = /npm install --save-dev ([^(]+) \(/.exec(refused!.stderr ?? '');
  t.truthy(command, refused!.stderr);
  t.regex(command![1], /^assemblyscript@[\d.]+$/);
  await run(NPM, ['install', '--save-dev', ...command![1].trim().split(/\s+/), '--no-audit', '--no-fund', '--prefer-offline'], { cwd: project, maxBuffer: 64 * 1024 * 1024 });
  const built = await node(project, [cli, 'stub', 'build', 'hello-as']);
  t.regex(built.stderr, /runs on the direct path/);
  const { stdout } = await node(project, [cli, 'conformance', join(project, 'hello-as/build/hello-as.wasm')]);
  t.regex(stdout, /conformant: .*hello-as\.wasm/);
});
