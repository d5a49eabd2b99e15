// Runs inside the worker: the guest, with its host calls forwarded to the
// runtime's thread. Everything the stub does happens here, so a stub that
// never returns blocks only this thread, which the runtime can terminate.
import { InitRefused, isFault, startGuest, type Guest } from '../guest.ts';
import type { FromWorker, ToWorker } from './protocol.ts';

export interface ParentPort {
  postMessage(message: FromWorker, transfer?: Transferable[]): void;
  on(event: 'message', listener: (message: ToWorker) => void): void;
}

export function runWorker(port: ParentPort): void {
  let guest: Guest | undefined;
  let posts: Uint8Array[] = [];
  let done = 0;
  let flushScheduled = false;
  const early: ToWorker[] = [];

  // Posts made during a call (or a burst of calls) cross the boundary once.
  const flushPosts = () => {
    flushScheduled = false;
    if (!posts.length && !done) return;
    const batches = posts;
    posts = [];
    port.postMessage({ t: 'posts', batches, done }, batches.map((b) => b.buffer as ArrayBuffer));
    done = 0;
  };
  const scheduleFlush = () => {
    if (flushScheduled) return;
    flushScheduled = true;
    queueMicrotask(flushPosts);
  };

  const handle = (message: ToWorker) => {
    if (!guest) {
      early.push(message);
      return;
    }
    switch (message.t) {
      case 'messages':
        guest.deliver(message.batch);
        done++;
        scheduleFlush();
        break;
      case 'open': guest.onOpen(message.conn); break;
      case 'frame': guest.onFrame(message.conn, message.frame); break;
      case 'close': guest.onClose(message.conn, message.reason); break;
      default: break;
    }
  };

  port.on('message', (message) => {
    if (message.t === 'ping') return port.postMessage({ t: 'pong' });
    if (message.t !== 'start') return handle(message);
    void startGuest(message.prepared, {
      post(batch) {
        posts.push(batch.slice());
        scheduleFlush();
      },
      open: (conn, url, protocols) => port.postMessage({ t: 'open', conn, url, protocols }),
      send: (conn, frame) => port.postMessage({ t: 'send', conn, frame }, [frame.buffer as ArrayBuffer]),
      close: (conn) => port.postMessage({ t: 'close', conn }),
      log: (level, text) => port.postMessage({ t: 'log', level, text }),
      fault: (code, reason) => {
        flushPosts();
        port.postMessage({ t: 'fault', code, reason });
      },
    }, message.limits, message.config, message.clock).then(
      (started) => {
        flushPosts();
        guest = started;
        port.postMessage({ t: 'ready' });
        for (const queued of early.splice(0)) handle(queued);
      },
      (error: unknown) => {
        flushPosts();
        if (error instanceof InitRefused) port.postMessage({ t: 'init-refused', reason: error.message });
        else if (isFault(error)) port.postMessage({ t: 'fault', code: error.code, reason: error.message });
        else port.postMessage({ t: 'fault', code: 'PF_ERR_COMPONENT_INVALID', reason: error instanceof Error ? error.message : String(error) });
      },
    );
  });
}
