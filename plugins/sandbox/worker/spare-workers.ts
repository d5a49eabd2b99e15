// Starting a worker costs tens of milliseconds (a thread, a JS context, the
// entry module), most of a warm deploy. One spare is kept started, so a
// deploy takes a worker that is already up and a new spare boots meanwhile.
import type { SpawnWorker, WorkerPort } from './protocol.ts';

const spares = new Map<string, Promise<WorkerPort>>();
const ids = new WeakMap<SpawnWorker, number>();
let nextId = 1;

export async function takeWorker(spawn: SpawnWorker, maxHeapMiB: number): Promise<WorkerPort> {
  if (!ids.has(spawn)) ids.set(spawn, nextId++);
  const key = `${ids.get(spawn)}/${maxHeapMiB}`;
  const spare = spares.get(key);
  const fresh = () => Promise.resolve(spawn({ maxHeapMiB }));
  const next = fresh();
  // A spare that failed to start is not kept; the next deploy spawns its own.
  next.catch(() => { if (spares.get(key) === next) spares.delete(key); });
  spares.set(key, next);
  return spare ?? fresh();
}
