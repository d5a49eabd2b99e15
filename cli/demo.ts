// The main job: a local domain, two runtimes, one stub deployed in each, and
// messages from a hyperty in one runtime to a hyperty in the other. The
// domain signs its stubs with a key made for the run (kept in memory only),
// and both runtimes pin it.
import { createRuntime } from '../index.ts';
import type { Message } from '../kernel/schemas.ts';
import type { StepTiming } from '../kernel/types.ts';
import { generateKeyPair } from '../plugins/trust/keys.ts';
import { DEFAULT_LOCAL_STUB, LOCAL_STUBS, serveDomain, type LocalStubName } from '../domain/serve.ts';
import { printSteps } from './step-printer.ts';

export interface DemoOptions {
  count?: number;
  brokerURL?: string;
  /** Which local MQTT stub the domain serves as its default: the C one unless asked. */
  stub?: LocalStubName;
  write?: (line: string) => void;
}

export interface DemoResult {
  steps: StepTiming[];
  status: string;
  sent: number;
  received: number;
  stubURL: string;
  /** Which stub carried the messages (`mqtt-c`, `mqtt-ts`) and what it is written in. */
  stub: LocalStubName;
  language: string;
  /** The key the domain signed its stubs with and the runtimes pinned, `ed25519:<base64>`. */
  publicKey: string;
  /** How the stub's component runs: `direct` or `jco`. */
  path?: string;
  messagesPerSecond: number;
  deployMs: number;
}

const DEMO_USER = { username: 'demo', password: 'protofly-demo' };

export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const count = options.count ?? 1000;
  const write = options.write ?? (() => {});
  const chosen = options.stub ?? DEFAULT_LOCAL_STUB;
  const { language } = LOCAL_STUBS[chosen];
  const domain = await serveDomain({ brokerURL: options.brokerURL, stub: chosen, users: { [DEMO_USER.username]: DEMO_USER.password }, sign: await generateKeyPair() });
  const publicKey = domain.publicKey!;
  const identity = { credentials: { [domain.catalogue.domain]: DEMO_USER } };
  const trust = { keys: { [domain.catalogue.domain]: [publicKey] } };
  // A key made for the run signs the component anew, so its hash is new each
  // run: a compiled copy kept on disk would never be read again.
  const alpha = createRuntime({ identity, trust, cacheDir: false });
  const beta = createRuntime({ identity, trust, cacheDir: false });
  try {
    write(`domain ${domain.catalogue.origin}  (broker ${domain.brokerURL}; stub ${chosen}, written in ${language})`);
    write(`signed by ${publicKey}, pinned in both runtimes`);
    printSteps(alpha, 'alpha', write);
    printSteps(beta, 'beta ', write);

    const alice = `hyperty://${domain.catalogue.domain}/alice`;
    const bob = `hyperty://${domain.catalogue.domain}/bob`;
    const inbox: Message[] = [];
    let allArrived = () => {};
    const arrived = new Promise<void>((resolve) => { allArrived = resolve; });
    beta.bus.addListener(bob, (message) => {
      if (message.type !== 'CREATE') return;
      inbox.push(message);
      if (inbox.length === count) allArrived();
    });
    alpha.bus.addListener(alice, () => {});

    const started = performance.now();
    const [stub, other] = await Promise.all([alpha.deployStub(domain.catalogue.origin), beta.deployStub(domain.catalogue.origin)]);
    const deployMs = performance.now() - started;
    await beta.bus.whenSubscribed(bob);
    write(`both stubs LIVE in ${deployMs.toFixed(0)} ms: ${stub.stubURL}, ${other.stubURL}`);

    const sendStart = performance.now();
    for (let i = 0; i < count; i++) {
      alpha.bus.postMessage({ id: `m${i}`, type: 'CREATE', from: alice, to: bob, body: { text: `hello ${i}` } });
    }
    let giveUp: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([arrived, new Promise((r) => { giveUp = setTimeout(r, 20_000); })]);
    clearTimeout(giveUp);
    const seconds = (performance.now() - sendStart) / 1000;
    const inOrder = inbox.every((m, i) => m.id === `m${i}`);
    write(`sent ${count} alice → bob, received ${inbox.length}${inOrder ? ', in order' : ', OUT OF ORDER'}, ${(inbox.length / seconds).toFixed(0)} msg/s through the ${language} stub ${chosen} (${stub.path?.kind ?? 'jco'} path)`);
    if (inbox.length) write(`last message: ${JSON.stringify(inbox[inbox.length - 1])}`);
    return {
      steps: stub.deploySteps ?? [],
      status: stub.status,
      sent: count,
      received: inbox.length,
      stubURL: stub.stubURL,
      stub: chosen,
      language,
      publicKey,
      path: stub.path?.kind,
      messagesPerSecond: Math.round(inbox.length / seconds),
      deployMs: Math.round(deployMs),
    };
  } finally {
    await Promise.allSettled([alpha.close(), beta.close()]);
    await domain.close();
  }
}
