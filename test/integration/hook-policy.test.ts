// Issue 17: what a plugin's failure does to a deploy, hook by hook. A
// required tap's failure fails the deploy and names the hook and the plugin;
// an optional one's is reported on the `error` hook and the deploy goes on.
// With the C echo stub, from a real HTTP catalogue.
import test, { type ExecutionContext } from 'ava';
import type { Catalogue } from '../../domain/catalogue.ts';
import { isProtoflyError, type ProtoflyError } from '../../kernel/errors.ts';
import type { HookName, HookPolicies, HookPolicy } from '../../kernel/hook-policy.ts';
import type { Plugin } from '../../kernel/runtime.ts';
import { builtStub } from '../helpers/built.ts';
import { catalogue, inbox, runtime } from '../helpers/runtime.ts';

const WELL_KNOWN = '/.well-known/protocolstub/default';
const echo = () => ({ default: { component: builtStub('echo-c') } });

/** A plugin whose one tap fails; `policy` is the tap's own, when given. */
type Failing = (policy?: HookPolicy) => Plugin;

interface Case {
  /** The hook's tapable kind, and how the failing tap is written. */
  kind: string;
  hook: HookName;
  plugin: string;
  failing: Failing;
  /** The hook's policy when nobody says otherwise. */
  byDefault: HookPolicy;
}

const own = (name: string, policy?: HookPolicy) => (policy ? { name, policy } : name);

const CASES: Case[] = [
  {
    kind: 'async series bail (a promise tap)',
    hook: 'credentials',
    plugin: 'SealedVault',
    byDefault: 'required',
    failing: (policy) => ({
      name: 'SealedVault',
      apply(rt) { rt.hooks.credentials.tapPromise(own('SealedVault', policy), async () => { throw new Error('the vault is sealed'); }); },
    }),
  },
  {
    kind: 'sync waterfall (a sync tap)',
    hook: 'descriptorUrl',
    plugin: 'BrokenRewrite',
    byDefault: 'required',
    failing: (policy) => ({
      name: 'BrokenRewrite',
      apply(rt) { rt.hooks.descriptorUrl.tap(own('BrokenRewrite', policy), () => { throw new TypeError('no rewrite table'); }); },
    }),
  },
  {
    kind: 'async series (a callback tap)',
    hook: 'checkDescriptor',
    plugin: 'Scanner',
    byDefault: 'required',
    failing: (policy) => ({
      name: 'Scanner',
      apply(rt) { rt.hooks.checkDescriptor.tapAsync(own('Scanner', policy), (_descriptor, _context, done) => done(new Error('the scanner is down'))); },
    }),
  },
  {
    kind: 'async parallel (a promise tap)',
    hook: 'registerInDomain',
    plugin: 'RemoteRegistrar',
    byDefault: 'required',
    failing: (policy) => ({
      name: 'RemoteRegistrar',
      apply(rt) { rt.hooks.registerInDomain.tapPromise(own('RemoteRegistrar', policy), async () => { throw new Error('ECONNREFUSED'); }); },
    }),
  },
  {
    kind: 'sync (a sync tap)',
    hook: 'step',
    plugin: 'ProgressBar',
    byDefault: 'optional',
    failing: (policy) => ({
      name: 'ProgressBar',
      apply(rt) {
        rt.hooks.step.tap(own('ProgressBar', policy), (event) => {
          if (event.hook === 'instantiate' && event.phase === 'start') throw new Error('the terminal went away');
        });
      },
    }),
  },
];

const skipped = (errors: ProtoflyError[]) => errors.filter((e) => e.code === 'PF_ERR_OPTIONAL_PLUGIN');

/** The deployed stub answers a message. */
async function answers(t: ExecutionContext, rt: ReturnType<typeof runtime>, domain: Catalogue) {
  const me = `hyperty://${domain.domain}/me`;
  const replies = inbox(rt, me);
  rt.bus.postMessage({ id: 'ping', type: 'CREATE', from: me, to: `hyperty://${domain.domain}/echo`, body: { n: 1 } });
  await replies.waitFor(1);
  t.like(replies.messages[0], { type: 'RESPONSE', from: `hyperty://${domain.domain}/echo`, body: { n: 1 } });
}

async function failsTheDeploy(t: ExecutionContext, c: Case, options: { policy?: HookPolicy; hookPolicy?: HookPolicies }) {
  const domain = await catalogue(t, echo());
  const rt = runtime(t, { plugins: [c.failing(options.policy)], hookPolicy: options.hookPolicy });
  const error = await t.throwsAsync(rt.deployStub(domain.origin)) as ProtoflyError;
  t.like(error, { code: 'PF_ERR_PLUGIN', hook: c.hook, plugin: c.plugin, domain: domain.domain });
  t.regex(error.message, new RegExp(`^${c.plugin} failed at "${c.hook}"`));
  t.deepEqual(rt.registry.list(), [], 'nothing stays registered');
  t.deepEqual(skipped(rt.errors), []);
}

async function goesOn(t: ExecutionContext, c: Case, options: { policy?: HookPolicy; hookPolicy?: HookPolicies }) {
  const domain = await catalogue(t, echo());
  const rt = runtime(t, { plugins: [c.failing(options.policy)], hookPolicy: options.hookPolicy });
  const stub = await rt.deployStub(domain.origin);
  t.is(stub.status, 'LIVE');
  await answers(t, rt, domain);
  t.is(rt.errors.length, 1, rt.errors.map((e) => e.message).join('\n'));
  t.like(rt.errors[0], { code: 'PF_ERR_OPTIONAL_PLUGIN', hook: c.hook, plugin: c.plugin, domain: domain.domain });
  t.regex(rt.errors[0].message, new RegExp(`^${c.plugin} failed at "${c.hook}" and the hook went on without it`));
}

for (const c of CASES) {
  if (c.byDefault === 'required') {
    test(`a failing ${c.kind} tap on ${c.hook} is required by default: the deploy fails naming the hook and the plugin, nothing stays registered`, async (t) => {
      await failsTheDeploy(t, c, {});
    });
    test(`a failing ${c.kind} tap on ${c.hook} made optional by createRuntime's hookPolicy: the deploy goes on, the stub answers, one error event names the hook and the plugin`, async (t) => {
      await goesOn(t, c, { hookPolicy: { [c.hook]: 'optional' } });
    });
  } else {
    test(`a failing ${c.kind} tap on ${c.hook} made required by createRuntime's hookPolicy: the deploy fails naming the hook and the plugin, nothing stays registered`, async (t) => {
      await failsTheDeploy(t, c, { hookPolicy: { [c.hook]: 'required' } });
    });
    test(`a failing ${c.kind} tap on ${c.hook} is optional by default: the deploy goes on, the stub answers, one error event names the hook and the plugin`, async (t) => {
      await goesOn(t, c, {});
    });
  }
  const theirs: HookPolicy = c.byDefault === 'required' ? 'optional' : 'required';
  test(`a failing ${c.kind} tap on ${c.hook} that says it is ${theirs} is taken at its word`, async (t) => {
    await (theirs === 'optional' ? goesOn(t, c, { policy: theirs }) : failsTheDeploy(t, c, { policy: theirs }));
  });
}

test('the operator\'s word for a tap beats the plugin\'s own: an optional-by-itself tap made required fails the deploy', async (t) => {
  const registrar = CASES.find((c) => c.hook === 'registerInDomain')!;
  await failsTheDeploy(t, registrar, { policy: 'optional', hookPolicy: { registerInDomain: { RemoteRegistrar: 'required' } } });
});

test('an optional tap that alone would have answered its step is reported, then the step fails with PF_ERR_NO_HANDLER', async (t) => {
  const domain = await catalogue(t, echo());
  domain.override(WELL_KNOWN, { status: 404 });
  const rt = runtime(t, { hookPolicy: { fetchDescriptor: { DescriptorPlugin: 'optional' } } });
  const seen: string[] = [];
  rt.hooks.error.tap('order', (e) => { seen.push(e.code); });
  const error = await t.throwsAsync(rt.deployStub(domain.origin)) as ProtoflyError;
  seen.push(error.code);
  // The report says why nobody answered: the descriptor plugin's own error is its cause.
  t.like(error, { code: 'PF_ERR_NO_HANDLER', hook: 'fetchDescriptor' });
  t.deepEqual(seen, ['PF_ERR_OPTIONAL_PLUGIN', 'PF_ERR_NO_HANDLER'], 'the report comes first');
  const [report] = skipped(rt.errors);
  t.like(report, { hook: 'fetchDescriptor', plugin: 'DescriptorPlugin', domain: domain.domain });
  t.true(isProtoflyError(report.cause, 'PF_ERR_DESCRIPTOR_NOT_FOUND'));
  t.regex(report.message, /PF_ERR_DESCRIPTOR_NOT_FOUND/);
  t.is(rt.errors.length, 1);
});

test('a monitoring tap on status that throws, tapped before the bus and the lifecycle, keeps neither from hearing LIVE', async (t) => {
  const domain = await catalogue(t, echo());
  const monitor: Plugin = {
    name: 'Monitor',
    apply(rt) { rt.hooks.status.tap('Monitor', (_stub, value) => { if (value === 'LIVE') throw new Error('dashboard unreachable'); }); },
  };
  const rt = runtime(t, { plugins: [monitor] });
  const stub = await rt.deployStub(domain.origin);
  await answers(t, rt, domain);
  t.deepEqual(rt.errors.map((e) => [e.code, e.hook, e.plugin, e.stubURL]), [['PF_ERR_OPTIONAL_PLUGIN', 'status', 'Monitor', stub.stubURL]]);
});

test('an error tap that throws is reported to the other error taps once and does not go round', async (t) => {
  const domain = await catalogue(t, echo());
  let logged = 0;
  const logger: Plugin = {
    name: 'Logger',
    apply(rt) { rt.hooks.error.tap('Logger', () => { logged++; throw new Error('log disk full'); }); },
  };
  const registrar = CASES.find((c) => c.hook === 'registerInDomain')!;
  const rt = runtime(t, { plugins: [logger, registrar.failing('optional')] });
  await rt.deployStub(domain.origin);
  await answers(t, rt, domain);
  // It heard the registrar's failure and the unsigned stub's warning, never a report of its own failure.
  t.is(logged, 1 + rt.warnings.length);
  const aboutLogger = rt.errors.filter((e) => e.plugin === 'Logger');
  t.is(aboutLogger.length, logged, 'each failure of the logger reported once');
  t.true(aboutLogger.every((e) => e.code === 'PF_ERR_OPTIONAL_PLUGIN' && e.hook === 'error'));
  t.deepEqual(rt.errors.filter((e) => e.plugin !== 'Logger').map((e) => [e.hook, e.plugin]), [['registerInDomain', 'RemoteRegistrar']]);
});

test('the domain registry plugin\'s own fault is reported and never fails the deploy', async (t) => {
  const domain = await catalogue(t, echo());
  const rt = runtime(t, { domainRegistry: { endpoint: 'http://[not-a-host' } });
  const stub = await rt.deployStub(domain.origin);
  t.is(stub.status, 'LIVE');
  t.deepEqual(rt.errors.map((e) => [e.code, e.hook, e.plugin]), [['PF_ERR_OPTIONAL_PLUGIN', 'registerInDomain', 'DomainRegistryPlugin']]);
});
