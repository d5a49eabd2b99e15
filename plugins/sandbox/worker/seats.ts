// Which worker a stub runs in. By default each stub has a worker of its own;
// with `stubsPerWorker` above 1, up to that many stubs share one, each in a
// slot of its own (a Node worker costs ≈7 MiB here, a C stub ≈50 KiB).
// What sharing gives up: a call stuck in one stub can only be stopped with
// the whole thread, so its neighbours go down with it and are told so, and
// they share the worker's JS heap limit.
import { pfError } from '../../../kernel/errors.ts';
import { Channel, isOutOfBand } from './channel.ts';
import type { FromSlot, FromWorker, ToSlot, ToWorker, WorkerPort } from './protocol.ts';
import type { Message as RingMessage } from './records.ts';
import type { Workers } from './spare-workers.ts';

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
  /** The shared-memory rings to the worker, where they can be used. */
  channel?: Channel;
}

/**
 * How long the runtime's thread looks for a stub's answer after handing it
 * something, before leaving it to an event-loop wake-up (≈50 µs later).
 */
const ANSWER_SPIN_MICROS = 200;

// The group new stubs join, per spawn function, heap size and capacity.
const open = new Map<string, Group>();

export async function takeSeat(workers: Workers, stubsPerWorker: number, events: SeatEvents): Promise<Seat> {
  const key = `${workers.key}/${stubsPerWorker}`;
  let group = open.get(key);
  if (!group || group.dead) {
    group = startGroup(key, workers, stubsPerWorker);
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

  const post = (message: ToWorker, transfer?: Transferable[]) => {
    if (joined.channel) joined.channel.send(message as unknown as RingMessage, transfer);
    else port.postMessage(message, transfer);
  };
  return {
    send: (message, transfer) => { if (!joined.dead) post({ s: slot, ...message } as ToWorker, transfer); },
    async leave() {
      if (!joined.seated.delete(slot)) return;
      if (--joined.taken > 0 && !joined.dead) {
        post({ s: slot, t: 'stop' });
        // Room again for later deploys, unless another group has it.
        if (!open.has(key)) open.set(key, joined);
        return;
      }
      close(joined);
      joined.dead = true;
      joined.channel?.close();
      await port.terminate();
    },
    async terminate() {
      if (!joined.seated.delete(slot)) return;
      lose(joined, new Error('a stub it shared the worker with was stopped in a call'), true);
      await port.terminate();
    },
  };
}

// A group's worker is always a fresh one (a new worker or the spare, which
// never ran a stub): a worker whose last stub left is terminated, not reused.
function startGroup(key: string, workers: Workers, capacity: number): Group {
  const group: Group = { key, capacity, taken: 0, dead: false, nextSlot: 1, seated: new Map(), port: undefined! };
  const deliver = (message: FromWorker) => group.seated.get(message.s)?.message(message);
  group.port = workers.take().then(({ port, rings }) => {
    if (rings) {
      group.channel = new Channel({
        sends: 'to-worker', outgoing: rings.toWorker, incoming: rings.fromWorker,
        post: (data, transfer) => port.postMessage(data, transfer),
        receive: (message) => deliver(message as unknown as FromWorker),
        idleSpinMicros: 0, blockingWaitMs: 0, answerSpinMicros: ANSWER_SPIN_MICROS,
      });
    }
    port.onMessage((raw) => {
      if (isOutOfBand(raw)) group.channel?.fromPort(raw);
      else deliver(raw as FromWorker);
    });
    port.onError((error) => lose(group, error, false));
    return port;
  });
  group.port.catch(() => lose(group, new Error('it did not start'), false));
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
  group.channel?.close();
  group.taken = 0;
  const seated = [...group.seated.values()];
  group.seated.clear();
  for (const events of seated) events.lost(error, byNeighbour);
}
