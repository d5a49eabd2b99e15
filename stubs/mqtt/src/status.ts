// Status messages in the exact shape of CONTRACT.md ("Status").
import { encodeCbor } from './cbor.ts';

export type StatusCode = 'PF_ERR_LOGIN' | 'PF_ERR_CONNECT';

let counter = 0;
let nonce = '';

// Ids only need to be unique; the stub URL scopes them to this stub. The
// nonce is drawn at first use rather than at module load, which happens at
// build time (the module is pre-initialised). With the `random` feature off,
// Math.random has a fixed seed, so today the nonce is the same in every
// instance; it starts to separate redeployments once the host offers entropy.
function nextId(stubURL: string): string {
  if (!nonce) nonce = Math.floor(Math.random() * 0x7fffffff).toString(36);
  counter += 1;
  return `${stubURL}/status#${nonce}.${counter}`;
}

export function statusBatch(stubURL: string, value: 'LIVE' | 'DISCONNECTED', reason?: string, code?: StatusCode): Uint8Array {
  const body: Record<string, string> = { value };
  if (reason !== undefined) body.reason = reason;
  if (code !== undefined) body.code = code;
  return encodeCbor([{ id: nextId(stubURL), type: 'UPDATE', from: stubURL, resource: `${stubURL}/status`, body }]);
}

// CONNACK return codes of MQTT 3.1.1, worded for whoever reads the status.
export function connackReason(code: number): string {
  switch (code) {
    case 1: return 'broker refused the protocol version (MQTT 3.1.1)';
    case 2: return 'broker rejected the client identifier';
    case 3: return 'broker unavailable';
    case 4: return 'broker refused the login: bad user name or password';
    case 5: return 'not authorized';
    default: return `broker refused the connection (return code ${code})`;
  }
}
