// A domain's catalogue over real HTTP: protocol stub descriptors at the
// well-known URI and the stub components they point to.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename } from 'node:path';
import { INLINE_SOURCE, type Descriptor } from '../kernel/schemas.ts';
import { signDescriptor } from '../plugins/trust/descriptor-signature.ts';
import { publicKeyToText, type KeyPair } from '../plugins/trust/keys.ts';
import { signComponent } from '../plugins/trust/wasm-signature.ts';

export interface CatalogueEntry {
  /** Path of the built component (`build/stubs/mqtt.wasm`). */
  component: string;
  version?: string;
  configuration?: Record<string, unknown>;
  connect?: string[];
  limits?: Descriptor['limits'];
  [field: string]: unknown;
}

/** What tests (and curious operators) can make a descriptor path answer instead. */
export interface Override {
  status?: number;
  body?: string | Uint8Array | Record<string, unknown>;
  delayMs?: number;
}

export interface Catalogue {
  /** `http://127.0.0.1:PORT` — give this to `deployStub`. */
  origin: string;
  /** The domain's name in addresses: `127.0.0.1:PORT`. */
  domain: string;
  /** The key the stubs and descriptors are signed with, `ed25519:<base64>`, to pin in runtimes; absent when unsigned. */
  publicKey?: string;
  /** Requests served, by path (without query). */
  hits(path: string): number;
  descriptor(name: string): Record<string, unknown>;
  override(path: string, override: Override | undefined): void;
  close(): Promise<void>;
}

export interface CatalogueOptions {
  host?: string;
  port?: number;
  /** Descriptor name (`default`, `echo`…) → what it describes. */
  entries: Record<string, CatalogueEntry>;
  /** Receives POST/DELETE of the optional domain registry (seed step 7). */
  registry?: boolean;
  /**
   * Components up to this size travel inside their descriptor (reTHINK's
   * `"sourcePackageURL": "/sourcePackage"`), so they deploy in one round
   * trip instead of two. Default 64 KiB; 0 serves every one by URL.
   */
  inlineMaxBytes?: number;
  /**
   * The domain's key pair: every component is signed with it (a wasmsign2
   * `signature` section) and every descriptor too, over all it declares.
   */
  sign?: KeyPair;
  /** Extra requests (a demo page, its scripts) answered before the catalogue's own. */
  extra?: (path: string, req: IncomingMessage, res: ServerResponse) => Promise<boolean> | boolean;
}

// A page on another origin deploys from here too: descriptors and components
// are public, read-only, and carry their own integrity check.
const PUBLIC = { 'access-control-allow-origin': '*' };

export const WELL_KNOWN = '/.well-known/protocolstub/';

export async function startCatalogue(options: CatalogueOptions): Promise<Catalogue> {
  const descriptors = new Map<string, Record<string, unknown>>();
  const inlineMaxBytes = options.inlineMaxBytes ?? 64 * 1024;
  const sources = new Map<string, Uint8Array>();
  // Read (and signed) once a file: a local domain serves its chosen stub
  // under two names, `default` and its own.
  const read = new Map<string, Promise<Uint8Array>>();
  const componentOf = (path: string) => {
    if (!read.has(path)) read.set(path, readFile(path).then((bytes) => options.sign ? signComponent(bytes, options.sign) : bytes));
    return read.get(path)!;
  };
  for (const [name, entry] of Object.entries(options.entries)) {
    const { component, version, configuration, connect, ...rest } = entry;
    // Signed before it is hashed: the sourceHash is of the bytes served.
    const signed = await componentOf(component);
    const bytes = Buffer.from(signed.buffer, signed.byteOffset, signed.byteLength);
    const file = `/stubs/${basename(component)}`;
    sources.set(file, bytes);
    const inline = bytes.byteLength <= inlineMaxBytes;
    const descriptor = {
      name, version: version ?? '0.1.0',
      sourcePackageURL: inline ? INLINE_SOURCE : file,
      ...(inline ? { sourcePackage: { encoding: 'base64', sourceCode: bytes.toString('base64') } } : {}),
      sourceHash: `sha256-${createHash('sha256').update(bytes).digest('base64')}`,
      configuration: configuration ?? {},
      connect: connect ?? [],
      ...rest,
    };
    // Signed last, over what a runtime reads: the JSON as served (a field
    // left undefined is not in it).
    descriptors.set(name, options.sign ? await signDescriptor(JSON.parse(JSON.stringify(descriptor)), options.sign) : descriptor);
  }
  // Written once: a descriptor with its component inline is tens of KiB.
  const served = new Map([...descriptors].map(([name, d]) => [name, JSON.stringify(d, null, 2)]));
  const hits = new Map<string, number>();
  const overrides = new Map<string, Override>();
  const registrations = new Map<string, unknown>();

  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const override = overrides.get(path);
    // A stalled answer ends with its client: no timer outlives the request.
    if (override?.delayMs) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, override.delayMs);
        res.once('close', () => { clearTimeout(timer); resolve(); });
      });
    }
    if (res.destroyed) return;
    if (override && (override.status !== undefined || override.body !== undefined)) {
      const body = override.body;
      const payload = body === undefined ? '' : typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body);
      res.writeHead(override.status ?? 200, { 'content-type': typeof body === 'object' && !(body instanceof Uint8Array) ? 'application/json' : 'application/octet-stream', ...PUBLIC });
      res.end(payload);
      return;
    }
    if (options.registry && path === '/registry') return registry(req, res);
    if (options.extra && await options.extra(path, req, res)) return;
    if (req.method !== 'GET') return void res.writeHead(405).end();
    if (path.startsWith(WELL_KNOWN)) {
      const descriptor = served.get(decodeURIComponent(path.slice(WELL_KNOWN.length)));
      if (!descriptor) return void res.writeHead(404, { 'content-type': 'text/plain', ...PUBLIC }).end('no such protocol stub');
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache', ...PUBLIC });
      return void res.end(descriptor);
    }
    const source = sources.get(path);
    if (source) {
      res.writeHead(200, { 'content-type': 'application/wasm', 'content-length': source.byteLength, ...PUBLIC });
      return void res.end(source);
    }
    res.writeHead(404).end();
  });

  async function registry(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.method === 'POST') {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const entry = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { stubURL: string };
      registrations.set(entry.stubURL, entry);
      return void res.writeHead(201).end();
    }
    if (req.method === 'DELETE') {
      registrations.delete(url.searchParams.get('stubURL') ?? '');
      return void res.writeHead(204).end();
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify([...registrations.values()]));
  }

  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://${host}:${port}`,
    domain: `${host}:${port}`,
    publicKey: options.sign && publicKeyToText(options.sign.publicKey),
    hits: (path) => hits.get(path) ?? 0,
    descriptor: (name) => structuredClone(descriptors.get(name)!),
    override(path, value) {
      if (value) overrides.set(path, value);
      else overrides.delete(path);
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
