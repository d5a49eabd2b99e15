// The real brokers the stubs are tested against, started the same way
// whichever a test picks.
import type { ExecutionContext } from 'ava';
import { MOSQUITTO, startMosquitto, type ServerCertificate } from './mosquitto.ts';
import { NATS_SERVER, startNatsServer } from './nats-server.ts';
import type { WebSocketServer } from './server-process.ts';

export type BrokerKind = 'mosquitto' | 'nats-server';

export const BROKER_BINARY: Record<BrokerKind, string> = { mosquitto: MOSQUITTO, 'nats-server': NATS_SERVER };

/** A broker of that kind on loopback with these logins (on `wss://` with `tls`), stopped after the test. */
export async function startBroker(t: ExecutionContext, kind: BrokerKind, users: Record<string, string>, tls?: ServerCertificate): Promise<WebSocketServer> {
  const server = kind === 'mosquitto' ? await startMosquitto(users, tls) : await startNatsServer({ users }, tls);
  t.teardown(() => server.dispose());
  return server;
}
