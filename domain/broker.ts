// The embedded default back-end: an in-process MQTT broker (aedes) reachable
// over WebSocket on loopback, so the demo and the tests need nothing installed.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Aedes } from 'aedes';
import { WebSocketServer, createWebSocketStream } from 'ws';

export interface EmbeddedBroker {
  /** The WebSocket URL stubs connect to, e.g. `ws://127.0.0.1:40123/mqtt`. */
  url: string;
  /** Clients connected right now. */
  clients(): number;
  close(): Promise<void>;
}

export interface EmbeddedBrokerOptions {
  port?: number;
  host?: string;
  /** When set, clients must log in with one of these (username → password). */
  users?: Record<string, string>;
}

export async function startEmbeddedBroker(options: EmbeddedBrokerOptions = {}): Promise<EmbeddedBroker> {
  const broker = await Aedes.createBroker();
  const users = options.users;
  if (users) {
    broker.authenticate = (_client, username, password, done) => {
      const ok = username !== undefined && username in users && password?.toString() === users[username];
      if (ok) return done(null, true);
      // returnCode 4: bad user name or password (MQTT 3.1.1, 3.2.2.3)
      const error = Object.assign(new Error('bad user name or password'), { returnCode: 4 });
      done(error as never, false);
    };
  }
  const http: Server = createServer((_req, res) => { res.writeHead(426).end('MQTT over WebSocket only'); });
  const wss = new WebSocketServer({ server: http, handleProtocols: (protocols) => (protocols.has('mqtt') ? 'mqtt' : false) });
  wss.on('connection', (socket) => {
    const stream = createWebSocketStream(socket);
    stream.on('error', () => socket.terminate());
    broker.handle(stream as never);
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = http.address() as AddressInfo;
  return {
    url: `ws://${host}:${port}/mqtt`,
    clients: () => broker.connectedClients,
    async close() {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => http.close(() => resolve()));
      await new Promise<void>((resolve) => broker.close(() => resolve()));
    },
  };
}
