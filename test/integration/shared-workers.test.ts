// Stubs sharing a worker (`sandbox.stubsPerWorker`): fewer threads for many
// stubs, each still in a slot of its own. Real C components from a real
// HTTP catalogue, real worker_threads; the spawn function is wrapped only to
// see which worker each stub went to.
import test, { type ExecutionContext } from 'ava';
import fc from 'fast-check';
import type { CreateRuntimeOptions } from '../../index.ts';
import type { Message } from '../../kernel/schemas.ts';
import { spawnNodeWorker } from '../../plugins/sandbox/worker/node-spawn.ts';
import { isOutOfBand } from '../../plugins/sandbox/worker/channel.ts';
import type { SpawnWorker, ToWorker, WorkerPort } from '../../plugins/sandbox/worker/protocol.ts';
import { builtStub } from '../helpers/built.ts';
import { catalogue, inbox, runtime } from '../helpers/runtime.ts';
import { statusLog } from '../helpers/statuses.ts';

/** Node's workers, noting which ones were given a stub and which were ended. */
function watchedWorkers() {
  const hosting = new Set<WorkerPort>();
  const ended = new Set<WorkerPort>();
  const spawn: SpawnWorker = async (options) => {
    const port = await spawnNodeWorker(options);
    return {
      ...port,
      postMessage(message, transfer) {
        // With shared memory a `start` (it carries a compiled module) goes beside the ring.
        const sent = isOutOfBand(message) && 'message' in message ? message.message : message;
        if ((sent as ToWorker).t === 'start') hosting.add(port);
        port.postMessage(message, transfer);
      },
      terminate() {
        ended.add(port);
        return port.terminate();
      },
    };
  };
  return { spawn, hosting, ended };
}

async function sharedRuntime(t: ExecutionContext, stubsPerWorker: number | undefined, options: CreateRuntimeOptions = {}) {
  const workers = watchedWorkers();
  const rt = runtime(t, { restart: { firstDelayMs: 50 }, ...options, sandbox: { kind: 'worker', spawnWorker: workers.spawn, stubsPerWorker, ...options.sandbox } });
  const log = statusLog(rt);
  const statusReached = (domain: string, value: string, after = 0) => log.reached(value, { domain, after });
  return { rt, workers, statuses: log.seen, statusReached };
}

let n = 0;
/** Sends `body` to the stub of `domain`'s echo address, from a tester of that domain. */
function echo(rt: ReturnType<typeof runtime>, domain: string, body: Record<string, unknown>) {
  rt.bus.postMessage({ id: `m${n++}`, type: 'CREATE', from: `hyperty://${domain}/tester`, to: `hyperty://${domain}/echo`, body });
}
const bodies = (messages: Message[]) => messages.map((m) => m.body);

test('six stubs with stubsPerWorker 3 run in two workers, and each answers its own messages; by default they take six', async (t) => {
  const domains = await Promise.all(Array.from({ length: 6 }, () => catalogue(t, { default: { component: builtStub('echo-c') } })));
  for (const [stubsPerWorker, workers] of [[3, 2], [undefined, 6]] as const) {
    const { rt, workers: watched } = await sharedRuntime(t, stubsPerWorker);
    const stubs = await Promise.all(domains.map((d) => rt.deployStub(d.origin)));
    t.deepEqual(stubs.map((s) => s.status), Array(6).fill('LIVE'));
    t.is(watched.hosting.size, workers, `stubsPerWorker ${stubsPerWorker}`);
    const inboxes = domains.map((d) => inbox(rt, `hyperty://${d.domain}/tester`));
    domains.forEach((d, i) => { echo(rt, d.domain, { to: i, n: 1 }); echo(rt, d.domain, { to: i, n: 2 }); });
    await Promise.all(inboxes.map((box) => box.waitFor(2)));
    inboxes.forEach((box, i) => t.deepEqual(bodies(box.messages), [{ to: i, n: 1 }, { to: i, n: 2 }]));
    await rt.close();
  }
});

test('a stub stuck in a call takes its shared worker down: PF_ERR_STUB_TIMEOUT for it, PF_ERR_WORKER_LOST for its neighbour, and both come back with nothing lost', async (t) => {
  // 1 s: room, on a busy machine, to hand the neighbour's messages over before the watchdog fires.
  const bad = await catalogue(t, { default: { component: builtStub('hostile-loop'), limits: { callTimeoutMs: 1_000 } } });
  const good = await catalogue(t, { default: { component: builtStub('echo-c') } });
  const { rt, workers, statuses, statusReached } = await sharedRuntime(t, 2);
  await rt.deployStub(bad.origin);
  const neighbour = await rt.deployStub(good.origin);
  t.is(workers.hosting.size, 1);
  const replies = inbox(rt, `hyperty://${good.domain}/tester`);
  const before = statuses.length;

  const spinning = new Promise<void>((resolve) => rt.hooks.stubLog.tap('test', (stub, _level, text) => {
    if (stub.domain.name === bad.domain && /attack triggered/.test(text)) resolve();
  }));
  echo(rt, bad.domain, { attack: true });
  // Once the worker spins, the neighbour's messages are handed to it and sit
  // in its queue: in flight when it is stopped, redelivered after, in order.
  await spinning;
  const handed = neighbour.counters.messagesIn;
  for (let i = 0; i < 3; i++) echo(rt, good.domain, { queued: i });
  while (neighbour.counters.messagesIn < handed + 3) await new Promise((r) => setTimeout(r, 1));
  t.is(statuses.slice(before).filter((s) => s.value === 'FAILED').length, 0, 'handed over before the watchdog fired');
  t.like(await statusReached(bad.domain, 'FAILED', before), { code: 'PF_ERR_STUB_TIMEOUT' });
  t.like(await statusReached(good.domain, 'FAILED', before), { code: 'PF_ERR_WORKER_LOST' });
  await Promise.all([statusReached(bad.domain, 'LIVE', before), statusReached(good.domain, 'LIVE', before)]);
  await replies.waitFor(3);
  t.deepEqual(bodies(replies.messages), [{ queued: 0 }, { queued: 1 }, { queued: 2 }], 'each delivered once, none answered with an error');
  t.is(neighbour.counters.restarts, 1);
  t.is(rt.registry.get(good.domain)?.stubURL, neighbour.stubURL, 'the neighbour keeps its runtime URL');
  t.true(rt.errors.some((e) => e.code === 'PF_ERR_WORKER_LOST' && e.domain === good.domain));
});

test('a stub that traps in a shared worker fails alone: its neighbour keeps running, and the restart takes the same worker', async (t) => {
  const bad = await catalogue(t, { default: { component: builtStub('hostile-trap') } });
  const good = await catalogue(t, { default: { component: builtStub('echo-c') } });
  const { rt, workers, statuses, statusReached } = await sharedRuntime(t, 2);
  await rt.deployStub(bad.origin);
  const neighbour = await rt.deployStub(good.origin);
  const replies = inbox(rt, `hyperty://${good.domain}/tester`);
  const before = statuses.length;

  echo(rt, bad.domain, { attack: true });
  t.like(await statusReached(bad.domain, 'FAILED', before), { code: 'PF_ERR_STUB_TRAP' });
  await statusReached(bad.domain, 'LIVE', before);
  echo(rt, good.domain, { after: 'trap' });
  await replies.waitFor(1);
  t.deepEqual(bodies(replies.messages), [{ after: 'trap' }]);
  t.is(neighbour.counters.restarts, 0);
  t.false(statuses.slice(before).some((s) => s.domain === good.domain), 'the neighbour published no status');
  t.is(workers.hosting.size, 1, 'one worker throughout');
  t.is(workers.ended.size, 0);
});

test('stubs leave a shared worker one by one, and the worker ends with the last of them', async (t) => {
  const [first, second] = await Promise.all([0, 1].map(() => catalogue(t, { default: { component: builtStub('echo-c') } })));
  const { rt, workers } = await sharedRuntime(t, 4);
  await Promise.all([rt.deployStub(first.origin), rt.deployStub(second.origin)]);
  t.is(workers.hosting.size, 1);
  await rt.undeployStub(first.origin);
  t.is(workers.ended.size, 0);
  const replies = inbox(rt, `hyperty://${second.domain}/tester`);
  echo(rt, second.domain, { still: 'here' });
  await replies.waitFor(1);
  t.deepEqual(bodies(replies.messages), [{ still: 'here' }]);
  await rt.undeployStub(second.origin);
  t.is(workers.ended.size, 1);
});

test('a stub that loses its shared worker to a neighbour is restarted each time, never given up for it', async (t) => {
  const bad = await catalogue(t, { default: { component: builtStub('hostile-loop'), limits: { callTimeoutMs: 300 } } });
  const good = await catalogue(t, { default: { component: builtStub('echo-c') } });
  // One restart allowed: the second fault of its own gives a stub up.
  const { rt, statuses, statusReached } = await sharedRuntime(t, 2, { restart: { firstDelayMs: 50, maxRestarts: 1 } });
  await rt.deployStub(bad.origin);
  const neighbour = await rt.deployStub(good.origin);
  for (let round = 0; round < 2; round++) {
    const before = statuses.length;
    echo(rt, bad.domain, { attack: true });
    t.like(await statusReached(good.domain, 'FAILED', before), { code: 'PF_ERR_WORKER_LOST' });
    await statusReached(good.domain, 'LIVE', before);
    if (round === 0) await statusReached(bad.domain, 'LIVE', before);
  }
  // Its second fault of its own, in the same turn as the neighbour's second loss.
  t.deepEqual(rt.errors.filter((e) => e.code === 'PF_ERR_GAVE_UP').map((e) => e.domain), [bad.domain]);
  t.is(neighbour.counters.restarts, 2);
  t.is(rt.registry.get(good.domain)?.status, 'LIVE');
  const replies = inbox(rt, `hyperty://${good.domain}/tester`);
  echo(rt, good.domain, { after: 'two losses' });
  await replies.waitFor(1);
  t.deepEqual(bodies(replies.messages), [{ after: 'two losses' }]);
});

test('whatever the order of deploys, undeploys and crashes, every deployed stub answers and no worker outlives its stubs', async (t) => {
  const echoes = await Promise.all([0, 1, 2].map(() => catalogue(t, { default: { component: builtStub('echo-c') } })));
  const crasher = await catalogue(t, { default: { component: builtStub('hostile-trap') } });
  const domains = [...echoes, crasher];
  const op = fc.oneof(
    fc.record({ kind: fc.constant('deploy' as const), at: fc.nat(domains.length - 1) }),
    fc.record({ kind: fc.constant('undeploy' as const), at: fc.nat(domains.length - 1) }),
    fc.record({ kind: fc.constant('crash' as const) }),
  );
  await fc.assert(fc.asyncProperty(fc.integer({ min: 2, max: 3 }), fc.array(op, { minLength: 1, maxLength: 12 }), async (stubsPerWorker, ops) => {
    const { rt, workers } = await sharedRuntime(t, stubsPerWorker, { restart: { firstDelayMs: 10, maxRestarts: 100 } });
    try {
      const deployed = new Set<number>();
      for (const step of ops) {
        if (step.kind === 'deploy') {
          await rt.deployStub(domains[step.at].origin);
          deployed.add(step.at);
        } else if (step.kind === 'undeploy') {
          await rt.undeployStub(domains[step.at].origin);
          deployed.delete(step.at);
        } else if (deployed.has(domains.length - 1)) {
          echo(rt, crasher.domain, { attack: true });
        }
      }
      // Whatever was crashed comes back; then every echo stub answers.
      const deadline = Date.now() + 10_000;
      while ([...deployed].some((i) => rt.registry.get(domains[i].domain)?.status !== 'LIVE')) {
        if (Date.now() > deadline) throw new Error(`not LIVE again: ${[...deployed].map((i) => rt.registry.get(domains[i].domain)?.status)}`);
        await new Promise((r) => setTimeout(r, 10));
      }
      for (const i of [...deployed].filter((i) => i < echoes.length)) {
        const replies = inbox(rt, `hyperty://${domains[i].domain}/tester`);
        echo(rt, domains[i].domain, { check: i });
        await replies.waitFor(1, 5_000);
        if (JSON.stringify(bodies(replies.messages)) !== JSON.stringify([{ check: i }])) return false;
      }
      const running = () => [...workers.hosting].filter((w) => !workers.ended.has(w)).length;
      if (running() > deployed.size) return false;
      for (const i of deployed) await rt.undeployStub(domains[i].origin);
      return running() === 0;
    } finally {
      await rt.close();
    }
  }), { numRuns: 12 });
  t.pass();
});
