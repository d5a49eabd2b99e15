// The deploy printout of `protofly demo` and `protofly deploy`: a step's
// sub-steps under it, a check (signature, integrity) with its verdict.
import test, { type ExecutionContext } from 'ava';
import { pfError } from '../../kernel/errors.ts';
import type { StepEvent } from '../../kernel/types.ts';
import { printSteps } from '../../cli/step-printer.ts';
import { runtime } from '../helpers/runtime.ts';

// A runtime that deploys nothing: the events are what a deploy would emit, in its order.
function printed(t: ExecutionContext, events: StepEvent[]): string[] {
  const rt = runtime(t, { cacheDir: false });
  const lines: string[] = [];
  printSteps(rt, 'alpha', (line) => lines.push(line));
  for (const event of events) rt.hooks.step.call(event);
  return lines;
}

const A = '127.0.0.1:8080';
const B = '127.0.0.1:9090';

test('a sub-step prints under the step it is part of, a passed signature check with ✓ and its time', (t) => {
  t.deepEqual(printed(t, [
    { domain: A, hook: 'fetchDescriptor', ms: 0, phase: 'start' },
    { domain: A, hook: 'signature', parent: 'fetchDescriptor', ms: 0.31, phase: 'end' },
    { domain: A, hook: 'fetchDescriptor', ms: 12.04, phase: 'end' },
    { domain: A, hook: 'loadSource', ms: 0, phase: 'start' },
    { domain: A, hook: 'download', parent: 'loadSource', ms: 8, phase: 'end' },
    { domain: A, hook: 'signature', parent: 'loadSource', ms: 1.26, phase: 'end' },
    { domain: A, hook: 'loadSource', ms: 10, phase: 'end' },
  ]), [
    '  alpha  fetchDescriptor       12.0 ms',
    '  alpha    signature ✓          0.3 ms',
    '  alpha  loadSource            10.0 ms',
    '  alpha    download             8.0 ms',
    '  alpha    signature ✓          1.3 ms',
  ]);
});

test('a refused signature prints its code under the step that failed', (t) => {
  const refused = pfError('PF_ERR_SIGNATURE_UNTRUSTED', ['the component', 1]);
  t.deepEqual(printed(t, [
    { domain: A, hook: 'signature', parent: 'loadSource', ms: 0.5, phase: 'error', error: refused },
    { domain: A, hook: 'loadSource', ms: 3, phase: 'error', error: refused },
  ]), [
    '  alpha  loadSource        failed: the component is signed, but by none of the 1 trusted key',
    '  alpha    signature ✗ PF_ERR_SIGNATURE_UNTRUSTED: the component is signed, but by none of the 1 trusted key',
  ]);
});

test('two domains deploying at once each keep their own sub-steps', (t) => {
  t.deepEqual(printed(t, [
    { domain: A, hook: 'signature', parent: 'loadSource', ms: 0.2, phase: 'end' },
    { domain: B, hook: 'download', parent: 'loadSource', ms: 4, phase: 'end' },
    { domain: B, hook: 'loadSource', ms: 5, phase: 'end' },
    { domain: A, hook: 'loadSource', ms: 6, phase: 'end' },
  ]), [
    '  alpha  loadSource             5.0 ms',
    '  alpha    download             4.0 ms',
    '  alpha  loadSource             6.0 ms',
    '  alpha    signature ✓          0.2 ms',
  ]);
});
