// Just enough of a WebSocket server's handshake for hostile servers written
// in tests (a real socket that then says whatever the test wants).
import { createHash } from 'node:crypto';

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/**
 * The 101 answer to an upgrade request once `head` holds all of it (its
 * first protocol accepted), or undefined while more of the request is to come.
 */
export function upgradeAnswer(head: string): string | undefined {
  if (!head.includes('\r\n\r\n')) return undefined;
  const key = /sec-websocket-key: *(.+)\r\n/i.exec(head)?.[1].trim() ?? '';
  const protocol = /sec-websocket-protocol: *([^,\r\n]+)/i.exec(head)?.[1].trim();
  const accept = createHash('sha1').update(`${key}${WS_GUID}`).digest('base64');
  return ['HTTP/1.1 101 Switching Protocols', 'Upgrade: websocket', 'Connection: Upgrade',
    `Sec-WebSocket-Accept: ${accept}`, ...(protocol ? [`Sec-WebSocket-Protocol: ${protocol}`] : []), '', ''].join('\r\n');
}
