// A hostile "broker" in a process of its own (so its buffers never count
// against the runtime's memory): a real socket on loopback that upgrades any
// WebSocket request, answers the first thing a client says with an MQTT
// CONNACK, and on the first connection, once told `flood`, sends `frames`
// tiny frames (MQTT PINGRESPs, one per WebSocket frame) as fast as the
// client reads them, then the header of one frame announcing `giant` bytes
// followed by its payload for as long as the client reads. Later connections
// only get their CONNACK. It reports to its parent over IPC.
// Run with: node --import tsx flooding-broker.ts <frames> <giant>
import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { upgradeAnswer } from './ws-upgrade.ts';

const frames = Number(process.argv[2]);
const giant = Number(process.argv[3]);
const report = (message: Record<string, unknown>) => process.send?.(message);

// A server's frames are not masked: FIN+binary, length, payload.
const frame = (payload: number[]) => Buffer.from([0x82, payload.length, ...payload]);
const CONNACK = frame([0x20, 0x02, 0x00, 0x00]);
const PINGRESP = frame([0xd0, 0x00]);
// 64 KiB of PINGRESP frames: one write fills a socket read on the other side.
const PER_CHUNK = 16_384;
const chunk = Buffer.concat(Array.from({ length: PER_CHUNK }, () => PINGRESP));

let connections = 0;
let flood: ((socket: Socket) => Promise<void>) | undefined;
let first: Socket | undefined;

const writeAll = (socket: Socket, bytes: Buffer) => new Promise<boolean>((resolve) => {
  if (socket.destroyed) return resolve(false);
  if (socket.write(bytes)) return resolve(true);
  const done = (ok: boolean) => { socket.off('drain', drained); socket.off('close', closed); resolve(ok); };
  const drained = () => done(true);
  const closed = () => done(false);
  socket.once('drain', drained).once('close', closed);
});

async function floodThenGiant(socket: Socket): Promise<void> {
  const started = performance.now();
  let sent = 0;
  while (sent < frames) {
    const n = Math.min(PER_CHUNK, frames - sent);
    if (!await writeAll(socket, n === PER_CHUNK ? chunk : chunk.subarray(0, n * PINGRESP.length))) break;
    sent += n;
  }
  report({ t: 'flooded', frames: sent, ms: performance.now() - started });
  const header = Buffer.alloc(10);
  header[0] = 0x82;
  header[1] = 127; // a 64-bit length follows
  header.writeBigUInt64BE(BigInt(giant), 2);
  let payload = 0;
  if (await writeAll(socket, header)) {
    const zeros = Buffer.alloc(64 * 1024);
    while (payload < giant && await writeAll(socket, zeros)) payload += zeros.length;
  }
  report({ t: 'giant-sent', payload });
}

const server = createServer((socket) => {
  socket.on('error', () => {});
  let head = '';
  let upgraded = false;
  let connacked = false;
  const index = ++connections;
  socket.on('close', () => report({ t: 'closed', connection: index }));
  socket.on('data', (data) => {
    if (!upgraded) {
      head += data.toString('latin1');
      const answer = upgradeAnswer(head);
      if (!answer) return;
      upgraded = true;
      socket.write(answer);
      report({ t: 'connected', connection: index });
      return;
    }
    // The client's first frame is its CONNECT; nothing else is read.
    if (connacked) return;
    connacked = true;
    socket.write(CONNACK);
    if (index === 1) {
      first = socket;
      if (flood) void flood(socket);
    }
  });
});

process.on('message', (message: { t: string }) => {
  if (message.t !== 'flood') return;
  flood = floodThenGiant;
  if (first) void flood(first);
});
process.on('disconnect', () => process.exit(0));
server.listen(0, '127.0.0.1', () => report({ t: 'listening', port: (server.address() as AddressInfo).port }));
