// Every error protofly raises, in one place, each with a stable code.
// Users match on `code`, never on the message.

export const ERRORS = {
  PF_ERR_NO_HANDLER: (hook: string) => `no plugin answered the "${hook}" hook`,
  PF_ERR_PLUGIN: (hook: string, detail: string, plugin?: string) => `${plugin ?? 'a plugin'} failed at "${hook}": ${detail}`,
  // Reported on the `error` hook, never thrown: the hook went on as if the tap had answered nothing (kernel/hook-policy.ts).
  PF_ERR_OPTIONAL_PLUGIN: (plugin: string, hook: string, detail: string) => `${plugin} failed at "${hook}" and the hook went on without it (its policy is optional): ${detail}`,
  PF_ERR_HOOK_POLICY: (detail: string) => `hookPolicy: ${detail}`,
  PF_ERR_DOMAIN_INVALID: (domain: string) => `"${domain}" is not a domain or an origin`,
  PF_ERR_STUB_NAME: (name: string) => `"${name}" is not a stub name: 1 to 64 letters, digits, ".", "_", "~" or "-"`,
  PF_ERR_INSECURE_ORIGIN: (origin: string) => `plain http is allowed for loopback only, not ${origin}`,
  PF_ERR_DESCRIPTOR_NOT_FOUND: (url: string) => `no protocol stub descriptor at ${url}`,
  PF_ERR_DESCRIPTOR_UNREACHABLE: (url: string) => `the descriptor server at ${url} did not answer`,
  PF_ERR_DESCRIPTOR_TIMEOUT: (url: string, ms: number) => `the descriptor server at ${url} did not answer within ${ms} ms`,
  PF_ERR_DESCRIPTOR_INVALID: (detail: string) => `the protocol stub descriptor is invalid: ${detail}`,
  PF_ERR_TOO_LARGE: (what: string, limit: number) => `${what} is larger than the ${limit}-byte limit`,
  PF_ERR_FRAME_TOO_LARGE: (url: string, limit: number) => `a frame from ${url} is larger than the ${limit}-byte limit (limits.maxFrameBytes): the connection was closed`,
  PF_ERR_INBOUND_FULL: (url: string, bytes: number, frames: number) => `${url} sent more than the stub took (${bytes} bytes in ${frames} frames waiting, limits.maxInboundBytes/maxInboundFrames) where the connection cannot be paused: it was closed`,
  PF_ERR_TLS: (url: string, detail: string) => `the TLS connection to ${url} failed: ${detail}`,
  PF_ERR_INSECURE_REDIRECT: (from: string, to: string) => `${from} redirects to ${to}: plain http is followed for loopback only`,
  PF_ERR_SOURCE_UNREACHABLE: (url: string) => `the stub source at ${url} could not be downloaded`,
  PF_ERR_INTEGRITY: (expected: string, actual: string) => `the stub source hash ${actual} does not match the descriptor's ${expected}`,
  PF_ERR_CACHE_WRITE: (detail: string) => `a prepared component could not be kept in the cache (the deploy went on without it): ${detail}`,
  // Signed stubs (plugins/trust). `what` names the signed thing: "the component", "the descriptor".
  PF_ERR_SIGNATURE_MISSING: (what: string, detail: string) => `${what} is not signed: ${detail}`,
  PF_ERR_SIGNATURE_INVALID: (what: string, detail: string) => `the signature of ${what} is invalid: ${detail}`,
  PF_ERR_SIGNATURE_UNTRUSTED: (what: string, keys: number) => `${what} is signed, but by none of the ${keys} trusted key${keys === 1 ? '' : 's'}`,
  PF_ERR_SIGNATURE_KEY_CHANGED: (domain: string, pinned: string, presented: string) => `${domain} now signs with ${presented}, not with ${pinned} as before`,
  PF_ERR_SIGNATURE_KEY_INVALID: (detail: string) => `not a usable Ed25519 key: ${detail}`,
  PF_ERR_DOWNGRADE: (domain: string, running: string, offered: string) => `${domain} offers version ${offered}, older than the running ${running}: updateStub(domain, { allowDowngrade: true }) to take it`,
  PF_ERR_COMPONENT_INVALID: (detail: string) => `the stub is not a valid protofly:stub@0.1.0 component: ${detail}`,
  PF_ERR_STUB_INIT: (detail: string) => `the stub refused to start: ${detail}`,
  PF_ERR_STUB_TRAP: (detail: string) => `the stub crashed: ${detail}`,
  PF_ERR_STUB_TIMEOUT: (what: string, ms: number) => `the stub's ${what} ran longer than ${ms} ms and was stopped`,
  PF_ERR_ABI: (detail: string) => `the stub broke the canonical ABI: ${detail}`,
  PF_ERR_STUB_MEMORY: (detail: string) => `the stub ran out of memory: ${detail}`,
  PF_ERR_WORKER_LOST: (detail: string) => `the worker this stub shared went down: ${detail}`,
  PF_ERR_STUB_FLOOD: (detail: string) => `the stub was cut off for flooding the bus: ${detail}`,
  PF_ERR_QUEUE_FULL: (stubURL: string, size: number) => `${size} messages already wait for ${stubURL}`,
  PF_ERR_GAVE_UP: (stubURL: string, restarts: number, reason: string) => `${stubURL} was given up after ${restarts} restarts: ${reason}`,
  PF_ERR_LOGIN: (detail: string) => `the domain refused the stub's login: ${detail}`,
  PF_ERR_BACKEND_UNREACHABLE: (detail: string) => `the stub could not reach its back-end: ${detail}`,
  PF_ERR_LIVE_TIMEOUT: (ms: number) => `the stub did not report LIVE within ${ms} ms`,
  PF_ERR_CONNECT_REFUSED: (url: string) => `the stub may not open ${url}: it is outside the descriptor's connect list`,
  PF_ERR_CONNECTION_LIMIT: (url: string, limit: number) => `the stub may not open ${url}: it holds ${limit} connections already (maxConnections)`,
  PF_ERR_MESSAGE_INVALID: (detail: string) => `invalid message: ${detail}`,
  PF_ERR_CBOR: (detail: string) => `invalid CBOR: ${detail}`,
  PF_ERR_NO_ROUTE: (address: string) => `nobody listens on ${address}`,
  PF_ERR_SPOOFED: (from: string, stubURL: string) => `${stubURL} may not send as ${from}`,
  PF_ERR_LISTENER: (address: string, detail: string) => `a listener on ${address} threw: ${detail}`,
  PF_ERR_SUBSCRIBE_TIMEOUT: (address: string, ms: number) => `no stub confirmed a subscription to ${address} within ${ms} ms`,
  PF_ERR_UNDEPLOYED: (domain: string) => `the stub of ${domain} was undeployed`,
  PF_ERR_DOMAIN_REGISTRY: (detail: string) => `the remote domain registry failed: ${detail}`,
  PF_ERR_KIT_USAGE: (detail: string) => `stub kit: ${detail}`,
  PF_ERR_KIT_EXISTS: (path: string) => `${path} already exists; pick another name or --dir`,
  PF_ERR_KIT_MANIFEST: (path: string, detail: string) => `${path} is not a usable stub.json: ${detail}`,
  PF_ERR_KIT_NOT_BUILT: (path: string) => `${path} does not exist yet: run \`protofly stub build\` on the folder first`,
  PF_ERR_KIT_BUILD: (name: string, detail: string) => `building stub ${name} failed: ${detail}`,
} as const;

export type ErrorCode = keyof typeof ERRORS;

export interface ErrorContext {
  domain?: string;
  stubURL?: string;
  hook?: string;
  /** The name of the tap (a plugin's name, as it tapped) that failed. */
  plugin?: string;
  cause?: unknown;
}

export class ProtoflyError extends Error {
  readonly code: ErrorCode;
  readonly domain?: string;
  readonly stubURL?: string;
  readonly hook?: string;
  readonly plugin?: string;

  constructor(code: ErrorCode, message: string, context: ErrorContext = {}) {
    super(message, context.cause === undefined ? undefined : { cause: context.cause });
    this.name = 'ProtoflyError';
    this.code = code;
    this.domain = context.domain;
    this.stubURL = context.stubURL;
    this.hook = context.hook;
    this.plugin = context.plugin;
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, domain: this.domain, stubURL: this.stubURL, hook: this.hook, plugin: this.plugin };
  }
}

/** Builds a ProtoflyError from its code, the template's arguments and context. */
export function pfError<C extends ErrorCode>(
  code: C,
  args: Parameters<(typeof ERRORS)[C]>,
  context?: ErrorContext,
): ProtoflyError {
  const template = ERRORS[code] as (...a: unknown[]) => string;
  return new ProtoflyError(code, template(...args), context);
}

export function isProtoflyError(error: unknown, code?: ErrorCode): error is ProtoflyError {
  return error instanceof ProtoflyError && (code === undefined || error.code === code);
}

/** A short, safe description of anything thrown (stubs throw strings too). */
export function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'string') return error;
  if (error && typeof error === 'object' && 'payload' in error) return String((error as { payload: unknown }).payload);
  return String(error);
}
