// The direct path into a stub (chosen by plugins/direct, which checks the
// component is exactly our world): its core module instantiated as it is, with
// the canonical ABI's lifting and lowering written by hand for the fixed
// protofly:stub@0.1.0 world. No per-call glue: a call is a bounds check, a
// copy and the core call. Every (ptr, len) the stub hands over is checked
// against its memory, alignment is enforced, strings are validated as UTF-8
// and cabi_realloc's answers are checked: a stub that lies gets PF_ERR_ABI.
import { AbiViolation, checkRange as checkIn, decodeUtf8 } from './canonical-abi.ts';
import type { HostImports, Instantiated, StubExports } from './component-instance.ts';
import { METER_MODULE, METER_TICK } from './metering/tick-import.ts';

const HOST_MODULE = 'protofly:stub/host@0.1.0';
const STUB_INSTANCE = 'protofly:stub/stub@0.1.0';
const REALLOC = 'cabi_realloc';
const postReturnOf = (fn: string) => `cabi_post_${STUB_INSTANCE}#${fn}`;

type Realloc = (old: number, oldSize: number, align: number, size: number) => number;

const utf8 = new TextEncoder();

export async function instantiateDirect(module: WebAssembly.Module, postReturn: readonly string[], host: HostImports, tick?: () => number): Promise<Instantiated> {
  let memory: WebAssembly.Memory | undefined;
  let realloc: Realloc | undefined;
  // A view is remade only when the memory has grown (its buffer changed).
  let view = new Uint8Array(0);
  let data = new DataView(new ArrayBuffer(0));
  const bytes = () => {
    if (view.buffer !== memory!.buffer) {
      view = new Uint8Array(memory!.buffer);
      data = new DataView(memory!.buffer);
    }
    return view;
  };

  const checkRange = (ptr: number, len: number, align: number, what: string) => checkIn(bytes().length, ptr, len, align, what);
  const liftBytes = (ptr: number, len: number, what: string) => {
    ptr >>>= 0; len >>>= 0;
    checkRange(ptr, len, 1, what);
    return view.subarray(ptr, ptr + len);
  };
  const liftString = (ptr: number, len: number, what: string) => decodeUtf8(liftBytes(ptr, len, what), what);
  const allocate = (size: number, align: number, what: string): number => {
    if (size === 0) return align; // the ABI's empty list: any aligned non-null pointer, never read
    const ptr = realloc!(0, 0, align, size) >>> 0;
    checkRange(ptr, size, align, `cabi_realloc for ${what}`);
    if (ptr === 0) throw new AbiViolation(`cabi_realloc for ${what} returned null`);
    return ptr;
  };
  const lowerBytes = (source: Uint8Array, what: string): [number, number] => {
    const ptr = allocate(source.length, 1, what);
    bytes().set(source, ptr);
    return [ptr, source.length];
  };
  const lowerString = (text: string, what: string): [number, number] => lowerBytes(utf8.encode(text), what);
  // result<T, string> written at `at` (size 12, align 4): discriminant, then payload at +4.
  const writeErr = (at: number, message: string, what: string) => {
    checkRange(at, 12, 4, `${what} result area`);
    const [ptr, len] = lowerString(message, `${what} error`);
    bytes();
    data.setUint8(at, 1);
    data.setUint32(at + 4, ptr, true);
    data.setUint32(at + 8, len, true);
  };
  const errText = (error: unknown) => (typeof error === 'string' ? error : undefined);

  const imports: WebAssembly.Imports = {
    ...(tick ? { [METER_MODULE]: { [METER_TICK]: tick } } : {}),
    [HOST_MODULE]: {
      post: (ptr: number, len: number) => host.post(liftBytes(ptr, len, 'post')),
      open: (urlPtr: number, urlLen: number, listPtr: number, listLen: number, ret: number) => {
        const url = liftString(urlPtr, urlLen, 'open url');
        listPtr >>>= 0; listLen >>>= 0;
        checkRange(listPtr, listLen * 8, 4, 'open protocols');
        const protocols: string[] = [];
        for (let i = 0; i < listLen; i++) {
          protocols.push(liftString(data.getUint32(listPtr + i * 8, true), data.getUint32(listPtr + i * 8 + 4, true), 'open protocol'));
        }
        ret >>>= 0;
        checkRange(ret, 12, 4, 'open result area');
        let conn: number;
        try {
          conn = host.open(url, protocols);
        } catch (error) {
          const message = errText(error);
          if (message === undefined) throw error;
          writeErr(ret, message, 'open');
          return;
        }
        bytes();
        data.setUint8(ret, 0);
        data.setUint32(ret + 4, conn >>> 0, true);
      },
      send: (conn: number, ptr: number, len: number, ret: number) => {
        const frame = liftBytes(ptr, len, 'send');
        ret >>>= 0;
        checkRange(ret, 12, 4, 'send result area');
        try {
          host.send(conn >>> 0, frame);
        } catch (error) {
          const message = errText(error);
          if (message === undefined) throw error;
          writeErr(ret, message, 'send');
          return;
        }
        bytes();
        data.setUint8(ret, 0);
      },
      close: (conn: number) => host.close(conn >>> 0),
      'set-timer': (ms: number) => host.setTimer(ms >>> 0),
      'clear-timer': (id: number) => host.clearTimer(id >>> 0),
      log: (level: number, ptr: number, len: number) => host.log(level & 0xff, liftString(ptr, len, 'log')),
    },
  };

  // Synchronous: no trip through the event loop on the way to init. A
  // browser's main thread may refuse that for a large module; then async.
  let instance: WebAssembly.Instance;
  try {
    instance = new WebAssembly.Instance(module, imports);
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    instance = await WebAssembly.instantiate(module, imports);
  }
  const core = instance.exports as Record<string, unknown>;
  memory = core.memory as WebAssembly.Memory;
  realloc = core[REALLOC] as Realloc;
  const fn = (name: string) => core[`${STUB_INSTANCE}#${name}`] as (...args: number[]) => number | undefined;
  const post = (name: string) => (postReturn.includes(name) ? core[postReturnOf(name)] as (...args: number[]) => void : undefined);
  const [init, onMessages, onOpen, onFrame, onClose, onTimer] = ['init', 'on-messages', 'on-open', 'on-frame', 'on-close', 'on-timer'].map(fn);
  const [postInit, postMessages, postOpen, postFrame, postClose, postTimer] = ['init', 'on-messages', 'on-open', 'on-frame', 'on-close', 'on-timer'].map(post);

  const exports: StubExports = {
    init(config) {
      const [ptr, len] = lowerBytes(config, 'init config');
      const ret = init(ptr, len)! >>> 0;
      checkRange(ret, 12, 4, 'init result');
      const tag = data.getUint8(ret);
      if (tag > 1) throw new AbiViolation(`init returned result tag ${tag}`);
      const message = tag === 1 ? liftString(data.getUint32(ret + 4, true), data.getUint32(ret + 8, true), 'init error') : undefined;
      postInit?.(ret);
      // The same shape jco gives an `err` result, so the guest treats both alike.
      if (message !== undefined) throw Object.assign(new Error(message), { payload: message });
    },
    onMessages(batch) {
      const [ptr, len] = lowerBytes(batch, 'on-messages batch');
      onMessages(ptr, len);
      postMessages?.();
    },
    onOpen(conn) {
      onOpen(conn >>> 0);
      postOpen?.();
    },
    onFrame(conn, frame) {
      const [ptr, len] = lowerBytes(frame, 'on-frame frame');
      onFrame(conn >>> 0, ptr, len);
      postFrame?.();
    },
    onClose(conn, reason) {
      const [ptr, len] = lowerString(reason, 'on-close reason');
      onClose(conn >>> 0, ptr, len);
      postClose?.();
    },
    onTimer(id) {
      onTimer(id >>> 0);
      postTimer?.();
    },
  };
  return { exports, memories: memory ? [memory] : [] };
}
