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

const SCHEME = /^[a-z][a-z0-9+.-]*$/i;
// The bus asks this for every message it routes, and addresses repeat: a
// bounded memo turns a parse into a lookup.
const domains = new Map<string, string | undefined>();
const DOMAINS_KEPT = 4096;

/** The domain part of an address such as `hyperty://example.com/alice`. */
export function domainOfAddress(address: string): string | undefined {
  let domain = domains.get(address);
  if (domain !== undefined || domains.has(address)) return domain;
  const sep = address.indexOf('://');
  if (sep > 0 && SCHEME.test(address.slice(0, sep))) {
    let end = address.length;
    for (const stop of ['/', '?', '#']) {
      const at = address.indexOf(stop, sep + 3);
      if (at >= 0 && at < end) end = at;
    }
    if (end > sep + 3) domain = address.slice(sep + 3, end).toLowerCase();
  }
  if (domains.size >= DOMAINS_KEPT) domains.clear();
  domains.set(address, domain);
  return domain;
}

export const RUNTIME_SCHEME = 'hyperty-runtime:';

/** Addresses of the runtime's own components (stubs, registry) never leave it. */
const RUNTIME_PREFIX = `${RUNTIME_SCHEME}//`;

/**
 * Whether `address` is in `domain` (a lower-case name): the same answer as
 * `domainOfAddress(address) === domain`, without parsing in the usual case.
 */
export function isInDomain(address: string, domain: string): boolean {
  const sep = address.indexOf('://');
  if (sep > 0 && address.startsWith(domain, sep + 3)) {
    const next = address.charCodeAt(sep + 3 + domain.length);
    // '/', '?', '#' or the end: the host is exactly `domain`.
    if (Number.isNaN(next) || next === 47 || next === 63 || next === 35) return isSchemeBefore(address, sep);
  }
  return domainOfAddress(address) === domain;
}

// SCHEME's test on address[0, end), without cutting the string out: this
// runs for every message a stub sends.
function isSchemeBefore(address: string, end: number): boolean {
  for (let i = 0; i < end; i++) {
    const c = address.charCodeAt(i) | 0x20; // ASCII letters to lower case
    const letter = c >= 97 && c <= 122;
    if (letter) continue;
    const other = address.charCodeAt(i);
    if (i === 0 || !((other >= 48 && other <= 57) || other === 43 || other === 46 || other === 45)) return false;
  }
  return end > 0;
}

export function isRuntimeAddress(address: string): boolean {
  return address.startsWith(RUNTIME_PREFIX);
}

export function stubURLFor(domain: string, id: string): string {
  return `hyperty-runtime://${domain}/protostub/${id}`;
}

const PROTOSTUB = '/protostub/';

/**
 * The stub URL an address is, or is below: `hyperty-runtime://d/protostub/1`
 * for itself and for `…/protostub/1/anything`; undefined for any other address.
 */
export function stubURLOf(address: string): string | undefined {
  if (!address.startsWith(RUNTIME_PREFIX)) return undefined;
  const host = address.indexOf('/', RUNTIME_PREFIX.length);
  if (host <= RUNTIME_PREFIX.length || !address.startsWith(PROTOSTUB, host)) return undefined;
  const idAt = host + PROTOSTUB.length;
  const idEnd = address.indexOf('/', idAt);
  if (idEnd === idAt || idAt === address.length) return undefined;
  return idEnd < 0 ? address : address.slice(0, idEnd);
}

export function statusResourceOf(stubURL: string): string {
  return `${stubURL}/status`;
}
