// The `stub` export of the protostub world. Every entry point is fenced:
// an exception escaping into componentize-js traps the component, and a
// trapped instance refuses every later call, so no input may throw out.
import { log } from 'protofly:stub/host@0.1.0';
import { parseConfig } from './config.ts';
import { errorText } from './log.ts';
import { Session } from './session.ts';

let session: Session | null = null;

// Each export catches what its body throws, then flushes; written out in
// each rather than through a shared wrapper taking a closure, which would
// cost an allocation on every call, one per message on the busiest paths.
function failed(s: Session, what: string, e: unknown): void {
  s.log(4, `${what} failed: ${errorText(e)}`);
}

function flush(s: Session, what: string): void {
  try {
    s.flush();
  } catch (e) {
    s.log(4, `flushing after ${what} failed: ${errorText(e)}`);
  }
}

function beforeInit(what: string): void {
  safeLog(3, `mqtt: ${what} before init; ignored`);
}

function safeLog(level: number, text: string): void {
  try {
    log(level, text);
  } catch {
    // Nowhere left to report to.
  }
}

// A host byte list as a Uint8Array of the stub's own realm: componentize-js
// hands over a view made in another realm, which fails `instanceof
// Uint8Array` checks in libraries (cbor-x), over a buffer of the stub's
// realm that the view alone refers to. A new view of that buffer is enough:
// no copy (measured: a batch's copy was a large part of what a batch cost).
// Frames are only read where they lie, so they keep the view they came in.
function bytes(list: Uint8Array): Uint8Array {
  return new Uint8Array(list.buffer, list.byteOffset, list.byteLength);
}

export const stub = {
  // A `result<_, string>` export reports err when the function throws a
  // string (componentize-js wraps it as the err payload); any other thrown
  // value would trap the component.
  init(config: Uint8Array): void {
    if (session) throw 'init called twice';
    let parsed;
    try {
      parsed = parseConfig(bytes(config));
    } catch (e) {
      throw `init config could not be read: ${errorText(e)}`;
    }
    if (typeof parsed === 'string') throw parsed;
    const s = session = new Session(parsed);
    try {
      s.start();
    } catch (e) {
      failed(s, 'init', e);
    }
    flush(s, 'init');
  },
  onMessages(batch: Uint8Array): void {
    const s = session;
    if (!s) return beforeInit('on-messages');
    try {
      s.onMessages(bytes(batch));
    } catch (e) {
      failed(s, 'on-messages', e);
    }
    flush(s, 'on-messages');
  },
  onOpen(conn: number): void {
    const s = session;
    if (!s) return beforeInit('on-open');
    try {
      s.onOpen(conn);
    } catch (e) {
      failed(s, 'on-open', e);
    }
    flush(s, 'on-open');
  },
  onFrame(conn: number, frame: Uint8Array): void {
    const s = session;
    if (!s) return beforeInit('on-frame');
    try {
      s.onFrame(conn, frame);
    } catch (e) {
      failed(s, 'on-frame', e);
    }
    flush(s, 'on-frame');
  },
  onClose(conn: number, reason: string): void {
    const s = session;
    if (!s) return beforeInit('on-close');
    try {
      s.onClose(conn, String(reason));
    } catch (e) {
      failed(s, 'on-close', e);
    }
    flush(s, 'on-close');
  },
  onTimer(id: number): void {
    const s = session;
    if (!s) return beforeInit('on-timer');
    try {
      s.onTimer(id);
    } catch (e) {
      failed(s, 'on-timer', e);
    }
    flush(s, 'on-timer');
  },
};
