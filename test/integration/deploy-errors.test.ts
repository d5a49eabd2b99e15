// Each way a deploy can go wrong gives its own code and leaves the registry
// clean: the next deploy of the same domain works.
import test from 'ava';
import { freePort } from '../helpers/server-process.ts';
import type { ErrorCode } from '../../kernel/errors.ts';
import { builtStub, freshCopy } from '../helpers/built.ts';
import { catalogue, runtime } from '../helpers/runtime.ts';

const WELL_KNOWN = '/.well-known/protocolstub/default';

async function failsThenRecovers(t: import('ava').ExecutionContext, code: ErrorCode, breakIt: (d: Awaited<ReturnType<typeof catalogue>>) => void) {
  // A component no cache has seen, served by URL: the download really happens.
  const domain = await catalogue(t, { default: { component: await freshCopy('echo-c') } }, { inlineMaxBytes: 0 });
  const rt = runtime(t);
  const statuses: string[] = [];
  rt.hooks.status.tap('test', (_s, value) => { statuses.push(value); });
  breakIt(domain);
  const error = await t.throwsAsync(rt.deployStub(domain.origin));
  t.is((error as { code?: string }).code, code, error?.message);
  t.is(rt.registry.list().length, 0, 'nothing is left registered');
  domain.override(WELL_KNOWN, undefined);
  domain.override('/stubs/echo-c.wasm', undefined);
  const stub = await rt.deployStub(domain.origin);
  t.is(stub.status, 'LIVE', 'a later deploy works');
  return { error: error!, statuses };
}

test('a descriptor that is not there fails with PF_ERR_DESCRIPTOR_NOT_FOUND', async (t) => {
  await failsThenRecovers(t, 'PF_ERR_DESCRIPTOR_NOT_FOUND', (d) => d.override(WELL_KNOWN, { status: 404 }));
});

test('a descriptor that fails the schema is refused with PF_ERR_DESCRIPTOR_INVALID naming the field', async (t) => {
  const { error } = await failsThenRecovers(t, 'PF_ERR_DESCRIPTOR_INVALID', (d) => {
    const broken = d.descriptor('default');
    delete broken.sourceHash;
    d.override(WELL_KNOWN, { body: broken });
  });
  t.regex(error.message, /sourceHash/);
});

test('a descriptor that is not JSON is refused with PF_ERR_DESCRIPTOR_INVALID', async (t) => {
  await failsThenRecovers(t, 'PF_ERR_DESCRIPTOR_INVALID', (d) => d.override(WELL_KNOWN, { body: '{"name": "default",' }));
});

test('a descriptor with unknown fields is accepted and keeps them', async (t) => {
  const domain = await catalogue(t, { default: { component: builtStub('echo-c'), homepage: 'https://example.com' } });
  const rt = runtime(t);
  const stub = await rt.deployStub(domain.origin);
  t.is(stub.descriptor.homepage, 'https://example.com');
});

test('a source whose hash does not match is refused with PF_ERR_INTEGRITY before it runs', async (t) => {
  const { statuses } = await failsThenRecovers(t, 'PF_ERR_INTEGRITY', (d) => {
    const tampered = d.descriptor('default');
    tampered.sourceHash = `sha256-${Buffer.alloc(32, 7).toString('base64')}`;
    d.override(WELL_KNOWN, { body: tampered });
  });
  t.deepEqual(statuses.slice(0, 2), ['DEPLOYING', 'FAILED']);
});

// Inline sources (reTHINK's "sourcePackageURL": "/sourcePackage"): the same
// checks as a download, each with its code.
async function inlineFails(t: import('ava').ExecutionContext, code: ErrorCode, change: (d: Record<string, unknown>) => void, sandbox = {}) {
  const domain = await catalogue(t, { default: { component: await freshCopy('echo-c') } });
  const descriptor = domain.descriptor('default');
  t.is(descriptor.sourcePackageURL, '/sourcePackage');
  change(descriptor);
  domain.override(WELL_KNOWN, { body: descriptor });
  const rt = runtime(t, { sandbox });
  const error = await t.throwsAsync(rt.deployStub(domain.origin));
  t.is((error as { code?: string }).code, code, error?.message);
  t.is(rt.registry.list().length, 0, 'nothing is left registered');
  return error!;
}

const sourceCode = (d: Record<string, unknown>) => d.sourcePackage as { sourceCode: string };

test('an inline source whose bytes do not match the hash is refused with PF_ERR_INTEGRITY', async (t) => {
  await inlineFails(t, 'PF_ERR_INTEGRITY', (d) => {
    const code = sourceCode(d);
    // One byte changed in the middle: still base64, other bytes.
    const at = code.sourceCode.length >> 1;
    code.sourceCode = code.sourceCode.slice(0, at) + (code.sourceCode[at] === 'A' ? 'B' : 'A') + code.sourceCode.slice(at + 1);
  });
});

test('an inline source that is not base64 is refused with PF_ERR_DESCRIPTOR_INVALID', async (t) => {
  for (const broken of ['not base64!', 'AAA', 'AA-_', 'AA!!AAAA']) {
    const error = await inlineFails(t, 'PF_ERR_DESCRIPTOR_INVALID', (d) => { sourceCode(d).sourceCode = broken; });
    t.regex(error.message, /base64/);
  }
});

test('a descriptor that says its source is inline but carries none is refused with PF_ERR_DESCRIPTOR_INVALID', async (t) => {
  const error = await inlineFails(t, 'PF_ERR_DESCRIPTOR_INVALID', (d) => { delete d.sourcePackage; });
  t.regex(error.message, /sourcePackage/);
});

test('an inline source over the size limit is refused with PF_ERR_TOO_LARGE before it is decoded', async (t) => {
  await inlineFails(t, 'PF_ERR_TOO_LARGE', () => {}, { maxSourceBytes: 1024 });
});

test('a source that cannot be downloaded fails with PF_ERR_SOURCE_UNREACHABLE, not "deploying" forever', async (t) => {
  await failsThenRecovers(t, 'PF_ERR_SOURCE_UNREACHABLE', (d) => d.override('/stubs/echo-c.wasm', { status: 500 }));
});

test('a stub whose init returns an error fails the deploy with PF_ERR_STUB_INIT and its reason', async (t) => {
  const domain = await catalogue(t, {
    default: { component: builtStub('echo-c'), configuration: { failInit: true } },
  });
  const rt = runtime(t);
  const error = await t.throwsAsync(rt.deployStub(domain.origin));
  t.is((error as { code?: string }).code, 'PF_ERR_STUB_INIT');
  t.regex(error!.message, /init refused by configuration/);
  t.is(rt.registry.list().length, 0);
});

test('a descriptor server that is down fails with PF_ERR_DESCRIPTOR_UNREACHABLE', async (t) => {
  const port = await freePort();
  const rt = runtime(t);
  const error = await t.throwsAsync(rt.deployStub(`http://127.0.0.1:${port}`));
  t.is((error as { code?: string }).code, 'PF_ERR_DESCRIPTOR_UNREACHABLE');
  t.is(rt.registry.list().length, 0);
});

test('a descriptor server that is too slow fails within the timeout with PF_ERR_DESCRIPTOR_TIMEOUT, and a later deploy works', async (t) => {
  const domain = await catalogue(t, { default: { component: builtStub('echo-c') } });
  // Loose enough that the later deploy fits in it while other test files
  // load both cores; the stalled answer would come far later.
  const rt = runtime(t, { descriptor: { timeoutMs: 1_500 } });
  domain.override(WELL_KNOWN, { delayMs: 20_000 });
  const started = Date.now();
  const error = await t.throwsAsync(rt.deployStub(domain.origin));
  t.is((error as { code?: string }).code, 'PF_ERR_DESCRIPTOR_TIMEOUT');
  t.true(Date.now() - started < 6_000);
  t.is(rt.registry.list().length, 0);
  domain.override(WELL_KNOWN, undefined);
  t.is((await rt.deployStub(domain.origin)).status, 'LIVE');
});

test('an oversized descriptor is refused with PF_ERR_TOO_LARGE', async (t) => {
  const domain = await catalogue(t, { default: { component: builtStub('echo-c') } });
  const rt = runtime(t, { descriptor: { maxBytes: 1024 } });
  domain.override(WELL_KNOWN, { body: { ...domain.descriptor('default'), padding: 'x'.repeat(4096) } });
  const error = await t.throwsAsync(rt.deployStub(domain.origin));
  t.is((error as { code?: string }).code, 'PF_ERR_TOO_LARGE');
});

test('plain http off loopback is refused with PF_ERR_INSECURE_ORIGIN', async (t) => {
  const rt = runtime(t);
  const error = await t.throwsAsync(rt.deployStub('http://example.com'));
  t.is((error as { code?: string }).code, 'PF_ERR_INSECURE_ORIGIN');
});

test('a deploy with no plugin for a step names the hook nobody answered', async (t) => {
  const domain = await catalogue(t, { default: { component: builtStub('echo-c') } });
  const { createKernel } = await import('../../kernel/runtime.ts');
  const { registryPlugin, busPlugin, descriptorPlugin } = await import('../../index.ts');
  const rt = createKernel({ plugins: [registryPlugin(), busPlugin(), descriptorPlugin()] });
  t.teardown(() => rt.close());
  const error = await t.throwsAsync(rt.deployStub(domain.origin));
  t.is((error as { code?: string }).code, 'PF_ERR_NO_HANDLER');
  t.is((error as { hook?: string }).hook, 'createSandbox');
  t.regex(error!.message, /createSandbox/);
});

test('a message for a domain whose deploy fails gets an error RESPONSE, not silence', async (t) => {
  const domain = await catalogue(t, { default: { component: builtStub('echo-c') } });
  domain.override(WELL_KNOWN, { status: 404 });
  const rt = runtime(t);
  const me = `hyperty://${domain.domain}/me`;
  const got = new Promise((resolve) => rt.bus.addListener(me, resolve));
  rt.bus.postMessage({ id: 'q1', type: 'CREATE', from: me, to: `hyperty://${domain.domain}/bob`, body: {} });
  t.like(await got, { id: 'q1', type: 'RESPONSE', to: me, body: { code: 404, error: 'PF_ERR_DESCRIPTOR_NOT_FOUND' } });
});
