// `protofly serve --demo`: the browser demo on loopback. One origin serves the
// page, the protofly bundle and the demo domain's catalogue; an embedded
// broker carries the messages; a second domain serves a stub that loops
// forever, to show a page surviving it. The demo domain signs its stubs with a
// key made at start, which the page pins; the looping one is left unsigned.
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateKeyPair } from '../plugins/trust/keys.ts';
import { startEmbeddedBroker } from './broker.ts';
import { startCatalogue, type Catalogue } from './catalogue.ts';
import { BUILT_STUBS, DEFAULT_LOCAL_STUB, LOCAL_STUBS } from './serve.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PAGE_DIR = join(ROOT, 'examples', 'browser');
const BUNDLE_DIR = join(ROOT, 'dist', 'browser');

/**
 * What the page must allow, and no more (README, "Embed in a page"):
 * WebAssembly compilation, workers from its own origin, and connections to
 * the domains it deploys from and their brokers.
 */
export function pageCSP(connect: string[]): string {
  return [
    "default-src 'none'",
    "script-src 'self' 'wasm-unsafe-eval'",
    "worker-src 'self'",
    `connect-src 'self' ${connect.join(' ')}`,
    "style-src 'self'",
    "img-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** The stub worker's own policy: it may run the stub's glue and nothing else, and reach no network. */
export const WORKER_CSP = "default-src 'none'; script-src 'self' blob: 'wasm-unsafe-eval'";

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm', '.map': 'application/json', '.png': 'image/png', '.json': 'application/json',
};

export interface DemoServer {
  url: string;
  domain: Catalogue;
  hostile: Catalogue;
  brokerURL: string;
  close(): Promise<void>;
}

export const DEMO_USER = { username: 'demo', password: 'protofly-demo' };

export async function serveDemo(options: { port?: number } = {}): Promise<DemoServer> {
  const broker = await startEmbeddedBroker({ users: { [DEMO_USER.username]: DEMO_USER.password } });
  const hostile = await startCatalogue({
    entries: {
      default: { component: join(BUILT_STUBS, 'hostile-loop.wasm'), limits: { callTimeoutMs: 500 } },
      // Tries a connection its (empty) connect list does not allow.
      open: { component: join(BUILT_STUBS, 'hostile-open.wasm'), connect: [] },
    },
  });
  let csp = '';
  let config = '';
  const domain = await startCatalogue({
    port: options.port,
    sign: await generateKeyPair(),
    entries: { default: { component: join(BUILT_STUBS, LOCAL_STUBS[DEFAULT_LOCAL_STUB].file), name: DEFAULT_LOCAL_STUB, configuration: { url: broker.url }, connect: [broker.url] } },
    extra: (path, req, res) => serveStatic(path, req, res, csp, config),
  });
  csp = pageCSP([broker.url.replace(/\/mqtt$/, ''), hostile.origin]);
  config = JSON.stringify({ origin: domain.origin, domain: domain.domain, publicKey: domain.publicKey, hostileOrigin: hostile.origin, hostileDomain: hostile.domain, credentials: DEMO_USER });
  return {
    url: `${domain.origin}/`,
    domain,
    hostile,
    brokerURL: broker.url,
    async close() {
      await domain.close();
      await hostile.close();
      await broker.close();
    },
  };
}

async function serveStatic(path: string, req: IncomingMessage, res: ServerResponse, csp: string, config: string): Promise<boolean> {
  if (req.method !== 'GET') return false;
  if (path === '/demo-config.json') {
    res.writeHead(200, { 'content-type': TYPES['.json'], 'cache-control': 'no-store' }).end(config);
    return true;
  }
  let file: string | undefined;
  if (path === '/' || path === '/index.html') file = join(PAGE_DIR, 'index.html');
  else if (/^\/[a-z-]+\.(js|css)$/.test(path)) file = join(PAGE_DIR, path);
  else if (path.startsWith('/protofly/')) file = join(BUNDLE_DIR, normalize(path.slice('/protofly/'.length)).replace(/^(\.\.[/\\])+/, ''));
  if (!file || !(file.startsWith(PAGE_DIR) || file.startsWith(BUNDLE_DIR))) return false;
  const body = await readFile(file).catch(() => undefined);
  if (!body) return false;
  const headers: Record<string, string> = { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-cache' };
  if (extname(file) === '.html') headers['content-security-policy'] = csp;
  if (file.endsWith('stub-worker.js')) headers['content-security-policy'] = WORKER_CSP;
  res.writeHead(200, headers).end(body);
  return true;
}
