// Types of the host interface in stubs/wit/protostub.wit as componentize-js
// presents it: `result` imports return the ok value and throw on err (the
// thrown value carries the err string in `payload`).
declare module 'protofly:stub/host@0.1.0' {
  export function post(batch: Uint8Array): void;
  export function open(url: string, protocols: string[]): number;
  export function send(conn: number, frame: Uint8Array): void;
  export function close(conn: number): void;
  export function setTimer(ms: number): number;
  export function clearTimer(id: number): void;
  export function log(level: number, text: string): void;
}
