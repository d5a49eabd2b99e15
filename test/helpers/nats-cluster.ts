// A real three-node nats-server cluster (Debian package) on loopback: one
// generated config per node (client port, cluster routes to the other
// nodes, a plain WebSocket listener, monitoring port, the same
// authorization), ready once every node routes to all the others. A node
// can be crashed (SIGKILL) to test failover.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NatsAuth } from './nats-server.ts';
import { freePort, serverProcess, type ServerProcess } from './server-process.ts';

export { NATS_SERVER } from './nats-server.ts';
import { NATS_SERVER } from './nats-server.ts';

export interface NatsNode {
  name: string;
  /** WebSocket URL: `ws://127.0.0.1:PORT` */
  url: string;
  clientPort: number;
  clusterPort: number;
  httpPort: number;
  /** SIGTERM by default; SIGKILL to crash it. */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** Starts it again on the same ports (after `stop`); its routes come back on their own. */
  start(): Promise<void>;
}

export interface NatsCluster {
  nodes: NatsNode[];
  /** Every node's WebSocket URL, in node order. */
  urls: string[];
  /** Stops every node and removes the configs. */
  dispose(): Promise<void>;
}

// nats-server's config syntax takes JSON strings as they are.
const quote = (text: string) => JSON.stringify(text);

function authorization(auth: NatsAuth): string {
  if ('token' in auth) return `authorization { token: ${quote(auth.token)} }`;
  const users = Object.entries(auth.users).map(([user, password]) => `{ user: ${quote(user)}, password: ${quote(password)} }`);
  return `authorization { users: [ ${users.join(', ')} ] }`;
}

interface Ports { client: number; cluster: number; ws: number; http: number }

export async function startNatsCluster(auth: NatsAuth, size = 3, readyMs = 15_000): Promise<NatsCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'protofly-nats-cluster-'));
  const ports: Ports[] = [];
  for (let i = 0; i < size; i++) {
    ports.push({ client: await freePort(), cluster: await freePort(), ws: await freePort(), http: await freePort() });
  }
  const processes: ServerProcess[] = [];
  const dispose = async () => {
    await Promise.all(processes.map((p) => p.stop('SIGKILL')));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const nodes: NatsNode[] = [];
    for (const [i, own] of ports.entries()) {
      const name = `n${i}`;
      const routes = ports.filter((p) => p !== own).map((p) => quote(`nats-route://127.0.0.1:${p.cluster}`));
      const config = join(dir, `${name}.conf`);
      await writeFile(config, [
        `server_name: ${quote(name)}`,
        `listen: "127.0.0.1:${own.client}"`,
        `http: "127.0.0.1:${own.http}"`,
        authorization(auth),
        `cluster { name: "protofly-test", listen: "127.0.0.1:${own.cluster}", routes: [ ${routes.join(', ')} ] }`,
        `websocket { listen: "127.0.0.1:${own.ws}", no_tls: true }`,
        '',
      ].join('\n'));
      const proc = serverProcess(`nats-server ${name}`, NATS_SERVER, ['-c', config], own.ws);
      processes.push(proc);
      nodes.push({
        name,
        url: `ws://127.0.0.1:${own.ws}`,
        clientPort: own.client,
        clusterPort: own.cluster,
        httpPort: own.http,
        stop: proc.stop,
        start: proc.start,
      });
    }
    await Promise.all(processes.map((p) => p.start()));
    await routesUp(nodes, readyMs);
    return { nodes, urls: nodes.map((n) => n.url), dispose };
  } catch (error) {
    await dispose();
    throw error;
  }
}

/** Polls each node's /routez until it routes to every other node (by server id, from /varz). */
async function routesUp(nodes: NatsNode[], ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  const monitor = async <T>(node: NatsNode, path: string): Promise<T | undefined> => {
    const response = await fetch(`http://127.0.0.1:${node.httpPort}${path}`).catch(() => undefined);
    return response?.ok ? await response.json() as T : undefined;
  };
  while (Date.now() < deadline) {
    const ids = await Promise.all(nodes.map((n) => monitor<{ server_id: string }>(n, '/varz').then((v) => v?.server_id)));
    const routes = await Promise.all(nodes.map((n) => monitor<{ routes?: Array<{ remote_id: string }> }>(n, '/routez')));
    const ready = ids.every(Boolean) && nodes.every((_, i) => {
      const peers = new Set((routes[i]?.routes ?? []).map((r) => r.remote_id));
      return ids.every((id, j) => j === i || peers.has(id!));
    });
    if (ready) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the nats-server cluster did not form within ${ms} ms`);
}
