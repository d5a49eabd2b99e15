// A real nats-server (Debian package), started on loopback with a generated
// config (client port, plain WebSocket listener, user/password or token
// authorization), stopped after the test.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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
  let child: ChildProcess | undefined;
  const handle: NatsServer = {
    url: `ws://127.0.0.1:${wsPort}`,
    clientPort,
    async start() {
      let output = '';
      const started = spawn(NATS_SERVER, ['-c', config], { stdio: ['ignore', 'ignore', 'pipe'] });
      child = started;
      started.stderr!.on('data', (chunk) => { output = (output + chunk).slice(-4096); });
      const exited = new Promise<never>((_, reject) => started.once('exit', (code) => reject(new Error(`nats-server exited (${code}): ${output}`))));
      exited.catch(() => {});
      await Promise.race([waitForPort(wsPort, 5_000), exited]);
    },
    async stop() {
      const running = child;
      child = undefined;
      if (!running || running.exitCode !== null || running.signalCode !== null) return;
      const gone = new Promise((resolve) => running.once('exit', resolve));
      running.kill('SIGTERM');
      await gone;
    },
    async dispose() {
      await handle.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  await handle.start();
  process.once('exit', () => child?.kill('SIGKILL'));
  return handle;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    }).on('error', reject);
  });
}

async function waitForPort(port: number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => { socket.destroy(); resolve(true); }).on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nats-server did not listen on ${port} within ${ms} ms`);
}
