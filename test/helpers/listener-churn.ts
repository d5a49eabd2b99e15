// A listener removed and added back, in three rhythms — in the same turn, in
// the next one, and in the same turn again — with 20 messages sent after
// each: every one must come. A back-end may handle requests that arrive
// together concurrently (aedes does): an UNSUBSCRIBE racing the SUBSCRIBE of
// the same address used to leave it unsubscribed, every message lost.
import type { ExecutionContext } from 'ava';
import type { Runtime } from '../../index.ts';

export async function listenerChurn(t: ExecutionContext, sender: Runtime, from: string, receiver: Runtime, address: string): Promise<void> {
  const sendAndCount = async (label: string) => {
    const got: string[] = [];
    let arrived: () => void = () => {};
    const all = new Promise<void>((resolve) => { arrived = resolve; });
    const remove = receiver.bus.addListener(address, (m) => { if (got.push(String(m.id)) === 20) arrived(); });
    await receiver.bus.whenSubscribed(address);
    for (let i = 0; i < 20; i++) sender.bus.postMessage({ id: `${label}-${i}`, type: 'CREATE', from, to: address, body: { i } });
    await Promise.race([all, new Promise((resolve) => setTimeout(resolve, 5_000))]);
    t.is(got.length, 20, `${label}: every message after the listener came back`);
    return remove;
  };
  let remove = await sendAndCount('first');
  remove();
  remove = await sendAndCount('same turn');
  remove();
  await new Promise((resolve) => setImmediate(resolve));
  remove = await sendAndCount('next turn');
  remove();
  await sendAndCount('same turn again');
}
