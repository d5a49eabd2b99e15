// A local domain that signs what it serves (startCatalogue / serveDomain with
// `sign`): read over HTTP as a runtime reads it, and checked with the trust
// formats alone, whatever the runtime does with signatures.
import test from 'ava';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { WELL_KNOWN } from '../../domain/catalogue.ts';
import { serveDomain } from '../../domain/serve.ts';
import { verifyDescriptor } from '../../plugins/trust/descriptor-signature.ts';
import { generateKeyPair, publicKeyToText } from '../../plugins/trust/keys.ts';
import { readSignatureSection, verifyComponent } from '../../plugins/trust/wasm-signature.ts';
import { builtStub } from '../helpers/built.ts';
import { catalogue, runtime } from '../helpers/runtime.ts';

interface Served {
  sourcePackageURL: string;
  sourcePackage?: { sourceCode: string };
  sourceHash: string;
  [field: string]: unknown;
}

const sha256 = (bytes: Uint8Array) => `sha256-${createHash('sha256').update(bytes).digest('base64')}`;

async function fetchDescriptor(origin: string, name: string): Promise<Served> {
  const response = await fetch(`${origin}${WELL_KNOWN}${name}`);
  return await response.json() as Served;
}

// The component as a runtime gets it: inside the descriptor, or from its URL.
async function fetchSource(origin: string, descriptor: Served): Promise<Uint8Array> {
  if (descriptor.sourcePackage) return new Uint8Array(Buffer.from(descriptor.sourcePackage.sourceCode, 'base64'));
  return new Uint8Array(await (await fetch(new URL(descriptor.sourcePackageURL, origin))).arrayBuffer());
}

test('a signed catalogue serves components signed by its key, hashed after signing, and descriptors signed over all they declare', async (t) => {
  const pair = await generateKeyPair();
  const domain = await catalogue(t, {
    // 18 KiB: inside its descriptor; 85 KiB: by URL (the default limit is 64 KiB).
    small: { component: builtStub('echo-c'), configuration: { greeting: 'hi' } },
    large: { component: builtStub('mqtt-c'), connect: ['ws://127.0.0.1:1/mqtt'] },
  }, { sign: pair });
  t.is(domain.publicKey, publicKeyToText(pair.publicKey));

  for (const [name, original] of [['small', 'echo-c'], ['large', 'mqtt-c']] as const) {
    const descriptor = await fetchDescriptor(domain.origin, name);
    t.is(descriptor.sourcePackageURL === '/sourcePackage', name === 'small', `${name} is served ${name === 'small' ? 'inline' : 'by URL'}`);
    t.like(await verifyDescriptor(descriptor, [domain.publicKey!]), { ok: true, key: domain.publicKey });
    t.deepEqual(descriptor, domain.descriptor(name) as unknown as Served, 'descriptor() is what is served');

    const source = await fetchSource(domain.origin, descriptor);
    t.like(await verifyComponent(source, [domain.publicKey!]), { ok: true });
    t.is(descriptor.sourceHash, sha256(source), 'the hash is of the signed bytes');
    t.not(descriptor.sourceHash, sha256(await readFile(builtStub(original))));
  }

  // What the domain declares beside the code is signed too.
  const small = await fetchDescriptor(domain.origin, 'small');
  await t.throwsAsync(verifyDescriptor({ ...small, configuration: { greeting: 'bye' } }, [domain.publicKey!]), { code: 'PF_ERR_SIGNATURE_INVALID' } as never);
  const large = await fetchDescriptor(domain.origin, 'large');
  await t.throwsAsync(verifyDescriptor({ ...large, connect: ['wss://elsewhere.example'] }, [domain.publicKey!]), { code: 'PF_ERR_SIGNATURE_INVALID' } as never);
});

test('an unsigned catalogue serves the components as built, with no signature anywhere', async (t) => {
  const domain = await catalogue(t, { default: { component: builtStub('echo-c') } });
  t.is(domain.publicKey, undefined);
  const descriptor = await fetchDescriptor(domain.origin, 'default');
  t.false('signature' in descriptor);
  const source = await fetchSource(domain.origin, descriptor);
  t.deepEqual(source, new Uint8Array(await readFile(builtStub('echo-c'))));
  t.throws(() => readSignatureSection(source), { code: 'PF_ERR_SIGNATURE_MISSING' } as never);
});

test('serveDomain with a key serves its default stub signed, names the key to pin, and the signed stub deploys with it pinned', async (t) => {
  const pair = await generateKeyPair();
  const served = await serveDomain({ sign: pair });
  t.teardown(() => served.close());
  t.is(served.publicKey, publicKeyToText(pair.publicKey));
  t.is(served.catalogue.publicKey, served.publicKey);

  const descriptor = await fetchDescriptor(served.catalogue.origin, 'default');
  await verifyDescriptor(descriptor, [served.publicKey!]);
  // The chosen stub is served under its own name too: the same signed bytes.
  const own = await fetchDescriptor(served.catalogue.origin, 'mqtt-c');
  t.is(own.sourceHash, descriptor.sourceHash);
  const source = await fetchSource(served.catalogue.origin, descriptor);
  await verifyComponent(source, [served.publicKey!]);
  t.is(descriptor.sourceHash, sha256(source));

  // Signing changes nothing a runtime runs: the stub goes LIVE (the option
  // is the one the demo's runtimes pass).
  const rt = runtime(t, { trust: { keys: { [served.catalogue.domain]: [served.publicKey!] } } });
  const stub = await rt.deployStub(served.catalogue.origin);
  t.is(stub.status, 'LIVE');
});
