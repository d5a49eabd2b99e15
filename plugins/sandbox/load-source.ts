// Seed steps 11–12: the stub's component, from where its descriptor says —
// downloaded (bounded in size and time) or carried inside the descriptor —
// and checked (its signature, by whoever taps checkSource; its hash against
// the descriptor's sourceHash) before anything uses it.
import { pfError } from '../../kernel/errors.ts';
import type { Runtime } from '../../kernel/runtime.ts';
import { INLINE_SOURCE, type Descriptor } from '../../kernel/schemas.ts';
import type { DeployContext } from '../../kernel/types.ts';
import { boundedGet } from '../http/get.ts';
import { decodeInlineSource, inlineSourceSize } from './inline-source.ts';
import { sameIntegrity } from './integrity.ts';
import { substep } from '../../kernel/substep.ts';

export interface SourceLimits {
  maxSourceBytes: number;
  timeoutMs: number;
  /** SHA-256 as `sha256-<base64>`. */
  integrity: (bytes: Uint8Array) => string | Promise<string>;
}

type Where = { domain: string; stubURL?: string };

export async function fetchVerifiedSource(runtime: Runtime, context: DeployContext, limits: SourceLimits): Promise<Uint8Array> {
  const descriptor = context.descriptor!;
  const where = { domain: context.domain.name, stubURL: context.stub?.stubURL };
  const bytes = descriptor.sourcePackageURL === INLINE_SOURCE
    ? await substep(runtime, context, 'loadSource', 'inline', async () => inlineSource(descriptor, limits, where))
    : await download(runtime, context, new URL(descriptor.sourcePackageURL, context.descriptorURL).href, limits, where);
  // Its signature first: bytes changed after signing are named as such,
  // rather than as a hash that no longer matches.
  await runtime.hooks.checkSource.promise(bytes, context);
  const actual = await substep(runtime, context, 'loadSource', 'integrity', async () => limits.integrity(bytes));
  if (!sameIntegrity(descriptor.sourceHash, actual)) throw pfError('PF_ERR_INTEGRITY', [descriptor.sourceHash, actual], where);
  return bytes;
}

async function download(runtime: Runtime, context: DeployContext, url: string, limits: SourceLimits, where: Where): Promise<Uint8Array> {
  const result = await substep(runtime, context, 'loadSource', 'download', () => boundedGet(url, { maxBytes: limits.maxSourceBytes, timeoutMs: limits.timeoutMs }));
  if (!result.ok) {
    if (result.reason === 'too-large') throw pfError('PF_ERR_TOO_LARGE', [`the stub source at ${url}`, limits.maxSourceBytes], where);
    if (result.reason === 'insecure-redirect') throw pfError('PF_ERR_INSECURE_REDIRECT', [result.from, result.to], where);
    const detail = result.reason === 'status' ? `HTTP ${result.status}` : result.detail;
    throw pfError('PF_ERR_SOURCE_UNREACHABLE', [`${url} (${detail})`], where);
  }
  return result.bytes;
}

// Came with the descriptor: nothing to fetch, the same limit and check.
function inlineSource(descriptor: Descriptor, limits: SourceLimits, where: Where): Uint8Array {
  const text = descriptor.sourcePackage!.sourceCode;
  if (inlineSourceSize(text) > limits.maxSourceBytes) throw pfError('PF_ERR_TOO_LARGE', ['the stub source inside the descriptor', limits.maxSourceBytes], where);
  const bytes = decodeInlineSource(text);
  if (!bytes) throw pfError('PF_ERR_DESCRIPTOR_INVALID', ['/sourcePackage/sourceCode is not base64'], where);
  return bytes;
}
