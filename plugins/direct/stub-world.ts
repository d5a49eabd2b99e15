// The protofly:stub@0.1.0 world as the direct path checks it: each
// function's WIT type (as read back from a component) and its core
// signature under the canonical ABI.

export const HOST_MODULE = 'protofly:stub/host@0.1.0';
export const STUB_INSTANCE = 'protofly:stub/stub@0.1.0';

export const HOST_FUNCTIONS: Record<string, { wit: string; core: string }> = {
  post: { wit: 'func(batch: list<u8>)', core: 'i32,i32->' },
  open: { wit: 'func(url: string, protocols: list<string>) -> result<u32, string>', core: 'i32,i32,i32,i32,i32->' },
  send: { wit: 'func(conn: u32, frame: list<u8>) -> result<_, string>', core: 'i32,i32,i32,i32->' },
  close: { wit: 'func(conn: u32)', core: 'i32->' },
  'set-timer': { wit: 'func(ms: u32) -> u32', core: 'i32->i32' },
  'clear-timer': { wit: 'func(id: u32)', core: 'i32->' },
  log: { wit: 'func(level: u8, text: string)', core: 'i32,i32,i32->' },
};

export const STUB_FUNCTIONS: Record<string, { wit: string; core: string }> = {
  init: { wit: 'func(config: list<u8>) -> result<_, string>', core: 'i32,i32->i32' },
  'on-messages': { wit: 'func(batch: list<u8>)', core: 'i32,i32->' },
  'on-open': { wit: 'func(conn: u32)', core: 'i32->' },
  'on-frame': { wit: 'func(conn: u32, frame: list<u8>)', core: 'i32,i32,i32->' },
  'on-close': { wit: 'func(conn: u32, reason: string)', core: 'i32,i32,i32->' },
  'on-timer': { wit: 'func(id: u32)', core: 'i32->' },
};

export const REALLOC = 'cabi_realloc';
export const REALLOC_CORE = 'i32,i32,i32,i32->i32';
export const postReturnOf = (fn: string) => `cabi_post_${STUB_INSTANCE}#${fn}`;
