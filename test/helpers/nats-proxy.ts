// A WebSocket pass-through to a nats-server's WebSocket listener that reads
// the NATS operations going each way, so a test can say how a stub writes
// (how many frames, PUBs and PINGs) and shape what it reads (everything the
// server sends held back, then handed over as one frame).
import type { ExecutionContext } from 'ava';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer, type RawData } from 'ws';

/** Counts of operations by name (`PUB`, `PING`, `MSG`…) in one direction. */
export type OpCounts = Record<string, number>;

/**
 * Reads NATS operations out of a byte stream split anywhere: a line, and for
 * PUB/MSG (HPUB/HMSG) the payload whose size ends the line.
 */
function opReader(counts: OpCounts) {
  let pending = Buffer.alloc(0);
  return (chunk: Buffer): void => {
    pending = Buffer.concat([pending, chunk]);
    for (;;) {
      const lf = pending.indexOf(0x0a);
      if (lf < 0) return;
      const words = pending.subarray(0, lf).toString('latin1').trim().split(/[ \t]+/);
      const name = words[0].toUpperCase();
      const carries = ['PUB', 'HPUB', 'MSG', 'HMSG'].includes(name);
      const end = carries ? lf + 1 + Number(words[words.length - 1]) + 2 : lf + 1;
      if (pending.length < end) return;
      if (name) counts[name] = (counts[name] ?? 0) + 1;
      pending = pending.subarray(end);
    }
  };
}

export interface NatsProxy {
  /** `ws://…` to give the stub (and its descriptor's `connect`). */
  url: string;
  /** From the stub to the server: WebSocket frames and the operations in them. */
  fromStub: { frames: number; framesWith(name: string): number; ops: OpCounts };
  /** From the server to the stub. */
  toStub: { frames: number; ops: OpCounts };
  /**
   * Holds back what the server sends from now on until it holds `count`
   * MSGs, then sends all of it to the stub as one frame.
   */
  gather(count: number): Promise<void>;
}

const asBuffer = (data: RawData): Buffer => (Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer));

export async function natsProxy(t: ExecutionContext, target: string): Promise<NatsProxy> {
  const fromStub = { frames: 0, ops: {} as OpCounts, withOp: {} as OpCounts };
  const toStub = { frames: 0, ops: {} as OpCounts };
  let gathering: { count: number; seen: OpCounts; read: (chunk: Buffer) => void; held: Buffer[]; done: () => void } | undefined;
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  const sockets = new Set<WebSocket>();
  server.on('connection', (client) => {
    const upstream = new WebSocket(target);
    sockets.add(client).add(upstream);
    const early: Buffer[] = [];
    const readFromStub = opReader(fromStub.ops);
    const readToStub = opReader(toStub.ops);
    client.on('message', (data) => {
      const bytes = asBuffer(data);
      fromStub.frames++;
      // Which operations this frame holds (whole ones; the stub's frames here are small).
      const before = { ...fromStub.ops };
      readFromStub(bytes);
      for (const [name, n] of Object.entries(fromStub.ops)) if (n > (before[name] ?? 0)) fromStub.withOp[name] = (fromStub.withOp[name] ?? 0) + 1;
      if (upstream.readyState === WebSocket.OPEN) upstream.send(bytes);
      else early.push(bytes);
    });
    upstream.on('open', () => { for (const bytes of early.splice(0)) upstream.send(bytes); });
    upstream.on('message', (data) => {
      const bytes = asBuffer(data);
      readToStub(bytes);
      if (gathering) {
        const g = gathering;
        g.held.push(bytes);
        g.read(bytes);
        if ((g.seen.MSG ?? 0) < g.count) return;
        gathering = undefined;
        toStub.frames++;
        client.send(Buffer.concat(g.held));
        g.done();
        return;
      }
      toStub.frames++;
      client.send(bytes);
    });
    const end = () => { client.close(); upstream.close(); };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', end);
    upstream.on('error', end);
  });
  await new Promise<void>((resolve) => server.once('listening', resolve));
  t.teardown(() => new Promise<void>((resolve) => {
    for (const socket of sockets) socket.terminate();
    server.close(() => resolve());
  }));
  const { port } = server.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}`,
    fromStub: { get frames() { return fromStub.frames; }, framesWith: (name) => fromStub.withOp[name] ?? 0, ops: fromStub.ops },
    toStub,
    gather(count) {
      return new Promise<void>((resolve) => {
        const seen: OpCounts = {};
        gathering = { count, seen, read: opReader(seen), held: [], done: resolve };
      });
    },
  };
}
