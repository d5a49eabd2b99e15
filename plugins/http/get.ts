// One bounded HTTP GET for descriptors and sources: a deadline, and a size
// limit enforced while reading, so a hostile server cannot make us buffer
// gigabytes or wait forever.

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
  | { ok: false; reason: 'too-large' };

export async function boundedGet(url: string, options: GetOptions): Promise<GetResult> {
  const signal = AbortSignal.timeout(options.timeoutMs);
  let response: Response;
  try {
    response = await fetch(url, { signal, redirect: 'follow', headers: options.accept ? { accept: options.accept } : {} });
  } catch (error) {
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
