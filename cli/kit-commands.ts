// `protofly stub new|build` and `protofly conformance`: the stub kit.
import { buildStub } from '../kit/build-stub.ts';
import { runConformanceGuarded } from '../kit/conformance/guarded.ts';
import { resolve } from 'node:path';
import { formatReport } from '../kit/conformance/print.ts';
import { newStub } from '../kit/new-stub.ts';
import { pfError } from '../kernel/errors.ts';
import { flagString, type Args } from './args.ts';
import { keygenCommand, readKeyPair, signCommand, verifyCommand } from './sign-commands.ts';

export async function stubCommand(args: Args): Promise<number> {
  const [sub, target] = args.positional;
  if (sub === 'new') {
    if (!target) throw pfError('PF_ERR_KIT_USAGE', ['stub new needs a name: protofly stub new <name> --lang ts|c']);
    const lang = flagString(args, 'lang');
    if (!lang) throw pfError('PF_ERR_KIT_USAGE', ['stub new needs --lang ts or --lang c']);
    const dir = await newStub({ name: target, lang, parent: flagString(args, 'dir') });
    console.log(`created ${dir}\nnext: protofly stub build ${dir}`);
    return 0;
  }
  if (sub === 'build') {
    if (!target) throw pfError('PF_ERR_KIT_USAGE', ['stub build needs the stub folder: protofly stub build <dir>']);
    const keyFile = flagString(args, 'key');
    const key = keyFile === undefined ? undefined : await readKeyPair(keyFile);
    const built = await buildStub(target, { inline: args.flags.has('inline'), key });
    // stdout carries only the descriptor, so it can be piped to a file.
    console.error(`built ${built.path} (${(built.bytes / 1024).toFixed(0)} KiB, ${built.ms} ms${built.compiler ? `, ${built.compiler}` : ''})`);
    console.error(built.runsOn.kind === 'direct'
      ? 'runs on the direct path (exactly the protofly:stub@0.1.0 world: no glue per call)'
      : `runs through jco's glue: the direct path declined it (${built.runsOn.declined})`);
    if (key) console.error('signed, component and descriptor, with the key pair in ' + keyFile);
    console.error('the descriptor to publish:');
    console.log(JSON.stringify(built.descriptor, null, 2));
    return 0;
  }
  if (sub === 'keygen') return keygenCommand(target);
  if (sub === 'sign') return signCommand(target, args);
  if (sub === 'verify') return verifyCommand(target, args);
  throw pfError('PF_ERR_KIT_USAGE', [`unknown stub command "${sub ?? ''}" (new, build, keygen, sign or verify)`]);
}

export async function conformanceCommand(args: Args, json: boolean): Promise<number> {
  const component = args.positional[0];
  if (!component) throw pfError('PF_ERR_KIT_USAGE', ['conformance needs a component: protofly conformance <component.wasm>']);
  const config = flagString(args, 'config');
  let configuration: Record<string, unknown> | undefined;
  if (config !== undefined) {
    try {
      configuration = JSON.parse(config) as Record<string, unknown>;
    } catch (error) {
      throw pfError('PF_ERR_KIT_USAGE', [`--config is not JSON (${(error as Error).message})`]);
    }
    if (typeof configuration !== 'object' || configuration === null || Array.isArray(configuration)) {
      throw pfError('PF_ERR_KIT_USAGE', ['--config must be a JSON object']);
    }
  }
  const timeoutSeconds = Number(flagString(args, 'timeout') ?? 120);
  if (!(timeoutSeconds > 0)) throw pfError('PF_ERR_KIT_USAGE', ['--timeout is a number of seconds']);
  const report = await runConformanceGuarded(resolve(component), {
    brokerURL: flagString(args, 'broker'),
    user: flagString(args, 'user'),
    password: flagString(args, 'password'),
    path: conformancePath(flagString(args, 'path')),
    configuration,
  }, timeoutSeconds * 1000);
  console.log(json ? JSON.stringify(report, null, 2) : formatReport(report));
  return report.ok ? 0 : 1;
}

function conformancePath(value: string | undefined): 'direct' | 'jco' | 'auto' | undefined {
  if (value === undefined || value === 'direct' || value === 'jco' || value === 'auto') return value;
  throw pfError('PF_ERR_KIT_USAGE', [`--path is direct, jco or auto, not "${value}"`]);
}
