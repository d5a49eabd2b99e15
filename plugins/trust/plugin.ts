// Signed stubs in the deploy flow: a domain's descriptor and component are
// checked against the keys the application pins for the domain (or the key
// it first signed with) before anything they name is fetched or compiled.
//
//   fetchDescriptor ─ signature: the descriptor, its key, a rotation; where
//                                it sends the stub (elsewhere.ts)
//   loadSource      ─ signature: the component's bytes (before their hash,
//                                so changed bytes are named as such)
//
// A domain with a pinned or remembered key must sign both; `require` makes
// every domain do so. An unsigned stub of any other domain runs, with a
// PF_ERR_SIGNATURE_MISSING warning on the error hook.
import { parseDomain } from '../../kernel/address.ts';
import { isProtoflyError, pfError, ProtoflyError } from '../../kernel/errors.ts';
import type { Plugin } from '../../kernel/runtime.ts';
import { INLINE_SOURCE, type Descriptor } from '../../kernel/schemas.ts';
import { substep } from '../../kernel/substep.ts';
import type { DeployContext } from '../../kernel/types.ts';
import type { ComponentCache } from '../sandbox/cache/component-cache.ts';
import { storeInBackground } from '../sandbox/cache/store-in-background.ts';
import { DESCRIPTOR_SIGNATURE_FIELD, descriptorSigner, verifyDescriptor } from './descriptor-signature.ts';
import { firstEntryElsewhere } from './elsewhere.ts';
import { memoryKeyStore, type KeyStore } from './key-store.ts';
import { parsePublicKey, publicKeyToText } from './keys.ts';
import { ROTATION_FIELD, verifyRotation } from './rotation.ts';
import { verifyComponent } from './wasm-signature.ts';

export interface TrustOptions {
  /**
   * The keys each domain signs with (`ed25519:<base64>`), by domain as
   * `deployStub` takes it (`example.com`, `127.0.0.1:8080`). Several allow a
   * rotation. A domain listed here must sign its stubs with one of them.
   */
  keys?: Record<string, readonly string[]>;
  /** Every domain must sign its stubs (default false: only those with a pinned or remembered key). */
  require?: boolean;
  /**
   * Remember the first key a domain signs with; a later, different key is
   * refused (PF_ERR_SIGNATURE_KEY_CHANGED) unless its descriptor carries a
   * rotation statement signed by the remembered one (rotation.ts).
   */
  firstUse?: boolean;
  /**
   * Run a stub whose source is on another origin than its descriptor, or
   * whose `connect` names hosts outside its domain, without the domain's
   * signature (by default only a descriptor signed by the domain's key may).
   */
  allowElsewhere?: boolean;
  /** Where first-use keys are kept (the platform's default: a file in Node, IndexedDB in a page). */
  store?: KeyStore;
  /**
   * The sandbox's component cache: which keys a kept component was signed
   * by is recorded there, so a new process deploys it without downloading
   * it again to check (see `signedRecord`).
   */
  cache?: ComponentCache;
}

/** What the descriptor check found, for the source check that follows (and later restarts). */
interface Verdict {
  /** The keys the component must be signed by; empty when no key speaks for the domain. */
  readonly keys: readonly string[];
  /** Unsigned is refused. */
  readonly required: boolean;
}

// Bytes whose hash a domain's signed descriptor names, and whose embedded
// signature verified under a key of that domain: a later deploy of the same
// hash by the same key need not download them again to check. The result
// of a check depends only on the bytes and the key, so this is kept per
// process, as the prepared components are, and (signedRecord) beside the
// prepared component in the cache, for the processes that come after.
const verifiedSources = new Map<string, Set<string>>();
const VERIFIED_KEPT = 256;

/**
 * Forgets which sources this process checked or read as checked from the
 * cache (what a new process starts with; the records in the cache stay, as
 * the prepared components they sit beside do).
 */
export function clearVerifiedSources(): void {
  verifiedSources.clear();
}

function rememberVerified(hash: string, key: string): void {
  if (!verifiedSources.has(hash) && verifiedSources.size >= VERIFIED_KEPT) verifiedSources.delete(verifiedSources.keys().next().value!);
  const keys = verifiedSources.get(hash) ?? new Set();
  keys.add(key);
  verifiedSources.set(hash, keys);
}

// The record in the component cache that the source with this hash was
// signed by this key: `{ signed: { sourceHash, keys: [key] } }` under a name
// of its own, beside the prepared component (as the direct path keeps its
// own entries), written once its check passed, without holding up the
// deploy. One a key: an entry is written once (file-cache.ts), and bytes
// signed by several keys may be checked under each in turn.
//
// Why a new process may believe it:
// - The cache already holds code that runs: the prepared component (jco's
//   glue, the compiled core) is taken from it without being checked against
//   any signature, in every process, whether or not the source is
//   downloaded again (a download checks the served bytes, then runs the
//   cached form all the same). Whoever can write a false record there can
//   write the code itself, so the record adds no trust the cache was not
//   given; and it is no wider: a record only lets a deploy use the cache's
//   prepared form, which it would otherwise also use after the download.
// - What it says is a fact about bytes, not about a domain: "the bytes with
//   this hash carry a valid signature by K". Which bytes a deploy wants is
//   said by its descriptor, fetched and checked (checkDescriptor) on every
//   deploy: its signature binds the sourceHash to the domain's key.
// - Which keys the domain is trusted under is decided per deploy, from the
//   pinned keys or the first-use store as they are now; a record by a key
//   the domain no longer has (a rotation, a key unpinned) matches nothing
//   and the source is downloaded and checked as on a first deploy.
// A source inside its descriptor has no download to save: it is checked
// every time and recorded nowhere.
const signedRecord = (hash: string, key: string) => `signed-${hash}-${key.replace(/^ed25519:/, '')}`;

export function trustPlugin(options: TrustOptions = {}): Plugin {
  const { cache } = options;
  const pinned = new Map<string, string[]>();
  for (const [domain, keys] of Object.entries(options.keys ?? {})) {
    // Read now: a typo in a pinned key fails createRuntime, not a deploy hours later.
    pinned.set(parseDomain(domain).name, keys.map((key) => publicKeyToText(parsePublicKey(key))));
  }
  const store = options.firstUse ? options.store ?? memoryKeyStore() : undefined;
  const verdicts = new WeakMap<Descriptor, Verdict>();

  return {
    name: 'TrustPlugin',
    apply(runtime) {
      const warn = (error: ProtoflyError) => runtime.hooks.error.call(error);

      async function judge(descriptor: Descriptor, context: DeployContext): Promise<Verdict> {
        const domain = context.domain.name;
        const where = { domain, stubURL: context.stub?.stubURL, hook: 'fetchDescriptor' };
        const what = `the descriptor of ${domain}`;
        const pins = pinned.get(domain);
        const remembered = pins ? undefined : await store?.get(domain);
        const known = pins ?? remembered;
        const required = options.require === true || known !== undefined;
        try {
          if (descriptor[DESCRIPTOR_SIGNATURE_FIELD] === undefined) {
            if (required) throw pfError('PF_ERR_SIGNATURE_MISSING', [what, known ? `${domain} signs with ${known[0]}` : 'trust.require is set']);
            warn(pfError('PF_ERR_SIGNATURE_MISSING', [what, `it runs unchecked (pin ${domain}'s key in trust.keys to check it)`], where));
            return { keys: [], required: false };
          }
          if (known) return { keys: [await signerAmong(descriptor, known, remembered !== undefined, domain)], required: true };
          // No key speaks for the domain: the signature is checked against
          // the key it names, so a damaged one is still refused.
          const { key } = await verifyDescriptor(descriptor, [descriptorSigner(descriptor)!]);
          if (store) {
            await store.set(domain, [key]);
            return { keys: [key], required: true };
          }
          if (required) throw pfError('PF_ERR_SIGNATURE_UNTRUSTED', [what, 0]);
          warn(pfError('PF_ERR_SIGNATURE_UNTRUSTED', [`${what} (by ${key})`, 0], where));
          return { keys: [], required: false };
        } catch (error) {
          throw located(error, where);
        }
      }

      // The signer, if it is a known key or (trust on first use) the key a
      // known one rotated to.
      async function signerAmong(descriptor: Descriptor, known: readonly string[], firstUse: boolean, domain: string): Promise<string> {
        try {
          return (await verifyDescriptor(descriptor, known)).key;
        } catch (error) {
          if (!firstUse || !isProtoflyError(error, 'PF_ERR_SIGNATURE_UNTRUSTED')) throw error;
        }
        const presented = descriptorSigner(descriptor)!;
        if (!(await verifyRotation(descriptor[ROTATION_FIELD], domain, known, presented))) {
          throw pfError('PF_ERR_SIGNATURE_KEY_CHANGED', [domain, known[0], presented]);
        }
        await store!.set(domain, [presented]);
        return presented;
      }

      runtime.hooks.checkDescriptor.tapPromise('TrustPlugin', async (descriptor, context) => {
        // Shown as a sub-step when there is a signature to check; an
        // unsigned stub's warning is all there is to see otherwise.
        const verdict = descriptor[DESCRIPTOR_SIGNATURE_FIELD] === undefined
          ? await judge(descriptor, context)
          : await substep(runtime, context, 'fetchDescriptor', 'signature', () => judge(descriptor, context));
        verdicts.set(descriptor, verdict);
        if (verdict.keys.length > 0 || options.allowElsewhere) return;
        const elsewhere = firstEntryElsewhere(descriptor, context.descriptorURL!, context.domain.origin);
        if (elsewhere) {
          throw pfError('PF_ERR_SIGNATURE_MISSING', [`the descriptor of ${context.domain.name}`,
            `its ${elsewhere.field} entry ${elsewhere.entry} is outside the domain, which only a descriptor signed by the domain's key (trust.keys, trust.firstUse) may name, or an application that sets trust.allowElsewhere`],
          { domain: context.domain.name, hook: 'fetchDescriptor' });
        }
      });

      // A source kept prepared is used without download only if these very
      // bytes were checked against a key the domain signs with: in this
      // process, or (recorded in the cache) in an earlier one.
      runtime.hooks.componentPrepared.tapPromise({ name: 'TrustPlugin', stage: -100 }, async (hash, context) => {
        const verdict = await verdictOf(context);
        if (verdict.keys.length === 0) return undefined;
        const checked = verifiedSources.get(hash);
        if (verdict.keys.some((key) => checked?.has(key))) return undefined;
        const signer = await recordedSigner(hash, verdict.keys, context);
        if (signer === undefined) return false;
        rememberVerified(hash, signer);
        return undefined;
      });

      // One of `keys` the cache says signed these bytes, if it says so.
      async function recordedSigner(hash: string, keys: readonly string[], context: DeployContext): Promise<string | undefined> {
        if (!cache || context.descriptor!.sourcePackageURL === INLINE_SOURCE) return undefined;
        const found = await Promise.all(keys.map(async (key) => {
          const signed = (await cache.get(signedRecord(hash, key)).catch(() => undefined))?.signed;
          return signed?.sourceHash === hash && Array.isArray(signed.keys) && signed.keys.includes(key);
        }));
        return keys[found.indexOf(true)];
      }

      runtime.hooks.checkSource.tapPromise('TrustPlugin', async (source, context) => {
        const verdict = await verdictOf(context);
        const domain = context.domain.name;
        const where = { domain, stubURL: context.stub?.stubURL, hook: 'loadSource' };
        if (verdict.keys.length === 0 && !verdict.required) return; // nothing to check it against
        await substep(runtime, context, 'loadSource', 'signature', async () => {
          if (verdict.keys.length === 0) {
            throw pfError('PF_ERR_SIGNATURE_MISSING', [`the component of ${domain}`, 'no key speaks for the domain'], where);
          }
          try {
            const { keyIndex } = await verifyComponent(source, verdict.keys);
            record(context, verdict.keys[keyIndex]);
          } catch (error) {
            throw located(error, where);
          }
        });
      });

      // Checked here: for this process, and for later ones beside the
      // prepared component (a check ran, so the source was just fetched: the
      // write, in the background, is the small part; one already there stays).
      function record(context: DeployContext, key: string): void {
        const { sourceHash, sourcePackageURL } = context.descriptor!;
        rememberVerified(sourceHash, key);
        if (!cache || sourcePackageURL === INLINE_SOURCE) return;
        storeInBackground(runtime, cache, signedRecord(sourceHash, key), { glue: '', cores: {}, signed: { sourceHash, keys: [key] } },
          { domain: context.domain.name, stubURL: context.stub?.stubURL });
      }

      // A restart or an update's relaunch checks against what its descriptor was judged to be.
      async function verdictOf(context: DeployContext): Promise<Verdict> {
        const descriptor = context.descriptor!;
        const known = verdicts.get(descriptor);
        if (known) return known;
        const verdict = await judge(descriptor, context);
        verdicts.set(descriptor, verdict);
        return verdict;
      }
    },
  };
}

/**
 * Whether an event of the `error` hook is the trust plugin's warning about a
 * stub it let run unchecked (unsigned, or signed by a key nobody pinned):
 * refusals fail the deploy instead, so on the error hook these are all warnings.
 */
export function isSignatureWarning(error: ProtoflyError): boolean {
  return error.code.startsWith('PF_ERR_SIGNATURE_');
}

/** The format files' errors name no domain: this one gets the deploy's. */
function located(error: unknown, where: { domain: string; stubURL?: string; hook: string }): unknown {
  if (!isProtoflyError(error) || error.domain) return error;
  return new ProtoflyError(error.code, error.message, { ...where, cause: error.cause });
}
