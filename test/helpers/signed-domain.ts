// A domain that signs its stubs, as `protofly stub build --key` does: the
// component signed first (its sourceHash is of the signed bytes), then the
// descriptor over everything else it says. Served from a real catalogue,
// whose answers `publish` replaces, as a domain (or whoever took over its
// web server) would.
import type { ExecutionContext } from 'ava';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { signDescriptor } from '../../plugins/trust/descriptor-signature.ts';
import { publicKeyToText, type KeyPair } from '../../plugins/trust/keys.ts';
import { signComponent } from '../../plugins/trust/wasm-signature.ts';
import { freshCopy, withCustomSection } from './built.ts';
import { catalogue } from './runtime.ts';

export const WELL_KNOWN_DEFAULT = '/.well-known/protocolstub/default';

export interface Publication {
  /** Who signs the component; undefined: it goes unsigned. */
  component?: KeyPair;
  /** Who signs the descriptor; undefined: it goes unsigned. */
  descriptor?: KeyPair;
  /** Other bytes than the first publication's (a custom section with this text): a component no cache has seen. */
  variant?: string;
  /** A change to the bytes after they were signed. */
  tamperComponent?: (bytes: Uint8Array) => void;
  /** A change to the descriptor before it is signed. */
  edit?: (descriptor: Record<string, unknown>) => void;
  /** A change to the descriptor after it was signed. */
  tamperDescriptor?: (descriptor: Record<string, unknown>) => void;
}

const sha256 = (bytes: Uint8Array) => `sha256-${createHash('sha256').update(bytes).digest('base64')}`;

/**
 * A catalogue whose default stub is `stub` (a copy no cache has seen),
 * served by URL so the download is real, published signed by `pair`.
 */
export async function signedDomain(t: ExecutionContext, pair: KeyPair | undefined, stub = 'echo-c', fields: Record<string, unknown> = {}) {
  const copy = await freshCopy(stub);
  const unsigned = new Uint8Array(await readFile(copy));
  const domain = await catalogue(t, { default: { component: copy, ...fields } }, { inlineMaxBytes: 0 });
  const sourcePath = `/stubs/${stub}.wasm`;

  /** Serves the stub anew, signed (or not, or tampered with) as asked. */
  async function publish(how: Publication) {
    const source = how.variant ? withCustomSection(unsigned, 'protofly-variant', how.variant) : unsigned;
    const bytes = how.component ? await signComponent(source, how.component) : source.slice();
    const hash = sha256(bytes);
    how.tamperComponent?.(bytes);
    domain.override(sourcePath, { body: bytes });
    const base = domain.descriptor('default');
    base.sourceHash = hash;
    how.edit?.(base);
    const descriptor: Record<string, unknown> = how.descriptor ? await signDescriptor(base, how.descriptor) : base;
    how.tamperDescriptor?.(descriptor);
    domain.override(WELL_KNOWN_DEFAULT, { body: descriptor });
    return descriptor;
  }

  if (pair) await publish({ component: pair, descriptor: pair });
  return { domain, publish, sourcePath, key: pair ? publicKeyToText(pair.publicKey) : undefined };
}

