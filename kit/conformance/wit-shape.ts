// Check (a): the component is of the protostub world, read from what jco's
// transpiler reports it imports and exports, and the interface typings it
// generates from the component's own types.
import { transpile } from '@bytecodealliance/jco';
import { describe } from '../../kernel/errors.ts';
import { HOST_INTERFACE, STUB_INTERFACE } from '../../plugins/sandbox/component-instance.ts';
import { fail, pass, type Check } from './types.ts';

export const WIT_SHAPE = 'wit-shape';

// As jco types them for stubs/wit/protostub.wit (result<_, string> is a
// `void` that throws): any other signature is another contract.
const STUB_FUNCTIONS: Record<string, string> = {
  init: '(config: Uint8Array): void',
  onMessages: '(batch: Uint8Array): void',
  onOpen: '(conn: number): void',
  onFrame: '(conn: number, frame: Uint8Array): void',
  onClose: '(conn: number, reason: string): void',
  onTimer: '(id: number): void',
};
const HOST_FUNCTIONS: Record<string, string> = {
  post: '(batch: Uint8Array): void',
  open: '(url: string, protocols: Array<string>): number',
  send: '(conn: number, frame: Uint8Array): void',
  close: '(conn: number): void',
  setTimer: '(ms: number): number',
  clearTimer: '(id: number): void',
  log: '(level: number, text: string): void',
};

function declaredFunctions(dts: string | undefined): Map<string, string> {
  const found = new Map<string, string>();
  for (const match of (dts ?? '').matchAll(/export function (\w+)(\(.*\): [^;]+);/g)) found.set(match[1], match[2]);
  return found;
}

function mismatches(declared: Map<string, string>, expected: Record<string, string>, all: boolean): string[] {
  const problems: string[] = [];
  for (const [name, signature] of declared) {
    if (!(name in expected)) problems.push(`unexpected ${name}${signature}`);
    else if (expected[name] !== signature) problems.push(`${name}${signature} instead of ${name}${expected[name]}`);
  }
  if (all) for (const name of Object.keys(expected)) if (!declared.has(name)) problems.push(`no ${name}`);
  return problems;
}

export async function checkWitShape(component: Uint8Array): Promise<Check> {
  let out: Awaited<ReturnType<typeof transpile>>;
  try {
    out = await transpile(component, { name: 'stub', instantiation: 'async', noTypescript: false, validLiftingOptimization: true });
  } catch (error) {
    return fail(WIT_SHAPE, `jco cannot transpile it: ${describe(error)}`);
  }
  const files = out.files as unknown as Record<string, Uint8Array>;
  const text = (path: string) => (files[path] ? new TextDecoder().decode(files[path]) : undefined);
  // jco names imports without their version and exports with it.
  const badImports = out.imports.filter((name) => name !== HOST_INTERFACE && name !== `${HOST_INTERFACE}@0.1.0`);
  if (badImports.length) return fail(WIT_SHAPE, `imports ${badImports.join(', ')}: only ${HOST_INTERFACE} is offered`);
  const exported = out.exports.map(([name]) => name);
  if (!exported.includes(STUB_INTERFACE)) return fail(WIT_SHAPE, `exports ${exported.join(', ') || 'nothing'}, not ${STUB_INTERFACE}`);
  const stubProblems = mismatches(declaredFunctions(text('interfaces/protofly-stub-stub.d.ts')), STUB_FUNCTIONS, true);
  if (stubProblems.length) return fail(WIT_SHAPE, `${STUB_INTERFACE}: ${stubProblems.join('; ')}`);
  const hostProblems = mismatches(declaredFunctions(text('interfaces/protofly-stub-host.d.ts')), HOST_FUNCTIONS, false);
  if (hostProblems.length) return fail(WIT_SHAPE, `${HOST_INTERFACE}: ${hostProblems.join('; ')}`);
  return pass(WIT_SHAPE, `exports ${STUB_INTERFACE} (${Object.keys(STUB_FUNCTIONS).length} functions), imports ${out.imports.join(', ') || 'nothing'}`);
}
