// What a descriptor may point at without its domain's signature: its source
// on the descriptor's own origin, and brokers on the domain's own hosts (the
// domain's host name, its subdomains; on loopback, loopback). Anything else
// is someone else's server, which a descriptor served by a compromised web
// server could name to send the stub, and its traffic, away.
import { isLoopbackHost } from '../../kernel/address.ts';
import { INLINE_SOURCE, type Descriptor } from '../../kernel/schemas.ts';

export interface Elsewhere {
  /** `sourcePackageURL` or `connect`. */
  field: string;
  /** The entry as the descriptor has it. */
  entry: string;
}

/** The first entry of the descriptor that is outside its domain, or undefined. */
export function firstEntryElsewhere(descriptor: Descriptor, descriptorURL: string, domainOrigin: string): Elsewhere | undefined {
  const home = new URL(domainOrigin).hostname;
  if (descriptor.sourcePackageURL !== INLINE_SOURCE) {
    const source = resolve(descriptor.sourcePackageURL, descriptorURL);
    if (!source || source.origin !== new URL(descriptorURL).origin) return { field: 'sourcePackageURL', entry: descriptor.sourcePackageURL };
  }
  for (const entry of descriptor.connect) {
    const target = resolve(entry);
    if (!target || !isOwnHost(target.hostname, home)) return { field: 'connect', entry };
  }
  return undefined;
}

export function isOwnHost(hostname: string, home: string): boolean {
  const host = hostname.toLowerCase();
  const domain = home.toLowerCase();
  if (host === domain || host.endsWith(`.${domain}`)) return true;
  return isLoopbackHost(host) && isLoopbackHost(domain);
}

function resolve(url: string, base?: string): URL | undefined {
  try {
    return new URL(url, base);
  } catch {
    return undefined;
  }
}
