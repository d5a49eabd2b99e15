// TLS from a page: the browser trusts its own store, not `transport: { ca }`.
// Chromium on Linux reads authorities from the NSS database under
// $HOME/.pki/nssdb, so the test makes one in a temporary HOME with Debian's
// `certutil` and adds the test CA to it: a page then deploys a stub whose
// broker is mosquitto on wss:// with a certificate from that CA. Without the
// CA the deploy fails — as PF_ERR_BACKEND_UNREACHABLE: a page's WebSocket
// API says nothing of why a connection failed (README, "Use it in Node").
import test, { type ExecutionContext } from 'ava';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { serveDomain } from '../../domain/serve.ts';
import { builtStub } from '../helpers/built.ts';
import { makeCertificates, OPENSSL } from '../helpers/certificates.ts';
import { MOSQUITTO, startMosquitto } from '../helpers/mosquitto.ts';
import { CHROMIUM, launchChromium } from '../helpers/chromium.ts';

const CERTUTIL = '/usr/bin/certutil';
const BUNDLE = fileURLToPath(new URL('../../dist/browser/', import.meta.url));
const USER = { username: 'page', password: 'p4ge' };
const run = promisify(execFile);

const PAGE = `<!doctype html><meta charset="utf-8"><title>protofly over wss</title>
<script type="module">
  import { createRuntime } from '/protofly/protofly.js';
  const params = new URLSearchParams(location.search);
  const runtime = createRuntime({ identity: { credentials: { [params.get('domain')]: ${JSON.stringify(USER)} } } });
  try {
    const stub = await runtime.deployStub(params.get('origin'));
    window.result = { status: stub.status };
  } catch (error) {
    window.result = { code: error.code, message: String(error.message) };
  }
</script>`;

/** The page and the installed-like bundle, from one loopback origin. */
async function servePage(t: ExecutionContext): Promise<string> {
  const types: Record<string, string> = { '.js': 'text/javascript', '.wasm': 'application/wasm', '.html': 'text/html' };
  const server = createServer(async (request, response) => {
    const path = new URL(request.url ?? '/', 'http://x').pathname;
    if (path === '/') return void response.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
    const file = normalize(join(BUNDLE, path.replace(/^\/protofly\//, '')));
    if (!path.startsWith('/protofly/') || !file.startsWith(BUNDLE)) return void response.writeHead(404).end();
    try {
      response.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' }).end(await readFile(file));
    } catch {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

/** A HOME whose NSS database trusts `ca` (or nothing), for Chromium to read. */
async function homeTrusting(ca?: string): Promise<string> {
  const home = mkdtempSync(join(tmpdir(), 'protofly-home-'));
  const db = join(home, '.pki', 'nssdb');
  mkdirSync(db, { recursive: true });
  await run(CERTUTIL, ['-N', '-d', `sql:${db}`, '--empty-password']);
  if (ca) {
    await writeFile(join(home, 'ca.crt'), ca);
    await run(CERTUTIL, ['-A', '-d', `sql:${db}`, '-n', 'protofly test CA', '-t', 'C,,', '-i', join(home, 'ca.crt')]);
  }
  return home;
}

const missing = [CHROMIUM, CERTUTIL, OPENSSL, MOSQUITTO].find((binary) => !existsSync(binary));
const withAll = missing ? (title: string) => test.skip(`${title} — skipped: needs ${missing}`, () => {}) : test.serial;

async function deployFromPage(t: ExecutionContext, trustCA: boolean) {
  const certificates = await makeCertificates();
  t.teardown(() => certificates.dispose());
  const broker = await startMosquitto({ [USER.username]: USER.password }, certificates.good);
  t.teardown(() => broker.dispose());
  const domain = await serveDomain({
    brokerURL: broker.url,
    entries: { default: { component: builtStub('mqtt-c'), configuration: { url: broker.url }, connect: [broker.url] } },
  });
  t.teardown(() => domain.close());
  const pageURL = await servePage(t);
  const home = await homeTrusting(trustCA ? certificates.ca : undefined);
  const context = await launchChromium(t, { ...process.env, HOME: home });
  const page = await context.newPage();
  await page.goto(`${pageURL}?origin=${encodeURIComponent(domain.catalogue.origin)}&domain=${encodeURIComponent(domain.catalogue.domain)}`);
  await page.waitForFunction(() => (window as unknown as { result?: unknown }).result, null, { timeout: 60_000 });
  return page.evaluate(() => (window as unknown as { result: { status?: string; code?: string; message?: string } }).result);
}

withAll('a page deploys a stub whose broker is on wss://, once the browser\'s own store trusts the CA', async (t) => {
  t.timeout(180_000);
  t.deepEqual(await deployFromPage(t, true), { status: 'LIVE' });
});

withAll('a page whose browser does not trust the CA fails the deploy (PF_ERR_BACKEND_UNREACHABLE: the page cannot see why)', async (t) => {
  t.timeout(180_000);
  const result = await deployFromPage(t, false);
  t.is(result.status, undefined);
  t.is(result.code, 'PF_ERR_BACKEND_UNREACHABLE', result.message);
});
