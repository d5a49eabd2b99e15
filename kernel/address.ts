// Domains, origins and runtime addresses.
import { pfError } from './errors.ts';

export interface Domain {
  /** The domain's name as it appears in addresses: `example.com`, `127.0.0.1:8080`. */
  name: string;
  /** Where its well-known URIs live: `https://example.com`, `http://127.0.0.1:8080`. */
  origin: string;
}

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/;

export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK.test(hostname);
}

/**
 * Accepts `example.com` (https), `127.0.0.1:8080` (http: loopback only) or a
 * full origin `http://127.0.0.1:8080`. Plain http is refused off loopback: a
 * descriptor fetched in clear could be swapped on the way, hash and all.
 */
export function parseDomain(input: string): Domain {
  const text = input.trim();
  const hasScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text);
  let url: URL;
  try {
    url = new URL(hasScheme ? text : `https://${text}`);
  } catch {
    throw pfError('PF_ERR_DOMAIN_INVALID', [input]);
  }
  if (!['https:', 'http:'].includes(url.protocol) || !url.hostname || url.username || url.password
    || (hasScheme && url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
    throw pfError('PF_ERR_DOMAIN_INVALID', [input]);
  }
  const loopback = isLoopbackHost(url.hostname);
  if (!hasScheme && loopback) url.protocol = 'http:';
  if (url.protocol === 'http:' && !loopback) throw pfError('PF_ERR_INSECURE_ORIGIN', [url.origin], { domain: url.host });
  return { name: url.host, origin: url.origin };
}

/** The domain part of an address such as `hyperty://example.com/alice`. */
export function domainOfAddress(address: string): string | undefined {
  const match = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]+)/i.exec(address);
  return match ? match[1].toLowerCase() : undefined;
}

export const RUNTIME_SCHEME = 'hyperty-runtime:';

/** Addresses of the runtime's own components (stubs, registry) never leave it. */
export function isRuntimeAddress(address: string): boolean {
  return address.startsWith(`${RUNTIME_SCHEME}//`);
}

export function stubURLFor(domain: string, id: string): string {
  return `hyperty-runtime://${domain}/protostub/${id}`;
}

export function statusResourceOf(stubURL: string): string {
  return `${stubURL}/status`;
}
