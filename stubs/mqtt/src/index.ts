// The `stub` export of the protostub world. Every entry point is fenced:
// an exception escaping into componentize-js traps the component, and a
// trapped instance refuses every later call, so no input may throw out.
import { log } from 'protofly:stub/host@0.1.0';
import { parseConfig } from './config.ts';
import { errorText } from './log.ts';
import { Session } from './session.ts';

let session: Session | null = null;

function fenced(what: string, body: (s: Session) => void): void {
  if (!session) {
    safeLog(3, `mqtt: ${what} before init; ignored`);
    return;
  }
  const s = session;
  try {
    body(s);
  } catch (e) {
    s.log(4, `${what} failed: ${errorText(e)}`);
  }
  try {
    s.flush();
  } catch (e) {
    s.log(4, `flushing after ${what} failed: ${errorText(e)}`);
  }
}

function safeLog(level: number, text: string): void {
  try {
    log(level, text);
  } catch {
    // Nowhere left to report to.
  }
}

// Copies a host byte list: componentize-js hands over a Uint8Array from
// another realm, which fails `instanceof Uint8Array` checks in libraries.
function bytes(list: Uint8Array): Uint8Array {
  return new Uint8Array(list);
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
    session = new Session(parsed);
    fenced('init', (s) => s.start());
  },
  onMessages(batch: Uint8Array): void {
    fenced('on-messages', (s) => s.onMessages(bytes(batch)));
  },
  onOpen(conn: number): void {
    fenced('on-open', (s) => s.onOpen(conn));
  },
  onFrame(conn: number, frame: Uint8Array): void {
    fenced('on-frame', (s) => s.onFrame(conn, bytes(frame)));
  },
  onClose(conn: number, reason: string): void {
    fenced('on-close', (s) => s.onClose(conn, String(reason)));
  },
  onTimer(id: number): void {
    fenced('on-timer', (s) => s.onTimer(id));
  },
};
