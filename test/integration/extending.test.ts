// What plugin authors rely on: replacing a step by tapping earlier, taking
// credentials from elsewhere, the catalogue host convention.
import test from 'ava';
import { catalogueHostPlugin } from '../../plugins/descriptor/plugin.ts';
import { createKernel } from '../../kernel/runtime.ts';
import { parseDomain } from '../../kernel/address.ts';
import type { Plugin } from '../../kernel/runtime.ts';
import { builtStub } from '../helpers/built.ts';
import { catalogue, runtime } from '../helpers/runtime.ts';
import { descriptorPlugin } from '../../plugins/descriptor/plugin.ts';

test('the descriptor URL is the well-known URI, and the catalogue host convention is one plugin away', (t) => {
  const plain = createKernel({ plugins: [descriptorPlugin()] });
  t.is(plain.hooks.descriptorUrl.call('', parseDomain('example.com'), 'default'), 'https://example.com/.well-known/protocolstub/default');
  const reThink = createKernel({ plugins: [descriptorPlugin(), catalogueHostPlugin()] });
  t.is(reThink.hooks.descriptorUrl.call('', parseDomain('example.com'), 'chat'), 'https://catalogue.example.com/.well-known/protocolstub/chat');
});

test('a plugin that taps before the default replaces its step', async (t) => {
  const domain = await catalogue(t, { default: { component: builtStub('echo-c') } });
  const served = domain.descriptor('default');
  let asked = 0;
  const pinned: Plugin = {
    name: 'PinnedDescriptor',
    apply(rt) {
      rt.hooks.fetchDescriptor.tapPromise({ name: 'PinnedDescriptor', stage: -10 }, async () => {
        asked++;
        return served as never;
      });
    },
  };
  const rt = runtime(t, { plugins: [pinned] });
  const stub = await rt.deployStub(domain.origin);
  t.is(stub.status, 'LIVE');
  t.is(asked, 1);
  t.is(domain.hits('/.well-known/protocolstub/default'), 0, 'the default fetch never ran');
});

test('credentials can come from a lookup the application provides', async (t) => {
  const domain = await catalogue(t, { default: { component: builtStub('echo-c') } });
  const asked: string[] = [];
  const rt = runtime(t, { identity: { lookup: (name) => { asked.push(name); return { token: 't0k3n' }; } } });
  await rt.deployStub(domain.origin);
  t.deepEqual(asked, [domain.domain]);
});
