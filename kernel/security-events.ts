// Which errors are a stub overstepping its bounds rather than something
// failing: what a security team watches (the demo's log, an alert). Each is
// an `error` hook event with the stub's URL, counted per stub by code in
// runtime.metrics(): under `rejected` what it was refused, under `faults`
// what stopped it (a flood or an ABI lie is both).
import { isProtoflyError, type ErrorCode } from './errors.ts';
import { REJECTED_FAULTS } from './rejections.ts';

export const SECURITY_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  ...REJECTED_FAULTS, // cut off for a flood (posts, messages, bytes) or a lie through the ABI
  'PF_ERR_CONNECT_REFUSED', // a connection outside the descriptor's connect list
  'PF_ERR_CONNECTION_LIMIT', // more connections than `maxConnections`
  'PF_ERR_SPOOFED', // a message sent as someone else
  'PF_ERR_MESSAGE_INVALID', // a message that is not one
  'PF_ERR_CBOR', // bytes that are not CBOR
  'PF_ERR_STUB_TIMEOUT', // a call that would not return
  'PF_ERR_STUB_MEMORY', // memory past its limit
]);

/** An error event about a stub that broke a rule of its sandbox. */
export function isSecurityEvent(error: unknown): boolean {
  return isProtoflyError(error) && error.stubURL !== undefined && SECURITY_CODES.has(error.code);
}
