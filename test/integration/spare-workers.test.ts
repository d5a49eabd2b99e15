// A spare worker is started ahead, so a deploy does not wait for a worker
// to start: the next stub takes it, a new spare replaces it, and the runtime
// ends it on close. Real worker_threads; the spawn function is wrapped only
// to see which worker each stub went to and which were ended.
import test from 'ava';
import type { ToWorker, SpawnWorker, WorkerPort } from '../../plugins/sandbox/worker/protocol.ts';
import { isOutOfBand } from '../../plugins/sandbox/worker/channel.ts';
import { spawnNodeWorker } from '../../plugins/sandbox/worker/node-spawn.ts';
import { builtStub } from '../helpers/built.ts';
import { catalogue, runtime } from '../helpers/runtime.ts';
import { until } from '../helpers/until.ts';

/** Node's workers, in the order they were spawned, with the stubs started in each and whether each was ended. */
function watchedWorkers() {
  const spawned: Array<{ starts: number; ended: boolean }> = [];
  const spawn: SpawnWorker = async (options) => {
    const port = await spawnNodeWorker(options);
    const seen = { starts: 0, ended: false };
    spawned.push(seen);
    return {
      ...port,
      postMessage(message, transfer) {
        // With shared memory a `start` (it carries a compiled module) goes beside the ring.
        const sent = isOutOfBand(message) && 'message' in message ? message.message : message;
        if ((sent as ToWorker).t === 'start') seen.starts++;
        port.postMessage(message, transfer);
      },
      terminate() {
        seen.ended = true;
        return port.terminate();
      },
    } satisfies WorkerPort;
  };
  return { spawn, spawned };
}

test('a deploy takes the spare started ahead, a worker that never ran a stub, and a new spare replaces it', async (t) => {
  const [first, second] = await Promise.all([0, 1].map(() => catalogue(t, { default: { component: builtStub('echo-c') } })));
  const workers = watchedWorkers();
  const rt = runtime(t, { sandbox: { kind: 'worker', spawnWorker: workers.spawn } });
  await rt.deployStub(first.origin);
  await until('a spare started after the first deploy', () => workers.spawned.length === 2);
  t.deepEqual(workers.spawned.map((w) => w.starts), [1, 0], 'the first stub in the worker started with the runtime');

  await rt.deployStub(second.origin);
  t.is(workers.spawned[1].starts, 1, 'the second stub in the spare, started before its deploy');
  await until('the spare replaced', () => workers.spawned.length === 3);
  t.deepEqual(workers.spawned.map((w) => w.starts), [1, 1, 0], 'never two stubs in one worker');
});

test('closing the runtime ends its spare: no worker it started is left running', async (t) => {
  const domain = await catalogue(t, { default: { component: builtStub('echo-c') } });
  const workers = watchedWorkers();
  const rt = runtime(t, { sandbox: { kind: 'worker', spawnWorker: workers.spawn } });
  await rt.deployStub(domain.origin);
  await until('a spare started after the deploy', () => workers.spawned.length === 2);
  await rt.close();
  t.deepEqual(workers.spawned.map((w) => w.ended), [true, true]);
});

test('a runtime that never deployed ends the spare it started with; one that runs stubs in its own thread starts none', async (t) => {
  const workers = watchedWorkers();
  const idle = runtime(t, { sandbox: { kind: 'worker', spawnWorker: workers.spawn } });
  const inThread = runtime(t, { sandbox: { kind: 'in-thread', spawnWorker: workers.spawn } });
  await until('the spare started', () => workers.spawned.length === 1);
  await Promise.all([idle.close(), inThread.close()]);
  t.deepEqual(workers.spawned.map((w) => w.ended), [true]);
});

test('runtimes of one process share one spare, and the last of them to close ends it', async (t) => {
  const domain = await catalogue(t, { default: { component: builtStub('echo-c') } });
  const workers = watchedWorkers();
  const [a, b] = [0, 1].map(() => runtime(t, { sandbox: { kind: 'worker', spawnWorker: workers.spawn } }));
  await until('the spare started', () => workers.spawned.length === 1);
  await b.deployStub(domain.origin);
  t.is(workers.spawned[0].starts, 1, 'the stub of one runtime in the spare the other started');
  await until('the spare replaced', () => workers.spawned.length === 2);
  await a.close();
  t.false(workers.spawned[1].ended, 'kept for the runtime still open');
  await b.close();
  t.deepEqual(workers.spawned.map((w) => w.ended), [true, true]);
});
