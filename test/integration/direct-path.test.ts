// The direct path: components that are exactly the stub world run without
// jco's per-call glue; anything else goes to jco unchanged; a stub that lies
// through the canonical ABI fails with PF_ERR_ABI, never a host exception.
import test, { type ExecutionContext } from 'ava';
import { parse, print } from '@bytecodealliance/jco';
import fc from 'fast-check';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recognise } from '../../plugins/direct/component-shape.ts';
import type { StepEvent } from '../../kernel/types.ts';
import { builtStub } from '../helpers/built.ts';
import { catalogue, inbox, runtime } from '../helpers/runtime.ts';

const replaceSame = (bytes: Uint8Array, from: string, to: string) => {
  const text = Buffer.from(bytes).toString('latin1').split(from).join(to);
  return new Uint8Array(Buffer.from(text, 'latin1'));
};

test('components of exactly the stub world are recognised, whatever language built them', async (t) => {
  for (const name of ['echo-c', 'echo-as', 'mqtt-c', 'nats-rust', 'mqtt', 'hostile-trap']) {
    const verdict = recognise(await readFile(builtStub(name)));
    t.true(verdict.ok, `${name}: ${verdict.ok ? '' : verdict.reason}`);
  }
});

const EMPTY_CORE = [0, 0x61, 0x73, 0x6d, 1, 0, 0, 0];
const component = (...sections: number[][]) => new Uint8Array([0, 0x61, 0x73, 0x6d, 0x0d, 0, 1, 0, ...sections.flat()]);

test('anything else is declined, with the reason: another version, another import, a core module, garbage', async (t) => {
  const echo = new Uint8Array(await readFile(builtStub('echo-c')));
  const cases: Array<[string, Uint8Array, RegExp]> = [
    ['another WIT version', replaceSame(echo, 'protofly:stub/host@0.1.0', 'protofly:stub/host@0.2.0'), /import protofly:stub\/host@0\.2\.0/],
    ['another interface', replaceSame(echo, 'protofly:stub/host@0.1.0', 'protofly:stub/hast@0.1.0'), /import protofly:stub\/hast/],
    ['another export', replaceSame(echo, 'protofly:stub/stub@0.1.0', 'protofly:stub/stab@0.1.0'), /export|stub/],
    ['a core module', new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]), /not a component/],
    ['garbage', new Uint8Array([0, 0x61, 0x73, 0x6d, 0x0d, 0, 1, 0, 7, 0xff, 0xff]), /./],
    // An empty core module, then an instance of module 5, or of module 0 given instance 3.
    ['a core instance of a module not defined', component([1, 8, ...EMPTY_CORE], [2, 4, 1, 0, 5, 0]), /core instance of module 5, of 1 defined/],
    ['a core instance given an instance not defined', component([1, 8, ...EMPTY_CORE], [2, 8, 1, 0, 0, 1, 1, 0x78, 0x12, 3]), /argument x is instance 3, of 0 defined/],
  ];
  for (const [what, bytes, reason] of cases) {
    const verdict = recognise(bytes);
    t.false(verdict.ok, what);
    if (!verdict.ok) t.regex(verdict.reason, reason, what);
  }
});

test('whatever bytes it is given, the recogniser answers with a verdict and never throws', async (t) => {
  const source = new Uint8Array(await readFile(builtStub('mqtt-c')));
  fc.assert(fc.property(
    fc.array(fc.tuple(fc.nat(source.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
    fc.option(fc.nat(source.length), { freq: 5 }),
    (changes, cut) => {
      const bytes = source.slice(0, cut ?? source.length);
      for (const [at, byte] of changes) if (at < bytes.length) bytes[at] = byte;
      const verdict = recognise(bytes);
      return verdict.ok || verdict.reason.length > 0;
    },
  ), { numRuns: 3000 });
  t.pass();
});

/** Each edit of the text format applies, and the component it gives is declined for the reason expected. */
async function declinesEach(t: ExecutionContext, wat: string, cases: Array<[string, string, RegExp]>) {
  for (const [what, edited, reason] of cases) {
    t.not(edited, wat, `${what}: the edit applies`);
    const verdict = recognise(await parse(edited));
    t.false(verdict.ok, what);
    if (!verdict.ok) t.regex(verdict.reason, reason, what);
  }
}

test('names are followed, not trusted: a component binding a name to another function is declined', async (t) => {
  // Edited in the text format and encoded again: each edit keeps the
  // component valid (jco would run it), but one of its names now leads
  // somewhere else than the direct path would call.
  const wat = await print(await readFile(builtStub('mqtt-c')));
  t.true(recognise(await parse(wat)).ok, 'the text format round trip itself is recognised');
  const cases: Array<[string, string, RegExp]> = [
    ['close bound to clear-timer', wat.replace('(export "close" (func $close))', '(export "close" (func $clear-timer))'), /import close is bound to something other than the host's close/],
    ['on-open exported as on-timer', wat.replace('(with "import-func-on-open" (func $on-open))', '(with "import-func-on-open" (func $on-timer))'), /exported on-open is not the stub's on-open/],
    ['a shim calling another slot', wat.replace(/i32\.const 0\n(\s*)call_indirect \(type 0\)/, 'i32.const 1\n$1call_indirect (type 0)'), /neither the stub's nor wit-component's glue/],
  ];
  await declinesEach(t, wat, cases);
});

test('a lift or lower without the memory or realloc its types need is declined, as validation would refuse it', async (t) => {
  const wat = await print(await readFile(builtStub('mqtt-c')));
  const cases: Array<[string, string, RegExp]> = [
    ['on-messages without realloc', wat.replace(/(canon lift \(core func \$protofly:stub\/stub@0\.1\.0#on-messages\) \(memory \$memory\)) \(realloc \$cabi_realloc\)/, '$1'), /on-messages has no realloc option/],
    ['post without memory', wat.replace(/\(canon lower \(func \$post\) \(memory \$memory\)\)/, '(canon lower (func $post))'), /post has no memory option/],
  ];
  await declinesEach(t, wat, cases);
});

test('a component of the right shape whose code is not valid fails its deploy with PF_ERR_COMPONENT_INVALID on either path', async (t) => {
  // One instruction of the stub's code changed for one of the wrong type:
  // the shape is untouched, so only compiling can tell.
  const wat = await print(await readFile(builtStub('echo-c')));
  const broken = await parse(wat.replace('i32.add', 'i64.add'));
  t.true(recognise(broken).ok, 'the direct path recognises its shape');
  const dir = await mkdtemp(join(tmpdir(), 'protofly-invalid-'));
  const component = join(dir, 'broken.wasm');
  await writeFile(component, broken);
  const domain = await catalogue(t, { default: { component } });
  for (const directPath of [undefined, false] as const) {
    const rt = runtime(t, { directPath, cacheDir: false, sandbox: { kind: 'in-thread' } });
    const error = await t.throwsAsync(rt.deployStub(domain.origin));
    t.is((error as { code?: string }).code, 'PF_ERR_COMPONENT_INVALID', `direct path ${directPath}`);
  }
});

test('a recognised stub is deployed through the direct path and works like through jco', async (t) => {
  const domain = await catalogue(t, { default: { component: builtStub('echo-c') } });
  for (const directPath of [undefined, false] as const) {
    const rt = runtime(t, { directPath, cacheDir: false, sandbox: { kind: 'in-thread' } });
    const steps: string[] = [];
    rt.hooks.step.tap('test', (e: StepEvent) => { if (e.parent) steps.push(`${e.parent}:${e.hook}`); });
    const me = `hyperty://${domain.domain}/me`;
    const replies = inbox(rt, me);
    await rt.deployStub(domain.origin);
    rt.bus.postMessage({ id: 'x', type: 'CREATE', from: me, to: `hyperty://${domain.domain}/echo`, body: { text: 'é ✓' } });
    await replies.waitFor(1);
    t.like(replies.messages[0], { id: 'x', type: 'RESPONSE', body: { text: 'é ✓' } });
    t.is(steps.some((s) => s.endsWith(':transpile')), directPath === false, `direct path ${directPath}`);
  }
});

const LIES = [
  { lie: 'pointer', what: 'an out-of-range pointer', reason: /run past the stub's/ },
  { lie: 'length', what: 'a length past its memory', reason: /run past the stub's/ },
  { lie: 'align', what: 'a misaligned list', reason: /open protocols: pointer \d+ is not 4-aligned/ },
  { lie: 'utf8', what: 'invalid UTF-8', reason: /not valid UTF-8/ },
  { lie: 'realloc', what: 'an allocation outside its memory', reason: /cabi_realloc( for open error)?: .* run past the stub's/ },
] as const;

// jco's glue does not check these itself (it cuts a range short, repairs
// UTF-8): plugins/sandbox/jco-abi-guard.ts makes the same checks in front of it.
for (const { lie, what, reason } of LIES) for (const [path, directPath] of [['direct path', undefined], ['jco path', false]] as const) {
  test(`a stub that hands over ${what} is FAILED with PF_ERR_ABI, not a host exception (${path})`, async (t) => {
    const domain = await catalogue(t, { default: { component: builtStub('hostile-abi') } });
    const rt = runtime(t, { directPath, restart: { maxRestarts: 0 } });
    const statuses: Array<{ value: string; code?: unknown; reason?: unknown }> = [];
    rt.hooks.status.tap('test', (stub) => { statuses.push({ value: stub.status, code: stub.statusBody.code, reason: stub.statusBody.reason }); });
    await rt.deployStub(domain.origin);
    rt.bus.postMessage({ id: 'lie', type: 'CREATE', from: `hyperty://${domain.domain}/me`, to: `hyperty://${domain.domain}/${lie}`, body: { attack: true } });
    const failed = await new Promise<{ code?: unknown; reason?: unknown }>((resolve) => {
      const check = () => { const f = statuses.find((s) => s.value === 'FAILED'); if (f) resolve(f); else setTimeout(check, 5); };
      check();
    });
    t.is(failed.code, 'PF_ERR_ABI');
    t.regex(String(failed.reason), reason);
  });
}
