// Steps 3–4: the descriptor URL from the domain (the well-known URI) and the
// descriptor itself, fetched and checked against its schema.
import type { Plugin } from '../../kernel/runtime.ts';
import { pfError } from '../../kernel/errors.ts';
import { descriptorCheck, firstError, INLINE_SOURCE, type Descriptor } from '../../kernel/schemas.ts';
import { boundedGet } from '../http/get.ts';

export interface DescriptorOptions {
  /** Descriptors larger than this are refused before being read whole. */
  maxBytes?: number;
  /** A descriptor server slower than this fails the deploy. */
  timeoutMs?: number;
}

export const WELL_KNOWN_PATH = '/.well-known/protocolstub/';

export function descriptorPlugin(options: DescriptorOptions = {}): Plugin {
  // Room for a small stub's component inline (base64 in the JSON).
  const maxBytes = options.maxBytes ?? 256 * 1024;
  const timeoutMs = options.timeoutMs ?? 5_000;
  return {
    name: 'DescriptorPlugin',
    apply(runtime) {
      runtime.hooks.descriptorUrl.tap('DescriptorPlugin', (url, domain, name) =>
        url || `${domain.origin}${WELL_KNOWN_PATH}${encodeURIComponent(name)}`);

      runtime.hooks.fetchDescriptor.tapPromise('DescriptorPlugin', async (url, context) => {
        const where = { domain: context.domain.name };
        const result = await boundedGet(url, { maxBytes, timeoutMs, accept: 'application/json' });
        if (!result.ok) {
          if (result.reason === 'status' && (result.status === 404 || result.status === 410)) throw pfError('PF_ERR_DESCRIPTOR_NOT_FOUND', [url], where);
          if (result.reason === 'status') throw pfError('PF_ERR_DESCRIPTOR_UNREACHABLE', [`${url} (HTTP ${result.status})`], where);
          if (result.reason === 'too-large') throw pfError('PF_ERR_TOO_LARGE', [`the descriptor at ${url}`, maxBytes], where);
          if (result.reason === 'timeout') throw pfError('PF_ERR_DESCRIPTOR_TIMEOUT', [url, timeoutMs], where);
          if (result.reason === 'insecure-redirect') throw pfError('PF_ERR_INSECURE_REDIRECT', [result.from, result.to], where);
          throw pfError('PF_ERR_DESCRIPTOR_UNREACHABLE', [`${url}: ${result.detail}`], where);
        }
        return parseDescriptor(result.bytes, where);
      });
    },
  };
}

/** Parses and validates descriptor bytes; unknown fields are kept. */
export function parseDescriptor(bytes: Uint8Array, where: { domain?: string } = {}): Descriptor {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (error) {
    throw pfError('PF_ERR_DESCRIPTOR_INVALID', [`not JSON (${error instanceof Error ? error.message : error})`], where);
  }
  if (!descriptorCheck.Check(value)) throw pfError('PF_ERR_DESCRIPTOR_INVALID', [firstError(descriptorCheck, value)], where);
  if (value.sourcePackageURL === INLINE_SOURCE && !value.sourcePackage) {
    throw pfError('PF_ERR_DESCRIPTOR_INVALID', [`/sourcePackageURL is ${INLINE_SOURCE} but there is no /sourcePackage`], where);
  }
  return value;
}

/**
 * The original reTHINK convention: the descriptor lives on the catalogue host
 * `catalogue.<domain>`, same path. One tap on the URL waterfall.
 */
export function catalogueHostPlugin(): Plugin {
  return {
    name: 'CatalogueHostPlugin',
    apply(runtime) {
      runtime.hooks.descriptorUrl.tap({ name: 'CatalogueHostPlugin', stage: 10 }, (url) => {
        const parsed = new URL(url);
        parsed.hostname = `catalogue.${parsed.hostname}`;
        return parsed.href;
      });
    },
  };
}
