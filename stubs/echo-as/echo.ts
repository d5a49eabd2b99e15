// Echo fixture in AssemblyScript, the twin of stubs/echo-c (the same
// replies, refusals and log lines but for the name): announces LIVE at
// init, then answers every message for a remote address with a RESPONSE that
// swaps from/to and carries the same id and body; addressed to the stub
// itself (its URL or below), a READ with code 200 and its body as the value,
// any other type with code 400 (CONTRACT.md). It opens no connection. Messages are read in place and answered by copying bytes, into
// a buffer kept between batches: nothing is allocated per message.
import { CborReader, CborText, CborWriter, ARRAY, END, TRUE } from "../as/cbor";
import { INFO, WARN, log, post } from "../as/protostub";
import { postStatus } from "../as/status";
import { copyOf } from "../as/utf8";

// Our own copies of the stub URL and the runtime's: the config is freed
// after init. No runtime URL: its length is 0.
let stubUrl: usize = 0;
let stubUrlLen: usize = 0;
let runtimeUrl: usize = 0;
let runtimeUrlLen: usize = 0;

const batchReader = new CborReader();
const messageReader = new CborReader();
const replies = new CborWriter();

// configuration.failInit == true lets tests see how the runtime copes with a
// refusing init. Returns failInit as now known (1 or 0), or -1 on malformed
// input.
function readConfiguration(r: CborReader, failInit: i32): i32 {
  if (!r.readMap()) return r.skip() ? failInit : -1;  // not a map (null, say): no options
  let n = r.count;
  while ((n = r.next(n)) != END) {
    if (r.readTextIs("failInit")) {
      if (r.readSimple()) {
        failInit = r.value == TRUE ? 1 : 0;
        continue;
      }
    } else if (!r.skip()) {
      return -1;
    }
    if (!r.skip()) return -1;
  }
  return r.broken ? -1 : failInit;
}

// @ts-ignore: decorator
@global function stub_init(config: usize, len: usize): string | null {
  const r = batchReader.reset(config, len);
  let url: usize = 0;
  let urlLen: usize = 0;
  let runtime: usize = 0;
  let runtimeLen: usize = 0;
  let hasUrl = false;
  let failInit = 0;
  let whole = false;
  if (r.readMap()) {
    let n = r.count;
    while ((n = r.next(n)) != END) {
      if (r.readTextIs("stubURL")) {
        hasUrl = r.readText();
        if (hasUrl) {
          url = r.ptr;
          urlLen = r.len;
        } else if (!r.skip()) {
          break;
        }
      } else if (r.readTextIs("runtimeURL")) {
        if (r.readText()) {
          runtime = r.ptr;
          runtimeLen = r.len;
        } else if (!r.skip()) {
          break;
        }
      } else if (r.readTextIs("configuration")) {
        failInit = readConfiguration(r, failInit);
        if (failInit < 0) break;
      } else if (!r.skip() || !r.skip()) {
        break;
      }
    }
    whole = n == END && !r.broken;
  }
  if (!whole || !r.atEnd()) return "config is not a CBOR map";
  if (!hasUrl) return "config has no stubURL";
  if (failInit > 0) return "init refused by configuration";
  heap.free(stubUrl);  // init may run again
  stubUrl = copyOf(url, urlLen);
  stubUrlLen = urlLen;
  heap.free(runtimeUrl);
  runtimeUrl = runtimeLen ? copyOf(runtime, runtimeLen) : 0;
  runtimeUrlLen = runtimeLen;
  postStatus(stubUrl, stubUrlLen, "LIVE");
  log(INFO, "echo-as live");
  return null;
}

// Keys a message is read by and a reply is made of, encoded once.
const ID = CborText.of("id");
const TYPE = CborText.of("type");
const FROM = CborText.of("from");
const TO = CborText.of("to");
const BODY = CborText.of("body");
const CODE = CborText.of("code");
const VALUE = CborText.of("value");
const REASON = CborText.of("reason");
const READ = CborText.of("READ");
const RESPONSE = CborText.of("RESPONSE");
const SUBSCRIBE = CborText.of("SUBSCRIBE");
const UNSUBSCRIBE = CborText.of("UNSUBSCRIBE");
const DELETE = CborText.of("DELETE");
const NOT_UNDERSTOOD = CborText.of("the echo answers READ at its own address, and no other type");
// The run every reply has between its id and its from: "type": "RESPONSE", "from".
const typeResponseFrom = new CborWriter();
typeResponseFrom.putString("type");
typeResponseFrom.putString("RESPONSE");
typeResponseFrom.putString("from");

// The fields of the message just read that an echo needs: id and body as
// raw CBOR items, from and to as texts, all pointing into the batch.
let hasId = false;
let idPtr: usize = 0;
let idLen: usize = 0;
let hasType = false;
let typePtr: usize = 0;
let typeLen: usize = 0;
let hasBody = false;
let bodyPtr: usize = 0;
let bodyLen: usize = 0;
let hasFrom = false;
let fromPtr: usize = 0;
let fromLen: usize = 0;
let hasTo = false;
let toPtr: usize = 0;
let toLen: usize = 0;

// Reads the message (a map) where m stands; false if it is not one.
function readMessage(m: CborReader): bool {
  hasId = hasType = hasBody = hasFrom = hasTo = false;
  if (!m.readMap()) return false;
  let n = m.count;
  while ((n = m.next(n)) != END) {
    let ok: bool;
    // Each key is read once and told apart by its text, not tried against
    // every name in turn.
    if (!m.readText()) {
      ok = m.skip() && m.skip();
    } else if (ID.is(m.ptr, m.len)) {
      ok = hasId = m.take();
      idPtr = m.ptr;
      idLen = m.len;
    } else if (TYPE.is(m.ptr, m.len)) {
      // A type that is not text is read as no type, not as a broken message.
      hasType = m.readText();
      typePtr = m.ptr;
      typeLen = m.len;
      ok = hasType || m.skip();
    } else if (FROM.is(m.ptr, m.len)) {
      ok = hasFrom = m.readText();
      fromPtr = m.ptr;
      fromLen = m.len;
    } else if (TO.is(m.ptr, m.len)) {
      ok = hasTo = m.readText();
      toPtr = m.ptr;
      toLen = m.len;
    } else if (BODY.is(m.ptr, m.len)) {
      ok = hasBody = m.take();
      bodyPtr = m.ptr;
      bodyLen = m.len;
    } else {
      ok = m.skip();
    }
    if (!ok) return false;
  }
  return !m.broken;
}

const REPLIED = 0;
const CONTROL = 1;
const MALFORMED = 2;

function isType(t: CborText): bool {
  return hasType && t.is(typePtr, typeLen);
}

// CONTRACT.md: the stub URL, or an address below it.
function toSelf(): bool {
  return toLen >= stubUrlLen && memory.compare(toPtr, stubUrl, stubUrlLen) == 0
    && (toLen == stubUrlLen || load<u8>(toPtr + stubUrlLen) == 0x2f);  // '/'
}

// The runtime's SUBSCRIBE, UNSUBSCRIBE and DELETE: the echo has no back-end
// to ask, so it takes them and answers none.
function isControl(): bool {
  return runtimeUrlLen > 0 && fromLen == runtimeUrlLen && memory.compare(fromPtr, runtimeUrl, fromLen) == 0
    && toLen == stubUrlLen && (isType(SUBSCRIBE) || isType(UNSUBSCRIBE) || isType(DELETE));
}

// Reads one message where r stands and writes its RESPONSE, from and to
// swapped, same id. A message for a remote address gets its body back. One
// addressed to the stub itself (its URL or below, CONTRACT.md): a READ gets
// { code: 200, value: <its body> }, anything else { code: 400, reason }; the
// runtime's control messages and RESPONSEs get nothing (CONTROL). A message
// needs an id and text from and to. r moves past the message unless it is
// MALFORMED. The id and body are copied byte for byte, so their content is
// never parsed.
function reply(w: CborWriter, r: CborReader): i32 {
  const m = messageReader.reset(r.p, r.end - r.p);
  if (!readMessage(m) || !hasId || !hasFrom || !hasTo) return MALFORMED;
  r.p = m.p;
  const self = toSelf();
  // A RESPONSE to the stub is never answered: two dead ends would ping-pong.
  if (self && (isType(RESPONSE) || isControl())) return CONTROL;
  w.putMap(hasBody || self ? 5 : 4);
  w.putRaw(ID.item, ID.itemLen);
  w.putRaw(idPtr, idLen);
  w.putRaw(typeResponseFrom.data, typeResponseFrom.len);
  w.putText(toPtr, toLen);
  w.putRaw(TO.item, TO.itemLen);
  w.putText(fromPtr, fromLen);
  if (self) {
    const read = isType(READ);
    w.putRaw(BODY.item, BODY.itemLen);
    w.putMap(read && !hasBody ? 1 : 2);
    w.putRaw(CODE.item, CODE.itemLen);
    w.putUint(read ? 200 : 400);
    if (!read) {
      w.putRaw(REASON.item, REASON.itemLen);
      w.putRaw(NOT_UNDERSTOOD.item, NOT_UNDERSTOOD.itemLen);
    } else if (hasBody) {
      w.putRaw(VALUE.item, VALUE.itemLen);
      w.putRaw(bodyPtr, bodyLen);
    }
  } else if (hasBody) {
    w.putRaw(BODY.item, BODY.itemLen);
    w.putRaw(bodyPtr, bodyLen);
  }
  return REPLIED;
}

// @ts-ignore: decorator
@global function stub_on_messages(batch: usize, len: usize): void {
  const r = batchReader.reset(batch, len);
  if (!r.readArray()) {
    log(WARN, "echo-as: batch is not a CBOR array, skipped");
    return;
  }
  // Replies go out as one batch whose length is known only at the end;
  // they are about as long as what they answer: room for them up front.
  const w = replies;
  w.reset();
  w.reserve(len + 64);
  w.reserveHead();
  let answered: u32 = 0;
  let malformed: u32 = 0;
  let lost = false;
  let n = r.count;
  while ((n = r.next(n)) != END) {
    // Each message is read once, in place; only one that is not a message
    // is walked again, to find where the next one starts.
    const outcome = reply(w, r);
    if (outcome == REPLIED) answered++;
    if (outcome != MALFORMED) continue;
    malformed++;
    if (!r.skip()) {
      lost = true;  // no way to find where the next message starts
      break;
    }
  }
  if (lost || r.broken) log(WARN, "echo-as: batch is truncated or malformed, rest skipped");
  if (malformed) log(WARN, "echo-as: skipped " + malformed.toString() + " malformed message(s)");
  const start = w.finishHead(ARRAY, answered);
  if (answered) post(start, w.end() - start);
  w.reset();
}

// @ts-ignore: decorator
@global function stub_on_open(conn: u32): void {}
// @ts-ignore: decorator
@global function stub_on_frame(conn: u32, frame: usize, len: usize): void {}
// @ts-ignore: decorator
@global function stub_on_close(conn: u32, reason: usize, len: usize): void {}
// @ts-ignore: decorator
@global function stub_on_timer(id: u32): void {}
