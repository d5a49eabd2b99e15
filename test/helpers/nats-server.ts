// A real nats-server (Debian package), started on loopback with a generated
// config (client port, plain WebSocket listener, user/password or token
// authorization), stopped after the test.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, serverProcess } from './server-process.ts';

export const NATS_SERVER = '/usr/sbin/nats-server';

export type NatsAuth = { users: Record<string, string> } | { token: string };

export interface NatsServer {
  /** WebSocket URL: `ws://127.0.0.1:PORT` */
  url: string;
  /** The plain NATS client port, for test clients that want one. */
  clientPort: number;
  stop(): Promise<void>;
  /** Starts it again on the same ports (after `stop`). */
  start(): Promise<void>;
  /** Stops it and removes its files. */
  dispose(): Promise<void>;
}

// nats-server's config syntax takes JSON strings as they are.
const quote = (text: string) => JSON.stringify(text);

function authorization(auth: NatsAuth): string {
  if ('token' in auth) return `authorization { token: ${quote(auth.token)} }`;
  const users = Object.entries(auth.users).map(([user, password]) => `{ user: ${quote(user)}, password: ${quote(password)} }`);
  return `authorization { users: [ ${users.join(', ')} ] }`;
}

export async function startNatsServer(auth: NatsAuth): Promise<NatsServer> {
  const dir = await mkdtemp(join(tmpdir(), 'protofly-nats-'));
  const [clientPort, wsPort] = [await freePort(), await freePort()];
  const config = join(dir, 'nats.conf');
  await writeFile(config, [
    `listen: "127.0.0.1:${clientPort}"`,
    authorization(auth),
    `websocket { listen: "127.0.0.1:${wsPort}", no_tls: true }`,
    '',
  ].join('\n'));
  const server = serverProcess('nats-server', NATS_SERVER, ['-c', config], wsPort);
  const handle: NatsServer = {
    url: `ws://127.0.0.1:${wsPort}`,
    clientPort,
    start: server.start,
    stop: server.stop,
    async dispose() {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  await handle.start();
  return handle;
}
