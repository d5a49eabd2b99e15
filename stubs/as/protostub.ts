// The AssemblyScript side of stubs/wit/protostub.wit: the canonical ABI of
// the protostub world written by hand, as stubs/c/protostub.c is for C.
// A stub defines the six callbacks as @global functions (stub_init,
// stub_on_messages, stub_on_open, stub_on_frame, stub_on_close,
// stub_on_timer); the export_* functions below lift what the host hands
// over, call them, and free it. stubs/toolchain/as.ts gives the exports
// their world names and runs the module's start code (the runtime's
// set-up, top-level statements) before the first call, as the direct path
// accepts no start function.
//
// Byte and string arguments reach a callback as (pointer, length) into
// linear memory and are freed when it returns: copy what must outlive it.
// Nothing here allocates a garbage-collected object per call, so the
// collector has nothing to do unless the stub's own code makes garbage.
import { utf8Length, writeUtf8, stringOf, isUtf8, utf8Sequence, scratch, trimScratch } from "./utf8";

// ---- Host imports -----------------------------------------------------------

@external("protofly:stub/host@0.1.0", "post")
declare function host_post(ptr: usize, len: usize): void;
@external("protofly:stub/host@0.1.0", "open")
declare function host_open(url: usize, urlLen: usize, protocols: usize, count: usize, ret: usize): void;
@external("protofly:stub/host@0.1.0", "send")
declare function host_send(conn: u32, ptr: usize, len: usize, ret: usize): void;
@external("protofly:stub/host@0.1.0", "close")
declare function host_close(conn: u32): void;
@external("protofly:stub/host@0.1.0", "set-timer")
declare function host_set_timer(ms: u32): u32;
@external("protofly:stub/host@0.1.0", "clear-timer")
declare function host_clear_timer(id: u32): void;
@external("protofly:stub/host@0.1.0", "log")
declare function host_log(level: u32, ptr: usize, len: usize): void;

// ---- Memory -------------------------------------------------------------------

// What a zero-length list or string points at: the ABI wants an aligned
// non-null pointer that is never read. It is static data, which heap.free
// ignores, so an empty argument needs no special case when freed.
const EMPTY: usize = memory.data(16, 16);

// The last argument block the exports were done with, kept for the next
// call: a stub is handed much the same sizes call after call (batches,
// frames), and reusing the block skips the allocator twice per call.
let spare: usize = 0;
let spareSize: usize = 0;
const SPARE_MAX: usize = 64 * 1024;

// Frees an argument block once its callback has returned.
function done(block: usize, size: usize): void {
  if (size == 0 || size > SPARE_MAX) {
    heap.free(block);
    return;
  }
  heap.free(spare);
  spare = block;
  spareSize = size;
}

// The host allocates every list and string it passes in through this; the
// blocks come from the runtime's TLSF allocator (16-byte aligned, reused
// once freed). The canonical ABI has no way to report failure, so running
// out of memory traps, as the allocator itself does.
export function cabi_realloc(old: usize, oldSize: usize, align: usize, newSize: usize): usize {
  if (align > 16) unreachable();  // nothing in this world needs more
  if (newSize == 0) {
    if (old && oldSize) heap.free(old);
    return EMPTY;
  }
  if (old && oldSize) return heap.realloc(old, newSize);
  if (!spare) return heap.alloc(newSize);
  const block = spare;
  spare = 0;
  return newSize <= spareSize ? block : heap.realloc(block, newSize);
}

// ---- Host functions -------------------------------------------------------------

export const TRACE: u8 = 0;
export const DEBUG: u8 = 1;
export const INFO: u8 = 2;
export const WARN: u8 = 3;
export const ERROR: u8 = 4;

// result<u32, string> and result<_, string> as the host writes them through
// a return pointer: the discriminant byte, then the payload at offset 4 (a
// u32, or a string's pointer and length).
const RESULT: usize = memory.data(12, 4);

// The reason of the host's last refusal (open, send), kept as the UTF-8 the
// host allocated in our memory; decoded only if the stub asks.
let refusalPtr: usize = 0;
let refusalLen: usize = 0;

function tookResult(): bool {
  if (!load<u8>(RESULT)) return true;
  if (refusalPtr) heap.free(refusalPtr);
  refusalPtr = load<u32>(RESULT, 4);
  refusalLen = load<u32>(RESULT, 8);
  return false;
}

/** Why the host last refused an open or a send. */
export function refusal(): string {
  return stringOf(refusalPtr, refusalLen);
}

/** Does the host's last refusal start with prefix (ASCII), e.g. "congested:"? */
export function refusalStartsWith(prefix: string): bool {
  const n = <usize>prefix.length;
  if (n > refusalLen) return false;
  for (let i: usize = 0; i < n; i++) {
    if (<u32>load<u8>(refusalPtr + i) != <u32>prefix.charCodeAt(<i32>i)) return false;
  }
  return true;
}

/** Posts a batch (a CBOR array of messages) onto the bus. */
export function post(batch: usize, len: usize): void {
  host_post(batch, len);
}

/**
 * Asks the host for a WebSocket to url: the connection's id, or -1 when
 * the host refuses (refusal() says why).
 */
export function open(url: string, protocols: string[] = []): i64 {
  const urlLen = utf8Length(url);
  const count = <usize>protocols.length;
  let bytes = urlLen;
  for (let i = 0; i < protocols.length; i++) bytes += utf8Length(unchecked(protocols[i]));
  // One block: the list of (pointer, length) pairs, then the texts.
  const block = heap.alloc(count * 8 + bytes);
  let text = block + count * 8;
  const urlPtr = text;
  text += writeUtf8(url, text);
  for (let i: usize = 0; i < count; i++) {
    const written = writeUtf8(unchecked(protocols[<i32>i]), text);
    store<u32>(block + i * 8, <u32>text);
    store<u32>(block + i * 8, <u32>written, 4);
    text += written;
  }
  store<u8>(RESULT, 0);
  host_open(urlPtr, urlLen, block, count, RESULT);
  heap.free(block);
  return tookResult() ? <i64>load<u32>(RESULT, 4) : -1;
}

/**
 * Sends a binary frame: false when the host refuses (refusal() says why;
 * "congested:" means the frame was not sent and the connection stays open).
 */
export function send(conn: u32, frame: usize, len: usize): bool {
  store<u8>(RESULT, 0);
  host_send(conn, frame, len, RESULT);
  return tookResult();
}

export function close(conn: u32): void {
  host_close(conn);
}

/** A one-shot timer: stub_on_timer(id) fires after ms. */
export function setTimer(ms: u32): u32 {
  return host_set_timer(ms);
}

export function clearTimer(id: u32): void {
  host_clear_timer(id);
}

export function log(level: u8, text: string): void {
  const out = scratch(utf8Length(text));
  host_log(level, out, writeUtf8(text, out));
  trimScratch();
}

/**
 * Logs bytes that should be UTF-8 (often quoted off the wire): invalid
 * sequences become '?', as the host refuses strings that are not UTF-8.
 */
export function logBytes(level: u8, text: usize, len: usize): void {
  if (isUtf8(text, len)) {
    host_log(level, text, len);
    return;
  }
  const clean = scratch(len);
  for (let i: usize = 0; i < len;) {
    const n = utf8Sequence(text + i, len - i);
    if (n == 0) {
      store<u8>(clean + i++, 0x3f);  // '?'
      continue;
    }
    memory.copy(clean + i, text + i, n);
    i += n;
  }
  host_log(level, clean, len);
  trimScratch();
}

// AssemblyScript calls this for a failed assert, a bounds check or an
// allocation too large (asc --use abort=pf_abort, instead of importing
// env.abort): the message goes to the log, then the stub traps, which the
// runtime reports as the stub's fault.
let aborting = false;

// @ts-ignore: decorator
@global function pf_abort(message: string | null, fileName: string | null, line: u32, column: u32): void {
  // Writing the line allocates: if that aborts too, just trap.
  if (aborting) unreachable();
  aborting = true;
  log(ERROR, "abort: " + (message !== null ? message : "") + " at " + (fileName !== null ? fileName : "?") + ":" + line.toString() + ":" + column.toString());
  unreachable();
}

// ---- Stub exports ---------------------------------------------------------------

// init's result<_, string>, read by the host right after the call; the
// error text it points at is freed by the post-return below.
const INIT_RESULT: usize = memory.data(12, 4);
let initError: usize = 0;

export function export_init(config: usize, len: usize): usize {
  const err = stub_init(config, len);
  done(config, len);
  if (err === null) {
    store<u8>(INIT_RESULT, 0);
    return INIT_RESULT;
  }
  const bytes = utf8Length(err);
  initError = bytes ? heap.alloc(bytes) : EMPTY;
  writeUtf8(err, initError);
  store<u8>(INIT_RESULT, 1);
  store<u32>(INIT_RESULT, <u32>initError, 4);
  store<u32>(INIT_RESULT, <u32>bytes, 8);
  return INIT_RESULT;
}

export function post_return_init(result: usize): void {
  heap.free(initError);
  initError = 0;
}

export function export_on_messages(batch: usize, len: usize): void {
  stub_on_messages(batch, len);
  done(batch, len);
}

export function export_on_open(conn: u32): void {
  stub_on_open(conn);
}

export function export_on_frame(conn: u32, frame: usize, len: usize): void {
  stub_on_frame(conn, frame, len);
  done(frame, len);
}

export function export_on_close(conn: u32, reason: usize, len: usize): void {
  stub_on_close(conn, reason, len);
  done(reason, len);
}

export function export_on_timer(id: u32): void {
  stub_on_timer(id);
}
