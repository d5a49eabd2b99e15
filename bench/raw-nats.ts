// The NATS stub's ceiling: the official client (@nats-io/nats-core) over the
// same WebSocket listener, publishing and subscribing the CBOR of the same
// messages with core NATS, as the stub does.
import { wsconnect, type NatsConnection } from '@nats-io/nats-core';
import NodeWebSocket from 'ws';
import type { Message } from '../kernel/schemas.ts';
import { messageOf, payloadOf, type Login, type RawClient } from './message-path.ts';

// Node 20 has no global WebSocket (the client's default); `ws` is the one
// the runtime itself uses in Node, so both sides ride the same library.
function connect(brokerURL: string, login?: Login): Promise<NatsConnection> {
  return wsconnect({
    servers: brokerURL,
    ...(login ? { user: login.username, pass: login.password } : {}),
    reconnect: false,
    wsFactory: async (url) => ({ socket: new NodeWebSocket(url) as unknown as WebSocket, encrypted: url.startsWith('wss:') }),
  });
}

export const rawNats: RawClient = {
  name: 'raw @nats-io/nats-core client',
  delivery: 'core NATS (at most once)',
  async connect(brokerURL, _bob, login) {
    const subject = `bench.raw.${process.pid}`;
    const publisher = await connect(brokerURL, login);
    const subscriber = await connect(brokerURL, login).catch(async (error: unknown) => {
      await publisher.close();
      throw error;
    });
    let listener: (message: Message) => void = () => {};
    const errors: unknown[] = [];
    subscriber.subscribe(subject, {
      callback: (error, msg) => {
        if (error) errors.push(error);
        else listener(messageOf(msg.data));
      },
    });
    // NATS does not acknowledge SUB: the PONG to flush's PING, which the
    // server answers in order, means the subscription is in place.
    await subscriber.flush();
    return {
      send: (message) => { publisher.publish(subject, payloadOf(message)); },
      onArrival: (l) => { listener = l; },
      async close() {
        await Promise.allSettled([publisher.close(), subscriber.close()]);
        if (errors.length) throw new Error(`the NATS subscription reported ${String(errors[0])}`);
      },
    };
  },
};
