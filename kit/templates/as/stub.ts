// {{name}}: a protofly protocol stub in AssemblyScript (stubs/CONTRACT.md in
// the protofly package says what every callback receives and must answer).
// As generated it has no back-end: it goes LIVE at init, acknowledges the
// runtime's SUBSCRIBE and DELETE control messages, answers anything else
// addressed to itself with 400, and echoes every other message back to its
// sender. Replace the echo in handle() with your protocol; keep the rest of
// the contract.
//
// The six callbacks are @global functions the glue (protostub.ts) calls.
// Bytes and strings reach them as (pointer, length) in linear memory and are
// freed when the callback returns: copy what must outlive the call.
import { CborReader, CborText, CborWriter, ARRAY, END } from "./cbor";
import { WARN, log, post } from "./protostub";
import { postStatus } from "./status";
import { copyOf } from "./utf8";

// Our own copies of the stub URL and the runtime's (control messages come
// from there): the config is freed after init.
let stubUrl: usize = 0;
let stubUrlLen: usize = 0;
let runtimeUrl: usize = 0;
let runtimeUrlLen: usize = 0;

// Readers and writers are kept and reset, not made per message (cbor.ts).
const batchReader = new CborReader();
const itemReader = new CborReader();
const replies = new CborWriter();

// Texts the stub reads and writes in every message, encoded once.
const ID = CborText.of("id");
const TYPE = CborText.of("type");
const FROM = CborText.of("from");
const TO = CborText.of("to");
const BODY = CborText.of("body");
const RESPONSE = CborText.of("RESPONSE");
const SUBSCRIBE = CborText.of("SUBSCRIBE");
const UNSUBSCRIBE = CborText.of("UNSUBSCRIBE");
const DELETE = CborText.of("DELETE");
const RESOURCES = CborText.of("resources");

// { code: 200 }, { code: 400 } and {} as CBOR.
const OK_BODY = memory.data<u8>([0xa1, 0x64, 0x63, 0x6f, 0x64, 0x65, 0x18, 200]);
const BAD_BODY = memory.data<u8>([0xa1, 0x64, 0x63, 0x6f, 0x64, 0x65, 0x19, 0x01, 0x90]);
const EMPTY_BODY = memory.data<u8>([0xa0]);
// { code: 400, reason: "not understood" }, for what is addressed to the stub
// and is not the runtime's control message.
const NOT_UNDERSTOOD = new CborWriter();
NOT_UNDERSTOOD.putMap(2);
NOT_UNDERSTOOD.putString("code");
NOT_UNDERSTOOD.putUint(400);
NOT_UNDERSTOOD.putString("reason");
NOT_UNDERSTOOD.putString("not understood");

const REFUSED = "config is not a CBOR map with a stubURL and a runtimeURL";

// The whole config must be one well-formed CBOR map with a text stubURL;
// anything else is refused with an err (never a trap). Returns null when
// init succeeds, else the reason it refuses.
// @ts-ignore: decorator
@global function stub_init(config: usize, len: usize): string | null {
  const r = batchReader.reset(config, len);
  let url: usize = 0;
  let urlLen: usize = 0;
  let runtime: usize = 0;
  let runtimeLen: usize = 0;
  if (!r.readMap()) return REFUSED;
  let n = r.count;
  while ((n = r.next(n)) != END) {
    if (r.readTextIs("stubURL")) {
      if (!r.readText() || r.len == 0) return REFUSED;
      url = r.ptr;
      urlLen = r.len;
    } else if (r.readTextIs("runtimeURL")) {
      if (!r.readText() || r.len == 0) return REFUSED;
      runtime = r.ptr;
      runtimeLen = r.len;
    } else if (!r.skip() || !r.skip()) {
      // Your own settings are under "configuration": read them here.
      return REFUSED;
    }
  }
  if (r.broken || !r.atEnd() || urlLen == 0 || runtimeLen == 0) return REFUSED;
  heap.free(stubUrl);  // init may run again
  stubUrl = copyOf(url, urlLen);
  stubUrlLen = urlLen;
  heap.free(runtimeUrl);
  runtimeUrl = copyOf(runtime, runtimeLen);
  runtimeUrlLen = runtimeLen;
  // No back-end to log in to, so LIVE at once. A real stub posts LIVE when
  // its back-end accepts the login (from stub_on_frame, say).
  postStatus(stubUrl, stubUrlLen, "LIVE");
  return null;
}

// Only id, type, from, to and body are looked at; the id and body are kept
// as raw CBOR (pointers into the batch), so their content is never parsed.
// @ts-ignore: decorator
@unmanaged class Message {
  id: usize = 0;
  idLen: usize = 0;
  body: usize = 0;
  bodyLen: usize = 0;
  type: usize = 0;
  typeLen: usize = 0;
  from: usize = 0;
  fromLen: usize = 0;
  to: usize = 0;
  toLen: usize = 0;
  hasId: bool = false;
  hasBody: bool = false;
  hasType: bool = false;
  hasFrom: bool = false;
  hasTo: bool = false;
}
const message = new Message();

function parseMessage(r: CborReader, m: Message): bool {
  m.hasId = m.hasBody = m.hasType = m.hasFrom = m.hasTo = false;
  if (!r.readMap()) return false;
  let n = r.count;
  while ((n = r.next(n)) != END) {
    let ok: bool;
    if (!r.readText()) {
      ok = r.skip() && r.skip();
    } else if (ID.is(r.ptr, r.len)) {
      ok = m.hasId = r.take();
      m.id = r.ptr;
      m.idLen = r.len;
    } else if (TYPE.is(r.ptr, r.len)) {
      ok = m.hasType = r.readText();
      m.type = r.ptr;
      m.typeLen = r.len;
    } else if (FROM.is(r.ptr, r.len)) {
      ok = m.hasFrom = r.readText();
      m.from = r.ptr;
      m.fromLen = r.len;
    } else if (TO.is(r.ptr, r.len)) {
      ok = m.hasTo = r.readText();
      m.to = r.ptr;
      m.toLen = r.len;
    } else if (BODY.is(r.ptr, r.len)) {
      ok = m.hasBody = r.take();
      m.body = r.ptr;
      m.bodyLen = r.len;
    } else {
      ok = r.skip();
    }
    if (!ok) return false;
  }
  return !r.broken && m.hasId && m.hasType && m.hasFrom && m.fromLen > 0;
}

function sameText(a: usize, aLen: usize, b: usize, bLen: usize): bool {
  return aLen == bLen && memory.compare(a, b, aLen) == 0;
}

// A SUBSCRIBE body must be a map whose "resources" is an array of texts.
function validResources(m: Message): bool {
  if (!m.hasBody) return false;
  const r = itemReader.reset(m.body, m.bodyLen);
  let found = false;
  if (!r.readMap()) return false;
  let n = r.count;
  while ((n = r.next(n)) != END) {
    if (r.readText() && RESOURCES.is(r.ptr, r.len)) {
      if (!r.readArray()) return false;
      let count = r.count;
      while ((count = r.next(count)) != END) {
        if (!r.readText()) return false;
      }
      found = true;
    } else if (!r.skip() || !r.skip()) {
      return false;
    }
  }
  return !r.broken && found;
}

// { id, type: "RESPONSE", from, to, body }, where body is raw CBOR.
function putResponse(w: CborWriter, m: Message, from: usize, fromLen: usize, body: usize, bodyLen: usize): void {
  w.putMap(5);
  w.putRaw(ID.item, ID.itemLen);
  w.putRaw(m.id, m.idLen);
  w.putRaw(TYPE.item, TYPE.itemLen);
  w.putRaw(RESPONSE.item, RESPONSE.itemLen);
  w.putRaw(FROM.item, FROM.itemLen);
  w.putText(from, fromLen);
  w.putRaw(TO.item, TO.itemLen);
  w.putText(m.from, m.fromLen);
  w.putRaw(BODY.item, BODY.itemLen);
  w.putRaw(body, bodyLen);
}

// CONTRACT.md: the stub URL, or an address below it.
function toSelf(m: Message): bool {
  return m.hasTo && m.toLen >= stubUrlLen && memory.compare(m.to, stubUrl, stubUrlLen) == 0
    && (m.toLen == stubUrlLen || load<u8>(m.to + stubUrlLen) == 0x2f);  // '/'
}

// Returns true if it wrote a reply into w.
function handle(w: CborWriter, m: Message): bool {
  // Replies are never answered, so two stubs cannot ping-pong forever.
  if (RESPONSE.is(m.type, m.typeLen)) return false;
  if (toSelf(m)) {
    // Control messages come from the runtime, to the stub URL exactly. With
    // no back-end, a subscription is confirmed at once, and there is no
    // session to end; a real stub answers when its back-end has (CONTRACT.md).
    const control = sameText(m.from, m.fromLen, runtimeUrl, runtimeUrlLen) && m.toLen == stubUrlLen;
    if (control && SUBSCRIBE.is(m.type, m.typeLen)) {
      const valid = validResources(m);
      putResponse(w, m, stubUrl, stubUrlLen, valid ? OK_BODY : BAD_BODY, valid ? 8 : 9);
      return true;
    }
    if (control && UNSUBSCRIBE.is(m.type, m.typeLen)) return false;  // needs no answer
    if (control && DELETE.is(m.type, m.typeLen)) {
      putResponse(w, m, stubUrl, stubUrlLen, OK_BODY, 8);
      return true;
    }
    // Anything else addressed to the stub: answered, never silence.
    putResponse(w, m, stubUrl, stubUrlLen, NOT_UNDERSTOOD.data, NOT_UNDERSTOOD.len);
    return true;
  }
  // A message for a remote address: a real stub carries it to its back-end.
  if (!m.hasTo) return false;
  putResponse(w, m, m.to, m.toLen, m.hasBody ? m.body : EMPTY_BODY, m.hasBody ? m.bodyLen : 1);
  return true;
}

// @ts-ignore: decorator
@global function stub_on_messages(batch: usize, len: usize): void {
  if (!stubUrlLen) return;  // not initialised: nobody to speak as
  const r = batchReader.reset(batch, len);
  if (!r.readArray()) {
    log(WARN, "{{name}}: batch is not a CBOR array, skipped");
    return;
  }
  // Replies go out as one batch whose length is known only at the end.
  const w = replies;
  w.reset();
  w.reserveHead();
  let answered: u32 = 0;
  let skipped = false;
  let lost = false;
  let n = r.count;
  while ((n = r.next(n)) != END) {
    if (!r.take()) {
      lost = true;  // no way to find where the next message starts
      break;
    }
    if (!parseMessage(itemReader.reset(r.ptr, r.len), message)) skipped = true;
    else if (handle(w, message)) answered++;
  }
  if (lost || r.broken) log(WARN, "{{name}}: batch is truncated or malformed, rest skipped");
  if (skipped) log(WARN, "{{name}}: skipped malformed message(s)");
  if (answered) {
    const start = w.finishHead(ARRAY, answered);
    post(start, w.end() - start);
  }
  w.reset();
}

// Connections and timers: unused until the stub has a back-end to talk to.
// @ts-ignore: decorator
@global function stub_on_open(conn: u32): void {}
// @ts-ignore: decorator
@global function stub_on_frame(conn: u32, frame: usize, len: usize): void {}
// @ts-ignore: decorator
@global function stub_on_close(conn: u32, reason: usize, len: usize): void {}
// @ts-ignore: decorator
@global function stub_on_timer(id: u32): void {}
