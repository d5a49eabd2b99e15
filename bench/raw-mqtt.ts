// The MQTT stubs' ceiling: mqtt.js publishing and subscribing the CBOR of the
// same messages, at the stubs' QoS 1 and protocol (3.1.1), over WebSocket too.
import mqtt from 'mqtt';
import type { Message } from '../kernel/schemas.ts';
import { messageOf, payloadOf, type RawClient } from './message-path.ts';

export const rawMqtt: RawClient = {
  name: 'raw mqtt client',
  delivery: 'QoS 1',
  async connect(brokerURL, bob, login) {
    const options = { protocolVersion: 4 as const, reconnectPeriod: 0, ...(login ?? {}) };
    const topic = `bench/raw/${encodeURIComponent(bob)}`;
    const publisher = await mqtt.connectAsync(brokerURL, { ...options, clientId: `bench-pub-${process.pid}` });
    const subscriber = await mqtt.connectAsync(brokerURL, { ...options, clientId: `bench-sub-${process.pid}` });
    let listener: (message: Message) => void = () => {};
    subscriber.on('message', (_topic, payload) => listener(messageOf(payload)));
    await subscriber.subscribeAsync(topic, { qos: 1 });
    return {
      send: (message) => { publisher.publish(topic, payloadOf(message), { qos: 1 }); },
      onArrival: (l) => { listener = l; },
      async close() {
        await Promise.allSettled([publisher.endAsync(), subscriber.endAsync()]);
      },
    };
  },
};
