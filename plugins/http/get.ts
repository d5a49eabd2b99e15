// One bounded HTTP GET for descriptors and sources: a deadline, and a size
// limit enforced while reading, so a hostile server cannot make us buffer
// gigabytes or wait forever. Redirects are followed one hop at a time, and
// never to plain http off loopback: what arrives there could be swapped on
// the way.
import { isLoopbackHost } from '../../kernel/address.ts';

export interface GetOptions {
  maxBytes: number;
  timeoutMs: number;
  accept?: string;
}

export type GetResult =
  | { ok: true; bytes: Uint8Array; contentType: string }
  | { ok: false; reason: 'status'; status: number }
  | { ok: false; reason: 'unreachable'; detail: string }
  | { ok: false; reason: 'timeout'; detail: string }
  | { ok: false; reason: 'too-large' }
  | { ok: false; reason: 'insecure-redirect'; from: string; to: string };

const MAX_REDIRECTS = 5;

class InsecureRedirect {
  constructor(readonly from: string, readonly to: string) {}
}

export async function boundedGet(url: string, options: GetOptions): Promise<GetResult> {
  const signal = AbortSignal.timeout(options.timeoutMs);
  let response: Response;
  try {
    response = await fetchFollowing(url, { signal, headers: options.accept ? { accept: options.accept } : {} });
  } catch (error) {
    if (error instanceof InsecureRedirect) return { ok: false, reason: 'insecure-redirect', from: error.from, to: error.to };
    return signal.aborted
      ? { ok: false, reason: 'timeout', detail: `no answer within ${options.timeoutMs} ms` }
      : { ok: false, reason: 'unreachable', detail: causeOf(error) };
  }
  if (!response.ok) {
    await response.body?.cancel().catch(() => {});
    return { ok: false, reason: 'status', status: response.status };
  }
  const declared = Number(response.headers.get('content-length'));
  if (declared > options.maxBytes) {
    await response.body?.cancel().catch(() => {});
    return { ok: false, reason: 'too-large' };
  }
  try {
    // A declared length within the limit is the body's length (HTTP framing
    // holds the server to it): read it in one go. Otherwise count as it comes.
    const bytes = declared > 0 ? new Uint8Array(await response.arrayBuffer()) : await readLimited(response, options.maxBytes);
    if (!bytes) return { ok: false, reason: 'too-large' };
    return { ok: true, bytes, contentType: response.headers.get('content-type') ?? '' };
  } catch (error) {
    return signal.aborted
      ? { ok: false, reason: 'timeout', detail: `no complete answer within ${options.timeoutMs} ms` }
      : { ok: false, reason: 'unreachable', detail: causeOf(error) };
  }
}

async function fetchFollowing(url: string, init: RequestInit): Promise<Response> {
  let current = url;
  for (let hop = 0; ; hop++) {
    const response = await fetch(current, { ...init, redirect: 'manual' });
    if (response.type === 'opaqueredirect') {
      // A page is not told where a redirect goes: its browser follows it
      // (refusing http from an https page itself), and where it landed is checked.
      const followed = await fetch(current, { ...init, redirect: 'follow' });
      if (followed.redirected) checkHop(current, followed.url);
      return followed;
    }
    const location = response.headers.get('location');
    if (response.status < 300 || response.status >= 400 || response.status === 304 || location === null) return response;
    await response.body?.cancel().catch(() => {});
    if (hop === MAX_REDIRECTS) throw new Error(`more than ${MAX_REDIRECTS} redirects from ${url}`);
    const next = new URL(location, current).href;
    checkHop(current, next);
    current = next;
  }
}

function checkHop(from: string, to: string): void {
  const target = new URL(to);
  if (target.protocol === 'https:' || (target.protocol === 'http:' && isLoopbackHost(target.hostname))) return;
  throw new InsecureRedirect(from, to);
}

async function readLimited(response: Response, maxBytes: number): Promise<Uint8Array | undefined> {
  if (!response.body) return new Uint8Array(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => {});
      return undefined;
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

function causeOf(error: unknown): string {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  return cause instanceof Error ? cause.message : String(cause);
}
