// A real server started by a test (mosquitto, nats-server): spawned with its
// config, ready once its port accepts connections, stopped with SIGTERM (so
// it saves what it persists), startable again on the same ports.
import { spawn, type ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { connect, createServer } from 'node:net';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    }).on('error', reject);
  });
}

export async function waitForPort(port: number, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => { socket.destroy(); resolve(true); }).on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} did not listen on ${port} within ${ms} ms`);
}

export interface ServerProcess {
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function serverProcess(name: string, command: string, args: string[], readyPort: number): ServerProcess {
  let child: ChildProcess | undefined;
  process.once('exit', () => child?.kill('SIGKILL'));
  return {
    async start() {
      let output = '';
      const started = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      child = started;
      started.stderr!.on('data', (chunk) => { output = (output + chunk).slice(-4096); });
      const exited = new Promise<never>((_, reject) => started.once('exit', (code) => reject(new Error(`${name} exited (${code}): ${output}`))));
      exited.catch(() => {});
      await Promise.race([waitForPort(readyPort, 5_000, name), exited]);
    },
    async stop() {
      const running = child;
      child = undefined;
      if (!running || running.exitCode !== null || running.signalCode !== null) return;
      const gone = new Promise((resolve) => running.once('exit', resolve));
      running.kill('SIGTERM');
      await gone;
    },
  };
}

/** A test's server as the stubs reach it: over WebSocket on loopback. */
export interface WebSocketServer {
  /** WebSocket URL: `ws://127.0.0.1:PORT` */
  url: string;
  stop(): Promise<void>;
  /** Starts it again on the same ports (after `stop`). */
  start(): Promise<void>;
  /** Stops it and removes its files. */
  dispose(): Promise<void>;
}

/** Starts a server whose config and files are in `dir`; ready once `wsPort` listens. */
export async function startWebSocketServer(name: string, command: string, args: string[], wsPort: number, dir: string): Promise<WebSocketServer> {
  const server = serverProcess(name, command, args, wsPort);
  const handle: WebSocketServer = {
    url: `ws://127.0.0.1:${wsPort}`,
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
