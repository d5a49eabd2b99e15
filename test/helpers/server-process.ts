// A real server started by a test (mosquitto, nats-server): spawned with its
// config, ready once its port accepts connections, stopped with SIGTERM (so
// it saves what it persists), startable again on the same ports.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { connect, createServer } from 'node:net';

// Ports for servers that a test stops and starts again come from below the
// kernel's ephemeral range: while a server is down, its port is free to be
// handed out as the source port of any outgoing connection (a stub
// reconnecting to it, another test file's client), and the restart then
// fails with "address already in use". A port from port 0 would be in that
// range.
function ephemeralStart(): number {
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (Number.isInteger(low) && low > 12_000) return low;
  } catch { /* not Linux: fall back to the usual lower bound */ }
  return 32_768;
}

const PORT_FLOOR = 10_000;
const PORT_CEILING = ephemeralStart();

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer().once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

// A stopped server's port is bindable again: never hand it to another one.
const handedOut = new Set<number>();

/** A loopback port nothing listens on, outside the ephemeral range. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = PORT_FLOOR + Math.floor(Math.random() * (PORT_CEILING - PORT_FLOOR));
    if (handedOut.has(port) || !(await bindable(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`no free port between ${PORT_FLOOR} and ${PORT_CEILING}`);
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

/** How long a server may take to listen before its start fails. */
const START_BOUND_MS = 30_000;

export interface ServerProcess {
  start(): Promise<void>;
  /** SIGTERM lets the server save its state; SIGKILL is a crash. */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** SIGSTOP: the server reads and writes nothing, its sockets stay open (a stalled broker). */
  freeze(): void;
  /** SIGCONT: it carries on where it stopped. */
  thaw(): void;
}

export function serverProcess(name: string, command: string, args: string[], readyPort: number): ServerProcess {
  let child: ChildProcess | undefined;
  process.once('exit', () => child?.kill('SIGKILL'));
  let frozen = false;
  return {
    freeze() {
      frozen = child?.kill('SIGSTOP') ?? false;
    },
    thaw() {
      if (frozen) child?.kill('SIGCONT');
      frozen = false;
    },
    async start() {
      let output = '';
      const started = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      child = started;
      started.stderr!.on('data', (chunk) => { output = (output + chunk).slice(-4096); });
      const exited = new Promise<never>((_, reject) => started.once('exit', (code) => reject(new Error(`${name} exited (${code}): ${output}`))));
      exited.catch(() => {});
      // Ready when its port answers; the bound only ends a wait for a server
      // that will never listen, so it is generous: on a busy 2-core machine
      // (a test pass starting servers and workers at once) a start can take seconds.
      try {
        await Promise.race([waitForPort(readyPort, START_BOUND_MS, name), exited]);
      } catch (error) {
        // Not left running for nobody: it would keep the test process alive.
        if (child === started) child = undefined;
        started.kill('SIGKILL');
        throw error;
      }
    },
    async stop(signal = 'SIGTERM') {
      const running = child;
      child = undefined;
      if (!running || running.exitCode !== null || running.signalCode !== null) return;
      const gone = new Promise((resolve) => running.once('exit', resolve));
      // A frozen process would hold a SIGTERM until it is thawed.
      if (frozen) running.kill('SIGCONT');
      frozen = false;
      running.kill(signal);
      await gone;
    },
  };
}

/** A test's server as the stubs reach it: over WebSocket on loopback. */
export interface WebSocketServer {
  /** WebSocket URL: `ws://127.0.0.1:PORT` */
  url: string;
  /** SIGTERM by default; SIGKILL to crash it. */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** Starts it again on the same ports (after `stop`). */
  start(): Promise<void>;
  freeze(): void;
  thaw(): void;
  /** Stops it and removes its files. */
  dispose(): Promise<void>;
}

/** Starts a server whose config and files are in `dir`; ready once `wsPort` listens. */
export async function startWebSocketServer(name: string, command: string, args: string[], wsPort: number, dir: string, scheme: 'ws' | 'wss' = 'ws'): Promise<WebSocketServer> {
  const server = serverProcess(name, command, args, wsPort);
  const handle: WebSocketServer = {
    url: `${scheme}://127.0.0.1:${wsPort}`,
    start: server.start,
    stop: server.stop,
    freeze: server.freeze,
    thaw: server.thaw,
    async dispose() {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  await handle.start();
  return handle;
}
