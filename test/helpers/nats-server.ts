// A real nats-server (Debian package), started on loopback with a generated
// config (client port, plain WebSocket listener, user/password or token
// authorization), stopped after the test.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startWebSocketServer, type WebSocketServer } from './server-process.ts';

export const NATS_SERVER = '/usr/sbin/nats-server';

export type NatsAuth = { users: Record<string, string> } | { token: string };

export interface NatsServer extends WebSocketServer {
  /** The plain NATS client port, for test clients that want one. */
  clientPort: number;
}

// nats-server's config syntax takes JSON strings as they are.
const quote = (text: string) => JSON.stringify(text);

function authorization(auth: NatsAuth): string {
  if ('token' in auth) return `authorization { token: ${quote(auth.token)} }`;
  const users = Object.entries(auth.users).map(([user, password]) => `{ user: ${quote(user)}, password: ${quote(password)} }`);
  return `authorization { users: [ ${users.join(', ')} ] }`;
}

export async function startNatsServer(auth: NatsAuth, tls?: { cert: string; key: string }): Promise<NatsServer> {
  const dir = await mkdtemp(join(tmpdir(), 'protofly-nats-'));
  const [clientPort, wsPort] = [await freePort(), await freePort()];
  const config = join(dir, 'nats.conf');
  await writeFile(config, [
    `listen: "127.0.0.1:${clientPort}"`,
    authorization(auth),
    tls
      ? `websocket { listen: "127.0.0.1:${wsPort}", tls { cert_file: ${quote(tls.cert)}, key_file: ${quote(tls.key)} } }`
      : `websocket { listen: "127.0.0.1:${wsPort}", no_tls: true }`,
    '',
  ].join('\n'));
  const server = await startWebSocketServer('nats-server', NATS_SERVER, ['-c', config], wsPort, dir, tls ? 'wss' : 'ws');
  return { ...server, clientPort };
}
