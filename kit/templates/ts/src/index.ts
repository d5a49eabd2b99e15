// {{name}}: a protofly protocol stub (stubs/CONTRACT.md in the protofly
// package says what every callback receives and must answer).
// As generated it has no back-end: it goes LIVE at init, acknowledges the
// runtime's SUBSCRIBE and DELETE control messages, answers anything else
// addressed to itself with 400, and echoes every other message back to its
// sender. Replace the echo with your protocol; keep the rest of the contract.
import { log, post } from 'protofly:stub/host@0.1.0';
import { decodeCbor, encodeCbor } from './cbor.ts';

interface Message {
  id: string | number;
  type: string;
  from: string;
  to?: string;
  resource?: string;
  body?: unknown;
  [key: string]: unknown;
}

let stubURL = '';
// Control messages come from here.
let runtimeURL = '';
let counter = 0;

function isMessage(value: unknown): value is Message {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const m = value as Record<string, unknown>;
  return (typeof m.id === 'string' || typeof m.id === 'number') && typeof m.type === 'string'
    && typeof m.from === 'string' && m.from !== '' && (m.to === undefined || typeof m.to === 'string');
}

// The status message, in exactly the shape CONTRACT.md ("Status") fixes.
function postStatus(value: 'LIVE' | 'DISCONNECTED'): void {
  counter += 1;
  post(encodeCbor([{ id: `${stubURL}/status#${counter}`, type: 'UPDATE', from: stubURL, resource: `${stubURL}/status`, body: { value } }]));
}

function validResources(body: unknown): boolean {
  if (typeof body !== 'object' || body === null) return false;
  const resources = (body as { resources?: unknown }).resources;
  return Array.isArray(resources) && resources.every((r) => typeof r === 'string');
}

// CONTRACT.md: the stub URL, or an address below it.
function toSelf(to: string | undefined): boolean {
  return to !== undefined && (to === stubURL || to.startsWith(`${stubURL}/`));
}

function handle(message: Message): Message | undefined {
  // Replies are never answered, so two stubs cannot ping-pong forever.
  if (message.type === 'RESPONSE') return undefined;
  const answer = (body: Record<string, unknown>): Message => ({ id: message.id, type: 'RESPONSE', from: stubURL, to: message.from, body });
  if (toSelf(message.to)) {
    // Control messages come from the runtime, to the stub URL exactly. With
    // no back-end, a subscription is confirmed at once and there is no
    // session to end; a real stub answers when its back-end has (CONTRACT.md).
    const control = message.from === runtimeURL && message.to === stubURL;
    if (control && message.type === 'SUBSCRIBE') return answer({ code: validResources(message.body) ? 200 : 400 });
    if (control && message.type === 'UNSUBSCRIBE') return undefined;  // needs no answer
    if (control && message.type === 'DELETE') return answer({ code: 200 });
    // Anything else addressed to the stub: answered, never silence.
    return answer({ code: 400, reason: 'not understood' });
  }
  // A message for a remote address: a real stub carries it to its back-end.
  if (message.to === undefined) return undefined;
  return { id: message.id, type: 'RESPONSE', from: message.to, to: message.from, body: message.body ?? {} };
}

function onMessages(batch: Uint8Array): void {
  let decoded: unknown;
  try {
    decoded = decodeCbor(batch);
  } catch (e) {
    safeLog(3, `{{name}}: batch is not CBOR, skipped (${String(e)})`);
    return;
  }
  if (!Array.isArray(decoded)) {
    safeLog(3, '{{name}}: batch is not a CBOR array, skipped');
    return;
  }
  const replies: Message[] = [];
  for (const item of decoded) {
    if (!isMessage(item)) {
      safeLog(3, '{{name}}: skipped a malformed message');
      continue;
    }
    const reply = handle(item);
    if (reply) replies.push(reply);
  }
  if (replies.length) post(encodeCbor(replies));
}

function safeLog(level: number, text: string): void {
  try {
    log(level, text);
  } catch {
    // Nowhere left to report to.
  }
}

// An exception escaping into componentize-js traps the component, and a
// trapped instance refuses every later call: nothing may throw out of here.
function fenced(what: string, body: () => void): void {
  if (!stubURL) return safeLog(3, `{{name}}: ${what} before init; ignored`);
  try {
    body();
  } catch (e) {
    safeLog(4, `{{name}}: ${what} failed: ${String(e)}`);
  }
}

export const stub = {
  // `init` returns result<_, string>: a thrown *string* becomes the err
  // case; any other thrown value would trap.
  init(config: Uint8Array): void {
    let parsed: unknown;
    try {
      parsed = decodeCbor(new Uint8Array(config));
    } catch (e) {
      throw `init config is not CBOR: ${String(e)}`;
    }
    const { stubURL: url, runtimeURL: runtime } = typeof parsed === 'object' && parsed !== null
      ? parsed as { stubURL?: unknown; runtimeURL?: unknown } : {};
    if (typeof url !== 'string' || url === '' || typeof runtime !== 'string' || runtime === '') {
      throw 'init config is not a CBOR map with a stubURL and a runtimeURL';
    }
    // Your own settings: (parsed as { configuration }).configuration.
    stubURL = url;
    runtimeURL = runtime;
    try {
      // No back-end to log in to, so LIVE at once. A real stub posts LIVE
      // when its back-end accepts the login (from onFrame, say).
      postStatus('LIVE');
    } catch (e) {
      throw `could not post LIVE: ${String(e)}`;
    }
  },
  // componentize-js hands over bytes from another realm: copy them first.
  onMessages(batch: Uint8Array): void {
    fenced('on-messages', () => onMessages(new Uint8Array(batch)));
  },
  // Connections and timers: unused until the stub has a back-end to talk to.
  onOpen(_conn: number): void {},
  onFrame(_conn: number, _frame: Uint8Array): void {},
  onClose(_conn: number, _reason: string): void {},
  onTimer(_id: number): void {},
};
