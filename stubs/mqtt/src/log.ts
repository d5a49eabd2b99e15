// Log lines to the host, which must never throw into the stub's callers.
import * as host from 'protofly:stub/host@0.1.0';

export type Log = (level: number, text: string) => void;

export function stubLog(stubURL: string): Log {
  return (level, text) => {
    try {
      host.log(level, `mqtt ${stubURL}: ${text}`);
    } catch {
      // Nowhere left to report to.
    }
  };
}

export function errorText(e: unknown): string {
  // Imports returning `result` throw an Error whose `payload` is the err value.
  if (typeof e === 'object' && e !== null && 'payload' in e) return String((e as { payload: unknown }).payload);
  if (e instanceof Error) return e.message;
  return String(e);
}
