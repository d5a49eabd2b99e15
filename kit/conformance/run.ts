// `protofly conformance <component.wasm>`: runs the component through the
// real sandbox code and checks it keeps stubs/CONTRACT.md. Every check is
// one named line; the report passes only if every check does.
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { encodeCbor, decodeBatch } from '../../kernel/cbor.ts';
import { describe, pfError } from '../../kernel/errors.ts';
import { compileComponent, transpileComponent } from '../../plugins/sandbox/component-loader.ts';
import type { PreparedComponent } from '../../plugins/sandbox/component-instance.ts';
import { capMemory, pagesFor } from '../../plugins/sandbox/memory-limit.ts';
import { recognise } from '../../plugins/direct/component-shape.ts';
import { BAD_CONTROL, GARBAGE_CONFIGS, MALFORMED_BATCHES, MALFORMED_FRAMES, UNKNOWN_MESSAGES } from './hostile-inputs.ts';
import { judgePosts, statusProblem } from './judge-posts.ts';
import { checkNoSilentDrop, NO_SILENT_DROP } from './no-silent-drop.ts';
import { ANSWERS_ITSELF, checkAnswersItself } from './answers-itself.ts';
import { checkGoesLive, GOES_LIVE } from './live.ts';
import { REMOTE, RUNTIME_URL, startSession, STUB_URL, type SessionSetup } from './session.ts';
import { surviveBatches, surviveFrames } from './survive.ts';
import { DEFAULT_MAX_OUTBOUND_BYTES } from '../../plugins/transport/limits.ts';
import { DEFAULT_MAX_BYTES_PER_SECOND, DEFAULT_MAX_MESSAGES_PER_SECOND, DEFAULT_MAX_POST_BYTES, DEFAULT_MAX_POSTS_PER_SECOND } from '../../plugins/sandbox/flood-limits.ts';
import { fail, pass, skip, type Check, type ConformanceOptions, type ConformanceReport } from './types.ts';
import { checkWitShape } from './wit-shape.ts';

export type { ConformanceOptions, ConformanceReport, Check } from './types.ts';

/** Where a stub that wants a back-end is pointed when no --broker is given: nothing listens there, and nothing is dialled anyway. */
const OFFLINE_URL = 'ws://127.0.0.1:9/conformance';
const MEMORY_MIB = 128;
const MAIN_SESSION_MS = 400;

const CHECK_ORDER = [
  'wit-shape', 'init-accepts-config', 'init-refuses-garbage', 'handles-valid-messages', 'status-shape', 'batches-valid',
  'survives-unknown-messages', 'survives-bad-control', 'survives-malformed-batches', 'survives-malformed-frames', NO_SILENT_DROP, ANSWERS_ITSELF, GOES_LIVE,
];

export async function runConformance(componentPath: string, options: ConformanceOptions = {}): Promise<ConformanceReport> {
  const path = resolve(componentPath);
  const bytes = await readFile(path).catch((error) => {
    throw pfError('PF_ERR_KIT_USAGE', [`cannot read the component ${path} (${(error as Error).message})`], { cause: error });
  });
  const checks: Check[] = [await checkWitShape(bytes)];
  let pathUsed: string | undefined;
  const done = () => ({ ...report(path, checks), path: pathUsed });

  let prepared: PreparedComponent;
  const shape = recognise(bytes);
  const wanted = options.path ?? 'auto';
  if (wanted === 'direct' && !shape.ok) {
    for (const name of CHECK_ORDER.slice(1)) checks.push(fail(name, `not run: the direct path declines it (${shape.reason})`));
    return done();
  }
  const direct = shape.ok && wanted !== 'jco';
  try {
    prepared = direct && shape.ok
      ? { kind: 'direct', module: await WebAssembly.compile(capMemory(shape.core, pagesFor(MEMORY_MIB)) as Uint8Array<ArrayBuffer>), postReturn: shape.postReturn }
      : await compileComponent(await transpileComponent(bytes), pagesFor(MEMORY_MIB));
  } catch (error) {
    for (const name of CHECK_ORDER.slice(1)) checks.push(fail(name, `not run: the sandbox cannot load it (${describe(error)})`));
    return done();
  }
  pathUsed = direct ? 'direct' : 'jco';

  const configuration = options.configuration ?? { url: options.brokerURL ?? OFFLINE_URL };
  const connect = [...new Set([configuration.url, options.brokerURL].filter((u): u is string => typeof u === 'string' && /^wss?:\/\//.test(u)))];
  const setup: SessionSetup = {
    prepared,
    configuration,
    credentials: options.user ? { username: options.user, password: options.password ?? '' } : null,
    limits: {
      connect,
      maxConnections: 8,
      maxTimers: 256,
      maxPostsPerSecond: DEFAULT_MAX_POSTS_PER_SECOND,
      maxMessagesPerSecond: DEFAULT_MAX_MESSAGES_PER_SECOND,
      maxBytesPerSecond: DEFAULT_MAX_BYTES_PER_SECOND,
      maxPostBytes: DEFAULT_MAX_POST_BYTES,
      maxMemoryBytes: pagesFor(MEMORY_MIB) * 65_536,
      maxOutboundBytes: DEFAULT_MAX_OUTBOUND_BYTES,
    },
  };
  const posts: Uint8Array[] = [];

  // (b) and (c): the documented config, then ordinary traffic.
  const main = await startSession(setup, 'refuse');
  let needsBackend = false;
  let mainPosts: Uint8Array[] = [];
  if (main.kind !== 'started') {
    checks.push(fail('init-accepts-config', main.kind === 'refused'
      ? `init answered err to the documented config: ${main.reason}`
      : `init trapped on the documented config: ${main.reason}`));
    checks.push(fail('handles-valid-messages', 'not run: init failed'));
  } else {
    const { session } = main;
    checks.push(pass('init-accepts-config', 'init took { runtimeURL, stubURL, domain, configuration, credentials }'));
    session.guest.deliver(encodeCbor([{ id: 'v1', type: 'CREATE', from: `${REMOTE}/alice`, to: `${REMOTE}/bob`, body: { hello: 'world' } }]));
    session.guest.deliver(encodeCbor([{ id: 'v2', type: 'SUBSCRIBE', from: RUNTIME_URL, to: STUB_URL, body: { resources: [`${REMOTE}/alice`] } }]));
    await session.settle(MAIN_SESSION_MS);
    session.stop();
    const fault = session.recording.fault;
    checks.push(fault
      ? fail('handles-valid-messages', `trapped on a well-formed message: ${fault.code} ${fault.reason}`)
      : pass('handles-valid-messages', `a message for a remote address and a SUBSCRIBE: no trap; ${ackNote(session.recording.posts)}`));
    needsBackend = session.recording.opened.length > 0;
    mainPosts = session.recording.posts;
    posts.push(...mainPosts);
  }

  checks.push(await refusesGarbage(setup));
  const survival = [
    await surviveBatches('survives-unknown-messages', setup, UNKNOWN_MESSAGES, posts),
    await surviveBatches('survives-bad-control', setup, BAD_CONTROL, posts),
    await surviveBatches('survives-malformed-batches', setup, MALFORMED_BATCHES, posts),
    await surviveFrames('survives-malformed-frames', setup, MALFORMED_FRAMES, posts, needsBackend),
  ];

  // (c) and (d) judge everything posted in every session.
  checks.push(statusCheck(main.kind === 'started', mainPosts, posts));
  const verdict = judgePosts(posts);
  checks.push(verdict.batchProblems.length
    ? fail('batches-valid', `${verdict.batchProblems.length} problem(s); first: ${verdict.batchProblems[0]}`)
    : pass('batches-valid', `${verdict.batches} batches, ${verdict.messages} messages: all CBOR arrays of valid messages`));
  checks.push(...survival);
  checks.push(await checkNoSilentDrop(setup));
  checks.push(await checkAnswersItself(setup));

  // (f)
  if (main.kind !== 'started') checks.push(fail(GOES_LIVE, 'not run: init failed'));
  else if (needsBackend && !options.brokerURL) {
    checks.push(skip(GOES_LIVE, `the stub opens a connection (${configuration.url ?? 'its back-end'}): give --broker ws://… to check it goes LIVE`));
  } else {
    checks.push(await checkGoesLive({
      componentPath: path, configuration, connect, brokerURL: options.brokerURL, user: options.user, password: options.password,
      // Generous: a busy machine compiling a large component must not fail it; a stub that cannot make it says DISCONNECTED at once.
      timeoutMs: options.liveTimeoutMs ?? 30_000, directPath: direct,
    }));
  }
  return done();
}

function report(component: string, checks: Check[]): ConformanceReport {
  const ordered = [...checks].sort((a, b) => CHECK_ORDER.indexOf(a.name) - CHECK_ORDER.indexOf(b.name));
  return { component, checks: ordered, ok: ordered.every((c) => c.ok) };
}

async function refusesGarbage(setup: SessionSetup): Promise<Check> {
  const problems: string[] = [];
  for (const input of GARBAGE_CONFIGS) {
    const outcome = await startSession(setup, 'refuse', input.value);
    if (outcome.kind === 'trapped') problems.push(`trapped on ${input.label} (${outcome.reason})`);
    if (outcome.kind === 'started') {
      outcome.session.stop();
      problems.push(`accepted ${input.label}`);
    }
  }
  return problems.length
    ? fail('init-refuses-garbage', problems.join('; '))
    : pass('init-refuses-garbage', `${GARBAGE_CONFIGS.length} garbage configs, each answered with err`);
}

function statusCheck(started: boolean, mainPosts: Uint8Array[], all: Uint8Array[]): Check {
  if (!started) return fail('status-shape', 'not run: init failed');
  for (const status of judgePosts(all).statuses) {
    const problem = statusProblem(status, STUB_URL);
    if (problem) return fail('status-shape', `a status message ${problem}`);
  }
  const values = judgePosts(mainPosts).statuses.map((s) => (s.body as { value: string }).value);
  if (!values.length) return fail('status-shape', `posted no status within ${MAIN_SESSION_MS} ms of init (LIVE, or DISCONNECTED when its back-end cannot be reached)`);
  return pass('status-shape', `posted ${values.join(', ')} in the seed's shape, from its own stubURL`);
}

// Informative only: a stub with a back-end answers SUBSCRIBE once the
// back-end has confirmed, which cannot happen offline.
function ackNote(posts: Uint8Array[]): string {
  for (const bytes of posts) {
    let batch: unknown[];
    try { batch = decodeBatch(bytes); } catch { continue; }
    for (const m of batch as Array<Record<string, unknown>>) {
      if (m && m.type === 'RESPONSE' && m.id === 'v2') return `SUBSCRIBE answered with code ${String((m.body as { code?: unknown } | undefined)?.code)}`;
    }
  }
  return 'no SUBSCRIBE answer (expected once a back-end confirms)';
}
