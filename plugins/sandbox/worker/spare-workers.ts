// Starting a worker costs tens of milliseconds (a thread, a JS context, the
// entry module: 45 ms for a bare Node worker on this 2-core machine when
// busy, 55 ms to the first answer from ours), most of a deploy whose
// component is compiled already. So one is started ahead, a spare, and the
// next stub that needs a worker of its own takes it, up or still booting
// (when to start one is the sandbox plugin's choice). A spare never ran a
// stub it was given, only its own rehearsal (worker-main.ts, rehearse), in
// a slot nothing else reaches, and it is handed out once.
//
// One spare per spawn function and heap size, shared by the runtimes using
// them, so many runtimes in one process keep one spare between them; the
// last of them to close terminates it, so none is left running.
//
// A worker's shared-memory rings (channel.ts) are made and handed to it as
// it starts, not when a stub is given to it: making them takes ≈0.7 ms of
// the runtime's thread, and the worker sets them up while it has nothing
// else to do. Measured, echo-c deployed into a spare that was up, rings
// handed ahead or then, interleaved (3 × 38 pairs on a busy machine): the
// instantiate step's median 6.7 against 7.6 ms, 9.8 against 10.9, 12.3
// against 16.6.
import { ringsAvailable } from './channel.ts';
import type { SpawnWorker, WorkerPort, WorkerSetup } from './protocol.ts';
import { createRing } from './ring.ts';

/** Bytes of each ring, each way: a batch or frame run above half of it goes by postMessage instead. */
const RING_BYTES = 256 * 1024;

/** A started worker that never ran a stub, and the rings it was handed, where shared memory exists. */
export interface FreshWorker {
  port: WorkerPort;
  rings?: WorkerSetup;
}

export interface Workers {
  /** The spawn function and heap size: workers of one key are interchangeable. */
  readonly key: string;
  /** A worker for a stub: the spare if one is kept (maybe still starting), else a new one. */
  take(): Promise<FreshWorker>;
  /** Starts a spare, unless one is kept already. */
  startSpare(): void;
  /** This runtime is closing: the last one that used the spare terminates it. */
  release(): Promise<void>;
}

interface Pool {
  spare?: Promise<FreshWorker>;
  users: Set<Workers>;
}

const pools = new Map<string, Pool>();
const ids = new WeakMap<SpawnWorker, number>();
let nextId = 1;

/** The workers one runtime takes from `spawn`, and the spare it shares with other runtimes. */
export function runtimeWorkers(spawn: SpawnWorker, maxHeapMiB: number): Workers {
  if (!ids.has(spawn)) ids.set(spawn, nextId++);
  const key = `${ids.get(spawn)}/${maxHeapMiB}`;
  let released = false;
  const spawnOne = () => Promise.resolve().then(() => spawn({ maxHeapMiB })).then(handRings);
  const join = (): Pool => {
    let pool = pools.get(key);
    if (!pool) pools.set(key, pool = { users: new Set() });
    pool.users.add(workers);
    return pool;
  };
  const workers: Workers = {
    key,
    take() {
      // Closed, and still asked (a restart that raced the close): nothing is kept for it.
      if (released) return spawnOne();
      const pool = join();
      const spare = pool.spare;
      pool.spare = undefined;
      // A spare that failed to start costs the deploy a spawn, not a failure.
      return spare ? spare.catch(spawnOne) : spawnOne();
    },
    startSpare() {
      if (released) return;
      const pool = join();
      if (pool.spare) return;
      const spare = spawnOne();
      pool.spare = spare;
      // One that dies waiting is dropped; the next deploy spawns its own.
      const drop = () => { if (pool.spare === spare) pool.spare = undefined; };
      spare.then(({ port }) => port.onError(drop), drop);
    },
    async release() {
      if (released) return;
      released = true;
      const pool = pools.get(key);
      if (!pool?.users.delete(workers) || pool.users.size > 0) return;
      pools.delete(key);
      const spare = pool.spare;
      pool.spare = undefined;
      await spare?.then(({ port }) => port.terminate(), () => {});
    },
  };
  return workers;
}

function handRings(port: WorkerPort): FreshWorker {
  if (!ringsAvailable()) return { port };
  const rings: WorkerSetup = { t: 'rings', toWorker: createRing(RING_BYTES), fromWorker: createRing(RING_BYTES) };
  port.postMessage(rings);
  return { port, rings };
}
