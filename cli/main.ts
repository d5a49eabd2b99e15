// `protofly <command>`: demo, deploy, serve, stub, conformance.
import { createRuntime } from '../index.ts';
import { parseDomain } from '../kernel/address.ts';
import { isProtoflyError } from '../kernel/errors.ts';
import type { Runtime } from '../kernel/runtime.ts';
import { serveDemo } from '../domain/demo-server.ts';
import { LOCAL_STUBS, serveDomain, type LocalStubName } from '../domain/serve.ts';
import { flagNumber, flagString, parseArgs, type Args } from './args.ts';
import { runDemo } from './demo.ts';
import { conformanceCommand, stubCommand } from './kit-commands.ts';
import { readKeyPair } from './sign-commands.ts';
import { startResidentRuntime } from './resident-runtime.ts';
import { printSteps } from './step-printer.ts';

const USAGE = `protofly — deploy protocol stubs on the fly

  protofly demo [--json] [--count N] [--broker ws://…] [--stub mqtt-c|mqtt-ts]
      a local domain, two runtimes, a stub in each, messages between them
      (the C MQTT stub unless --stub names the TypeScript one)
  protofly deploy <domain> [--json] [--name N] [--user U --password P] [--pin ed25519:…[,…]] [--require-signed]
      deploys the domain's stub and waits for its status; --pin runs it only
      if signed by that key (the domain's), --require-signed only if signed
  protofly serve [<stub dir>] [--port N] [--broker-port N] [--broker ws://…] [--user U --password P] [--stub mqtt-c|mqtt-ts] [--key <file>]
      serves a local domain: descriptors, stubs, and an embedded MQTT broker;
      the C MQTT stub is its default (--stub names another), or with a stub
      folder, that folder's built stub; --key signs every stub and descriptor
      with that key pair (stub keygen) and prints the key for runtimes to pin;
      a runtime of its own runs the default stub, its metrics (OpenMetrics)
      at GET /metrics
  protofly serve --demo [--port N]
      the browser demo on loopback, its stubs signed with a key made at start:
      open the printed URL
  protofly stub new <name> --lang ts|c|rust|as [--dir <parent>]
      makes a skeleton stub folder that builds and passes conformance as it is
  protofly stub build <dir> [--inline] [--key <file>]
      builds <dir>/build/<name>.wasm and prints the descriptor to publish;
      --inline puts the component inside it (one request deploys it);
      --key signs the component and the descriptor with that key pair
  protofly stub keygen <file>
      writes an Ed25519 key pair (wasmsign2's format) and prints its public
      key, ed25519:<base64>, to pin in runtimes
  protofly stub sign <component.wasm> --key <file>
      signs the component in place (a wasmsign2 signature section)
  protofly stub verify <component.wasm> --key ed25519:…
      checks the component is signed by that key; exits 1 with its code if not
  protofly conformance <component.wasm> [--broker ws://…] [--user U --password P] [--config JSON] [--path direct|jco] [--timeout S] [--json]
      checks a component keeps the stub contract; exits 0 only if every check passes
`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const args = parseArgs(rest, ['json', 'demo', 'inline', 'require-signed']);
  const json = args.flags.has('json');
  const say = (line: string) => { if (!json) console.log(line); };
  try {
    switch (command) {
      case 'demo': {
        const result = await runDemo({ count: flagNumber(args, 'count', 1000), brokerURL: flagString(args, 'broker'), stub: localStub(args), write: say });
        if (json) console.log(JSON.stringify(result, null, 2));
        return result.status === 'LIVE' && result.received === result.sent ? 0 : 1;
      }
      case 'deploy': {
        const domain = args.positional[0];
        if (!domain) throw new UsageError('deploy needs a domain');
        const user = flagString(args, 'user');
        const credentials = user ? { [new URL(domain.includes('://') ? domain : `https://${domain}`).host]: { username: user, password: flagString(args, 'password') ?? '' } } : {};
        // --pin: the domain's key(s), comma-separated; its stubs must be signed by one.
        const pins = flagString(args, 'pin')?.split(',').map((key) => key.trim()).filter(Boolean);
        const runtime = createRuntime({
          identity: { credentials },
          trust: { keys: pins ? { [parseDomain(domain).name]: pins } : {}, require: args.flags.has('require-signed') },
        });
        printSteps(runtime, 'deploy', say);
        runtime.hooks.error.tap('cli', (error) => say(`  warning  ${error.code}: ${error.message}`));
        try {
          const stub = await runtime.deployStub(domain, { name: flagString(args, 'name') });
          if (json) console.log(JSON.stringify({ stubURL: stub.stubURL, status: stub.status, path: stub.path, steps: stub.deploySteps }, null, 2));
          return 0;
        } catch (error) {
          if (json && isProtoflyError(error)) console.log(JSON.stringify({ status: 'FAILED', error: error.toJSON() }, null, 2));
          throw error;
        } finally {
          await runtime.close();
        }
      }
      case 'serve': {
        const keyFile = args.flags.get('key');
        if (keyFile === true) throw new UsageError('--key needs the key pair file that `protofly stub keygen` wrote');
        if (args.flags.has('demo')) {
          if (keyFile) throw new UsageError('serve --demo signs with a key of its own; --key is for serve without --demo');
          const demo = await serveDemo({ port: flagNumber(args, 'port', 0) });
          console.log(`demo at ${demo.url}  (broker ${demo.brokerURL}; stubs signed by ${demo.domain.publicKey}; Ctrl-C stops it)`);
          await untilStopped();
          await demo.close();
          return 0;
        }
        const user = flagString(args, 'user');
        let resident: Runtime | undefined;
        const domain = await serveDomain({
          stubDir: args.positional[0],
          port: flagNumber(args, 'port', 0),
          brokerPort: flagNumber(args, 'broker-port', 0),
          brokerURL: flagString(args, 'broker'),
          users: user ? { [user]: flagString(args, 'password') ?? '' } : undefined,
          stub: localStub(args),
          sign: keyFile ? await readKeyPair(keyFile) : undefined,
          metrics: () => resident?.metrics({ format: 'openmetrics' }),
        });
        console.log(`serving ${domain.catalogue.origin}  (descriptor: ${domain.catalogue.origin}/.well-known/protocolstub/default, broker: ${domain.brokerURL})`);
        if (domain.publicKey) {
          console.log(`stubs and descriptors signed by ${domain.publicKey}; pin it in the runtimes that deploy from here:`);
          console.log(`  createRuntime({ trust: { keys: { '${domain.catalogue.domain}': ['${domain.publicKey}'] } } })`);
        }
        resident = startResidentRuntime(domain, user ? { username: user, password: flagString(args, 'password') ?? '' } : undefined, (line) => console.log(line));
        await untilStopped();
        await resident.close();
        await domain.close();
        return 0;
      }
      case 'stub':
        return await stubCommand(args);
      case 'conformance':
        return await conformanceCommand(args, json);
      case undefined: case 'help': case '--help': case '-h':
        console.log(USAGE);
        return command ? 0 : 2;
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`${error.message}\n\n${USAGE}`);
      return 2;
    }
    if (isProtoflyError(error)) {
      if (!json) console.error(`${error.code}: ${error.message}`);
      return 1;
    }
    throw error;
  }
}

class UsageError extends Error {}

function localStub(args: Args): LocalStubName | undefined {
  const name = flagString(args, 'stub');
  if (name !== undefined && !Object.hasOwn(LOCAL_STUBS, name)) throw new UsageError(`--stub must be one of ${Object.keys(LOCAL_STUBS).join(', ')}, not "${name}"`);
  return name as LocalStubName | undefined;
}

function untilStopped(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
}
