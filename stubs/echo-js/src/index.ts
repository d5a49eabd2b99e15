// Echo fixture in TypeScript, the twin of stubs/echo-c: announces LIVE at
// init, then answers every message for a remote address with a RESPONSE
// that swaps from/to and keeps id and body; addressed to the stub itself
// (its URL or below), a READ with code 200 and its body as the value, any
// other type with code 400 (CONTRACT.md). Benchmarks compare the
// two to see what the JS engine inside the component costs per message.
import { log, post } from 'protofly:stub/host@0.1.0';
import { Decoder, Encoder } from 'cbor-x';

// Plain interchange CBOR, as the runtime speaks it (CONTRACT.md, "Encodings").
const options = { useRecords: false, mapsAsObjects: true, tagUint8Array: false, variableMapSize: true } as const;
const encoder = new Encoder(options);
const decoder = new Decoder(options);

let stubURL: string | null = null;
let runtimeURL = '';
let nextId = 1;

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

// Never throws: a log call that fails has nowhere left to report to.
function safeLog(level: number, text: string): void {
  try {
    log(level, text);
  } catch {
    // ignored
  }
}

// Returns the stub URL, or the reason init refuses (echo-c's reasons).
function readConfig(bytes: Uint8Array): string | { stubURL: string; runtimeURL: string } {
  let raw: unknown;
  try {
    // componentize-js hands over a Uint8Array of another realm; a copy is
    // one cbor-x recognises.
    raw = decoder.decode(new Uint8Array(bytes));
  } catch {
    return 'config is not a CBOR map';
  }
  if (!isMap(raw)) return 'config is not a CBOR map';
  if (typeof raw.stubURL !== 'string' || !raw.stubURL) return 'config has no stubURL';
  if (isMap(raw.configuration) && raw.configuration.failInit === true) return 'init refused by configuration';
  return { stubURL: raw.stubURL, runtimeURL: typeof raw.runtimeURL === 'string' ? raw.runtimeURL : '' };
}

const NOT_UNDERSTOOD = 'the echo answers READ at its own address, and no other type';
const CONTROL_TYPES = ['SUBSCRIBE', 'UNSUBSCRIBE', 'DELETE'];

function reply(message: unknown, self: string): Record<string, unknown> | 'control' | 'malformed' {
  if (!isMap(message)) return 'malformed';
  const { id, from, to, body } = message;
  if (id === undefined || typeof from !== 'string' || typeof to !== 'string') return 'malformed';
  const answer: Record<string, unknown> = { id, type: 'RESPONSE', from: to, to: from };
  if (to === self || to.startsWith(`${self}/`)) {
    const { type } = message;
    // A RESPONSE is never answered; the runtime's control messages need no
    // answer from an echo, which has no back-end to ask.
    if (type === 'RESPONSE') return 'control';
    if (runtimeURL && from === runtimeURL && to === self && CONTROL_TYPES.includes(type as string)) return 'control';
    answer.body = type !== 'READ' ? { code: 400, reason: NOT_UNDERSTOOD } : 'body' in message ? { code: 200, value: body } : { code: 200 };
    return answer;
  }
  if ('body' in message) answer.body = body;
  return answer;
}

export const stub = {
  // `init` reports err by throwing a string (componentize-js makes it the
  // err payload); anything else thrown would trap the component.
  init(config: Uint8Array): void {
    const parsed = readConfig(config);
    if (typeof parsed === 'string') throw parsed;
    stubURL = parsed.stubURL;
    runtimeURL = parsed.runtimeURL;
    let status: Uint8Array;
    try {
      status = encoder.encode([{
        id: String(nextId++), type: 'UPDATE', from: stubURL, resource: `${stubURL}/status`, body: { value: 'LIVE' },
      }]);
    } catch (e) {
      throw `cannot encode the status: ${errorText(e)}`;
    }
    post(status);
    safeLog(2, 'echo-js live');
  },
  onMessages(batch: Uint8Array): void {
    const self = stubURL;
    if (self === null) {
      safeLog(3, 'echo-js: on-messages before init; ignored');
      return;
    }
    try {
      const messages: unknown = decoder.decode(new Uint8Array(batch));
      if (!Array.isArray(messages)) {
        safeLog(3, 'echo-js: batch is not a CBOR array, skipped');
        return;
      }
      const replies: Array<Record<string, unknown>> = [];
      let malformed = 0;
      for (const message of messages) {
        const outcome = reply(message, self);
        if (outcome === 'malformed') malformed++;
        else if (outcome !== 'control') replies.push(outcome);
      }
      if (malformed) safeLog(3, `echo-js: skipped ${malformed} malformed message(s)`);
      // The host copies the bytes during the call, so the encoder's reused
      // buffer needs no copy of its own.
      if (replies.length) post(encoder.encode(replies));
    } catch (e) {
      safeLog(4, `echo-js: on-messages failed: ${errorText(e)}`);
    }
  },
  onOpen(_conn: number): void {},
  onFrame(_conn: number, _frame: Uint8Array): void {},
  onClose(_conn: number, _reason: string): void {},
  onTimer(_id: number): void {},
};
