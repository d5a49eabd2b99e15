// A hostile server posing as a domain's broker cannot make the runtime
// buffer a giant frame: a frame over `limits.maxFrameBytes` closes that
// connection with PF_ERR_FRAME_TOO_LARGE (the stub's on-close, an error
// event, a counter) — in Node from the frame's header, before its payload.
// The server is a real socket that speaks just enough WebSocket to upgrade.
import test, { type ExecutionContext } from 'ava';
import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { builtStub } from '../helpers/built.ts';
import { catalogue, runtime } from '../helpers/runtime.ts';
import { upgradeAnswer } from '../helpers/ws-upgrade.ts';

/** Upgrades any WebSocket request, then sends one binary frame whose header announces `announced` bytes, followed by `payload` of them. */
async function hostileBroker(t: ExecutionContext, announced: number, payload: number) {
  const sockets = new Set<Socket>();
  let upgraded = 0;
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    let head = '';
    socket.on('data', (chunk) => {
      if (head.includes('\r\n\r\n')) return;
      head += chunk.toString('latin1');
      const answer = upgradeAnswer(head);
      if (!answer) return;
      socket.write(answer);
      upgraded++;
      const header = Buffer.alloc(10);
      header[0] = 0x82; // FIN, binary
      header[1] = 127; // a 64-bit length follows; a server's frames are not masked
      header.writeBigUInt64BE(BigInt(announced), 2);
      socket.write(header);
      if (payload) socket.write(Buffer.alloc(payload, 0x30));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => {
    for (const socket of sockets) socket.destroy();
    server.close(() => resolve());
  }));
  return { url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`, upgraded: () => upgraded };
}

async function deployAgainst(t: ExecutionContext, url: string, limits?: Record<string, number>) {
  const domain = await catalogue(t, { default: { component: builtStub('mqtt-c'), configuration: { url }, connect: [url], limits } });
  const rt = runtime(t, { identity: { credentials: { [domain.domain]: { username: 'u', password: 'p' } } } });
  const outcome = await rt.deployStub(domain.origin).then(() => undefined, (error: { code?: string }) => error);
  return { rt, outcome, domain };
}

test('a frame announcing 64 MiB closes the connection from its header: PF_ERR_FRAME_TOO_LARGE, and the deploy fails at once instead of waiting', async (t) => {
  const broker = await hostileBroker(t, 64 * 1024 * 1024, 16);
  const { rt, outcome } = await deployAgainst(t, broker.url);
  t.true(broker.upgraded() >= 1, 'the stub did connect');
  const refused = rt.errors.find((e) => e.code === 'PF_ERR_FRAME_TOO_LARGE');
  t.truthy(refused, rt.errors.map((e) => e.code).join());
  t.regex(refused!.message, /4194304-byte limit/);
  t.truthy(refused!.stubURL);
  // Refused from the header, not after 64 MiB that never come: the stub saw
  // its connection close and said so, rather than the deploy timing out.
  t.not(outcome?.code, 'PF_ERR_LIVE_TIMEOUT');
  t.truthy(outcome, 'the deploy failed');
});

test('limits.maxFrameBytes in the descriptor bounds what a real frame may carry', async (t) => {
  const broker = await hostileBroker(t, 100 * 1024, 100 * 1024);
  const { rt, outcome } = await deployAgainst(t, broker.url, { maxFrameBytes: 64 * 1024 });
  t.truthy(outcome);
  const refused = rt.errors.find((e) => e.code === 'PF_ERR_FRAME_TOO_LARGE');
  t.regex(String(refused?.message), /65536-byte limit/);
});
