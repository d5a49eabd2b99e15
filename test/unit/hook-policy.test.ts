// Which policy a tap runs under, and what each policy does with a failing
// tap of each style, on the kernel's own (interpreted) hooks.
import test from 'ava';
import { parseDomain } from '../../kernel/address.ts';
import { isProtoflyError, pfError, type ProtoflyError } from '../../kernel/errors.ts';
import { createHooks } from '../../kernel/hooks.ts';
import { DEFAULT_POLICY, installHookPolicy, policyOf, type HookPolicies } from '../../kernel/hook-policy.ts';
import type { DeployContext, StubRecord } from '../../kernel/types.ts';

function policed(policies?: HookPolicies) {
  const hooks = createHooks();
  installHookPolicy(hooks, policies);
  const errors: ProtoflyError[] = [];
  hooks.error.tap('collect', (error) => { errors.push(error); });
  return { hooks, errors };
}

const domain = parseDomain('127.0.0.1:9');
const context = { domain, descriptorName: 'default', steps: [] } as unknown as DeployContext;
const record = { domain, stubURL: 'hyperty-runtime://127.0.0.1:9/protostub/1', name: 'default' } as unknown as StubRecord;

test('the operator\'s word for a tap beats theirs for the hook, which beats the plugin\'s own, which beats the default', (t) => {
  const tap = { name: 'Mine', policy: 'optional' as const };
  t.is(policyOf('fetchDescriptor', { name: 'Mine' }), 'required', 'the default');
  t.is(policyOf('fetchDescriptor', tap), 'optional', 'the plugin\'s own');
  t.is(policyOf('fetchDescriptor', tap, { fetchDescriptor: 'required' }), 'required', 'the operator\'s for the hook');
  t.is(policyOf('fetchDescriptor', tap, { fetchDescriptor: { '*': 'required' } }), 'required', 'the operator\'s for the hook\'s other taps');
  t.is(policyOf('fetchDescriptor', { name: 'Mine' }, { fetchDescriptor: { '*': 'required', Mine: 'optional' } }), 'optional', 'the operator\'s for the tap');
  t.is(policyOf('fetchDescriptor', tap, { fetchDescriptor: { Other: 'required' } }), 'optional', 'another tap\'s entry leaves this one to its own');
  t.is(policyOf('status', { name: 'Monitor', policy: 'required' }), 'required', 'a plugin may also insist on failing its hook');
});

test('deploy steps are required and notifications and teardown optional by default', (t) => {
  t.is(DEFAULT_POLICY.resolveStub, 'required');
  t.is(DEFAULT_POLICY.registerInDomain, 'required');
  t.is(DEFAULT_POLICY.checkSource, 'required');
  t.is(DEFAULT_POLICY.stopInstance, 'required');
  for (const hook of ['status', 'stubFailed', 'stubLog', 'step', 'error', 'deployFailed', 'undeploy', 'close'] as const) {
    t.is(DEFAULT_POLICY[hook], 'optional', hook);
  }
});

test('the policy reaches every tap of the interpreted hooks, those tapped before it was installed too, and each tap carries the policy it runs under', (t) => {
  const hooks = createHooks();
  hooks.status.tap('Early', () => {});
  installHookPolicy(hooks, { registerInDomain: { Operator: 'optional' } });
  hooks.registerInDomain.tapPromise('Operator', async () => {});
  hooks.registerInDomain.tapPromise('Plain', async () => {});
  hooks.registerInDomain.tapPromise({ name: 'Own', policy: 'optional' }, async () => {});
  t.deepEqual(hooks.registerInDomain.taps.map((tap) => [tap.name, (tap as { policy?: string }).policy]), [['Operator', 'optional'], ['Plain', 'required'], ['Own', 'optional']]);
  t.is((hooks.status.taps[0] as { policy?: string }).policy, 'optional');
});

test('an optional tap that fails, in any style, is reported once and its bail hook asks the next tap', async (t) => {
  const { hooks, errors } = policed({ credentials: 'optional' });
  hooks.credentials.tap('SyncThrows', () => { throw new Error('sync'); });
  hooks.credentials.tapAsync('CallsBackAnError', (_context, done) => done(new Error('callback')));
  hooks.credentials.tapAsync('ThrowsBeforeCallingBack', () => { throw new Error('async throw'); });
  hooks.credentials.tapPromise('Rejects', async () => { throw new Error('promise'); });
  hooks.credentials.tapPromise('Answers', async () => ({ token: 'ok' }));
  t.deepEqual(await hooks.credentials.promise(context), { token: 'ok' });
  t.deepEqual(errors.map((e) => [e.code, e.hook, e.plugin, e.domain]), [
    ['PF_ERR_OPTIONAL_PLUGIN', 'credentials', 'SyncThrows', '127.0.0.1:9'],
    ['PF_ERR_OPTIONAL_PLUGIN', 'credentials', 'CallsBackAnError', '127.0.0.1:9'],
    ['PF_ERR_OPTIONAL_PLUGIN', 'credentials', 'ThrowsBeforeCallingBack', '127.0.0.1:9'],
    ['PF_ERR_OPTIONAL_PLUGIN', 'credentials', 'Rejects', '127.0.0.1:9'],
  ]);
  t.is((errors[3].cause as Error).message, 'promise');
  t.regex(errors[0].message, /SyncThrows failed at "credentials" and the hook went on without it/);
});

test('an optional tap that fails leaves a waterfall\'s value as it was', (t) => {
  const { hooks, errors } = policed();
  hooks.descriptorUrl.tap('Base', () => 'http://a/');
  hooks.descriptorUrl.tap({ name: 'Broken', policy: 'optional' }, () => { throw new TypeError('nope'); });
  hooks.descriptorUrl.tap('Suffix', (url) => `${url}x`);
  t.is(hooks.descriptorUrl.call('', domain, 'default'), 'http://a/x');
  t.is(errors.length, 1);
});

test('an optional tap that fails lets the other taps of a parallel and of a series hook finish, and the hook succeeds', async (t) => {
  const { hooks, errors } = policed({ registerInDomain: 'optional', stopInstance: 'optional' });
  const ran: string[] = [];
  hooks.registerInDomain.tapPromise('Broken', async () => { throw new Error('down'); });
  hooks.registerInDomain.tapPromise('Fine', async () => { ran.push('parallel'); });
  hooks.stopInstance.tapPromise('Broken', async () => { throw new Error('stuck'); });
  hooks.stopInstance.tap('Fine', () => { ran.push('series'); });
  await hooks.registerInDomain.promise(record);
  await hooks.stopInstance.promise(record, 'restart');
  t.deepEqual(ran, ['parallel', 'series']);
  t.deepEqual(errors.map((e) => [e.hook, e.stubURL]), [['registerInDomain', record.stubURL], ['stopInstance', record.stubURL]]);
});

test('a required tap that throws something other than a ProtoflyError fails its hook with PF_ERR_PLUGIN naming the hook and the tap', async (t) => {
  const { hooks, errors } = policed();
  hooks.attach.tapAsync('Broken', (_context, done) => done(new Error('bus gone')));
  const error = await t.throwsAsync(hooks.attach.promise(context)) as ProtoflyError;
  t.like(error, { code: 'PF_ERR_PLUGIN', hook: 'attach', plugin: 'Broken', domain: '127.0.0.1:9' });
  t.is(error.message, 'Broken failed at "attach": bus gone');
  t.deepEqual(errors, [], 'a required failure is its caller\'s, not an error event');
});

test('a required tap\'s ProtoflyError reaches the caller as it was thrown', async (t) => {
  const { hooks } = policed();
  const thrown = pfError('PF_ERR_DESCRIPTOR_NOT_FOUND', ['http://a/']);
  hooks.fetchDescriptor.tapPromise('Descriptor', async () => { throw thrown; });
  t.is(await t.throwsAsync(hooks.fetchDescriptor.promise('http://a/', context)), thrown);
});

test('an optional check still refuses with a ProtoflyError, and passes over anything else it throws', async (t) => {
  const { hooks, errors } = policed({ checkSource: 'optional' });
  const refusal = pfError('PF_ERR_SIGNATURE_INVALID', ['the component', 'changed']);
  let refuse = true;
  hooks.checkSource.tapPromise('Signature', async () => { if (refuse) throw refusal; throw new TypeError('bug'); });
  t.is(await t.throwsAsync(hooks.checkSource.promise(new Uint8Array(), context)), refusal);
  t.deepEqual(errors, []);
  refuse = false;
  await hooks.checkSource.promise(new Uint8Array(), context);
  t.deepEqual(errors.map((e) => [e.code, e.plugin]), [['PF_ERR_OPTIONAL_PLUGIN', 'Signature']]);
});

test('an error tap that throws is reported to the other error taps once, and never to itself', (t) => {
  const { hooks, errors } = policed();
  let calls = 0;
  hooks.error.tap('BrokenLogger', () => { calls++; throw new Error('log full'); });
  hooks.error.tap('AlsoBroken', () => { throw new Error('also'); });
  hooks.error.call(pfError('PF_ERR_NO_ROUTE', ['hyperty://x/y']));
  t.is(calls, 2, 'the original error, and AlsoBroken\'s failure; not its own');
  // Each failure on the original error is reported; their failures on those reports are not.
  t.deepEqual(errors.map((e) => [e.code, e.plugin]), [
    ['PF_ERR_NO_ROUTE', undefined],
    ['PF_ERR_OPTIONAL_PLUGIN', 'BrokenLogger'],
    ['PF_ERR_OPTIONAL_PLUGIN', 'AlsoBroken'],
  ]);
});

test('an async error tap that rejects is reported once, not round and round', async (t) => {
  const { hooks, errors } = policed();
  let calls = 0;
  hooks.error.tap('AsyncLogger', (async () => { calls++; throw new Error('disk'); }) as unknown as () => void);
  hooks.error.call(pfError('PF_ERR_NO_ROUTE', ['hyperty://x/y']));
  await new Promise((resolve) => setTimeout(resolve, 20));
  t.is(calls, 1);
  t.deepEqual(errors.map((e) => [e.code, e.plugin]), [['PF_ERR_NO_ROUTE', undefined], ['PF_ERR_OPTIONAL_PLUGIN', 'AsyncLogger']]);
});

test('an unknown hook or policy in hookPolicy is refused when the runtime is made', (t) => {
  const hooks = createHooks();
  const misspelt = t.throws(() => installHookPolicy(hooks, { registerInDomian: 'optional' } as HookPolicies));
  t.true(isProtoflyError(misspelt, 'PF_ERR_HOOK_POLICY'));
  t.regex(misspelt!.message, /registerInDomian/);
  const wrong = t.throws(() => installHookPolicy(hooks, { status: { Monitor: 'maybe' } } as unknown as HookPolicies));
  t.regex(wrong!.message, /status\.Monitor is "maybe"/);
});
