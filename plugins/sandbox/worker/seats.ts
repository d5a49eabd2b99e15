// Which worker a stub runs in. By default each stub has a worker of its own;
// with `stubsPerWorker` above 1, up to that many stubs share one, each in a
// slot of its own (a Node worker costs ≈7 MiB here, a C stub ≈50 KiB).
// What sharing gives up: a call stuck in one stub can only be stopped with
// the whole thread, so its neighbours go down with it and are told so, and
// they share the worker's JS heap limit.
import { pfError } from '../../../kernel/errors.ts';
import type { FromSlot, FromWorker, SpawnWorker, ToSlot, WorkerPort } from './protocol.ts';
import { takeWorker } from './spare-workers.ts';

export interface Seat {
  send(message: ToSlot, transfer?: Transferable[]): void;
  /** Stops this stub; the worker ends with the last stub in it. */
  leave(): Promise<void>;
  /** Stops the whole worker, neighbours included (they hear `lost`). */
  terminate(): Promise<void>;
}

export interface SeatEvents {
  message(message: FromSlot): void;
  /** The worker is gone: it died, or a neighbour's stuck call had it stopped (`byNeighbour`). */
  lost(error: Error, byNeighbour: boolean): void;
}

interface Group {
  key: string;
  capacity: number;
  /** Seats taken, counting stubs whose worker is still starting. */
  taken: number;
  dead: boolean;
  nextSlot: number;
  port: Promise<WorkerPort>;
  seated: Map<number, SeatEvents>;
}

// The group new stubs join, per spawn function, heap size and capacity.
const open = new Map<string, Group>();
const ids = new WeakMap<SpawnWorker, number>();
let nextId = 1;

export async function takeSeat(spawn: SpawnWorker, maxHeapMiB: number, stubsPerWorker: number, events: SeatEvents): Promise<Seat> {
  if (!ids.has(spawn)) ids.set(spawn, nextId++);
  const key = `${ids.get(spawn)}/${maxHeapMiB}/${stubsPerWorker}`;
  let group = open.get(key);
  if (!group || group.dead) {
    group = startGroup(key, spawn, maxHeapMiB, stubsPerWorker);
    open.set(key, group);
  }
  // Taken before the worker is up, so concurrent deploys fill one group.
  const slot = group.nextSlot++;
  if (++group.taken >= group.capacity) close(group);
  // A group that died meanwhile has already let go of every seat.
  const port = await group.port;
  if (group.dead) throw pfError('PF_ERR_WORKER_LOST', ['it went down before this stub started']);
  group.seated.set(slot, events);
  const joined = group;

  return {
    send: (message, transfer) => { if (!joined.dead) port.postMessage({ s: slot, ...message }, transfer); },
    async leave() {
      if (!joined.seated.delete(slot)) return;
      if (--joined.taken > 0 && !joined.dead) {
        port.postMessage({ s: slot, t: 'stop' });
        // Room again for later deploys, unless another group has it.
        if (!open.has(key)) open.set(key, joined);
        return;
      }
      close(joined);
      joined.dead = true;
      await port.terminate();
    },
    async terminate() {
      if (!joined.seated.delete(slot)) return;
      lose(joined, new Error('a stub it shared the worker with was stopped in a call'), true);
      await port.terminate();
    },
  };
}

function startGroup(key: string, spawn: SpawnWorker, maxHeapMiB: number, capacity: number): Group {
  const group: Group = { key, capacity, taken: 0, dead: false, nextSlot: 1, seated: new Map(), port: takeWorker(spawn, maxHeapMiB) };
  group.port.then((port) => {
    port.onMessage((raw) => group.seated.get((raw as FromWorker).s)?.message(raw as FromWorker));
    port.onError((error) => lose(group, error, false));
  }, () => lose(group, new Error('it did not start'), false));
  return group;
}

/** No more stubs join the group. */
function close(group: Group): void {
  if (open.get(group.key) === group) open.delete(group.key);
}

/** The worker is gone: every stub still in it hears so. */
function lose(group: Group, error: Error, byNeighbour: boolean): void {
  close(group);
  group.dead = true;
  group.taken = 0;
  const seated = [...group.seated.values()];
  group.seated.clear();
  for (const events of seated) events.lost(error, byNeighbour);
}
