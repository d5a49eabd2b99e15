// Bounded under hostile load: a "broker" in another process floods an MQTT
// stub's connection (the C one, and the componentize-js one) with 1,000,000 tiny frames as fast as it is read,
// then announces one 256 MiB frame. The runtime's memory stays within a
// bound above its baseline, its event loop keeps turning, the flooded
// connection is paused (not buffered) and the giant frame closes it with its
// code; a healthy stub on another domain answers every message throughout,
// and the flooded stub comes back LIVE.
import test from 'ava';
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { platformRuntime } from '../../create-runtime.ts';
import type { StubRecord } from '../../kernel/types.ts';
import { sha256IntegrityNode } from '../../plugins/sandbox/integrity-node.ts';
import { spawnNodeWorker } from '../../plugins/sandbox/worker/node-spawn.ts';
import type { WebSocketConstructor, WebSocketLike } from '../../plugins/transport/plugin.ts';
import { builtStub } from '../helpers/built.ts';
import { watchEventLoop } from '../helpers/responsiveness.ts';
import { catalogue, inbox, runtime } from '../helpers/runtime.ts';
import { sleep, until } from '../helpers/until.ts';

const FRAMES = 1_000_000;
const GIANT = 256 * 1024 * 1024;
/** The documented bound (README, "Bounded under load"): what a flood may add to the host's memory beside the stub's own. */
const RSS_BOUND = 64 * 1024 * 1024;
/**
 * The README's figure is a worst lag under 100 ms on an idle machine; a CI
 * machine shares its 2 cores with the flooding process and the stub's
 * worker, so the test holds the loop to a looser bound (a buffered flood
 * stalled it for seconds).
 */
const LAG_BOUND_MS = 500;

function floodingBroker(frames = FRAMES) {
  const child: ChildProcess = fork(fileURLToPath(new URL('../helpers/flooding-broker.ts', import.meta.url)), [String(frames), String(GIANT)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const events: Array<Record<string, unknown>> = [];
  child.on('message', (message: Record<string, unknown>) => events.push(message));
  const seen = async (type: string, ms = 120_000) => {
    await until(`the broker's ${type}`, () => events.some((e) => e.t === type), ms);
    return events.find((e) => e.t === type)!;
  };
  return { child, events, seen, stop: () => child.kill() };
}

// The C stub holds its sockets in its worker (the default in Node): frames
// are read at the pace it takes them. The TypeScript one's stay in the
// runtime's thread, which pauses the socket when frames wait for the stub.
const FLOODED = [{ stub: 'mqtt-c', socketsInWorker: true }, { stub: 'mqtt', socketsInWorker: false }];

for (const { stub, socketsInWorker } of FLOODED) test.serial(`a broker flooding 1,000,000 frames then announcing a 256 MiB frame costs the runtime bounded memory and lag (${stub} stub, sockets in its ${socketsInWorker ? 'worker' : 'runtime\'s thread'}); a healthy stub answers throughout`, async (t) => {
  t.timeout(240_000);
  const broker = floodingBroker();
  t.teardown(broker.stop);
  const { port } = await broker.seen('listening', 20_000) as { port: number };
  const url = `ws://127.0.0.1:${port}`;

  const flooded = await catalogue(t, { default: { component: builtStub(stub), configuration: { url }, connect: [url] } });
  const healthy = await catalogue(t, { default: { component: builtStub('echo-c') } });
  const rt = runtime(t, { identity: { credentials: { [flooded.domain]: { username: 'u', password: 'p' } } }, restart: { firstDelayMs: 50 }, transport: { socketsInWorker } });
  const statuses: string[] = [];
  rt.hooks.status.tap('test', (record: StubRecord, value: string) => { if (record.domain.name === flooded.domain) statuses.push(value); });
  const record = await rt.deployStub(flooded.origin);
  await rt.deployStub(healthy.origin);

  const me = `hyperty://${healthy.domain}/tester`;
  const replies = inbox(rt, me);
  let sent = 0;
  const ping = () => rt.bus.postMessage({ id: `p${sent++}`, type: 'CREATE', from: me, to: `hyperty://${healthy.domain}/echo`, body: { n: sent } });
  // Warm: the echo stub's worker and the bus have done their first allocations.
  for (let i = 0; i < 200; i++) ping();
  await replies.waitFor(sent);
  await sleep(300);
  const baseline = process.memoryUsage.rss();
  const stubBefore = record.counters.memoryBytes;

  let peak = baseline;
  const sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage.rss()); }, 10);
  const loop = watchEventLoop();
  const pinger = setInterval(ping, 20);
  t.teardown(() => { clearInterval(sampler); clearInterval(pinger); loop.stop(); });

  broker.child.send({ t: 'flood' });
  const done = await broker.seen('flooded') as { frames: number; ms: number };
  await until('PF_ERR_FRAME_TOO_LARGE', () => rt.errors.some((e) => e.code === 'PF_ERR_FRAME_TOO_LARGE'), 60_000);
  const closed = statuses.length;
  await until('LIVE again', () => statuses.slice(closed).includes('LIVE'), 60_000);
  clearInterval(pinger);
  clearInterval(sampler);
  loop.stop();
  await replies.waitFor(sent, 20_000);

  // The stub's own memory is its own to use, up to its limit (the TS stub's
  // JavaScript engine grows its heap under a flood of calls); the bound is
  // on what the runtime holds beside it.
  const stubGrewMiB = (record.counters.memoryBytes - stubBefore) / 1048576;
  const grewMiB = (peak - baseline) / 1048576 - stubGrewMiB;
  t.log(`${done.frames} frames in ${done.ms.toFixed(0)} ms; RSS +${grewMiB.toFixed(1)} MiB at peak beside the stub's own +${stubGrewMiB.toFixed(1)} MiB; ` +
    `worst event-loop lag ${loop.worstLagMs().toFixed(0)} ms; ` +
    `${record.counters.inboundPauses} pauses; ${sent} echo round trips`);
  t.is(done.frames, FRAMES, 'the whole flood was read: paused, never refused');
  if (!socketsInWorker) t.true(record.counters.inboundPauses > 0, 'the flooded connection was paused');
  t.true(stubBefore > 0, 'the stub\'s memory was seen before the flood');
  t.true(grewMiB * 1048576 < RSS_BOUND, `RSS grew by ${grewMiB.toFixed(1)} MiB beside the stub's memory`);
  t.true(loop.worstLagMs() < LAG_BOUND_MS, `worst lag ${loop.worstLagMs()} ms`);
  t.is(replies.messages.length, sent, 'every message to the healthy stub was answered');
  t.true(broker.events.filter((e) => e.t === 'connected').length >= 2, 'the flooded stub reconnected');
  t.is(record.status, 'LIVE');
  t.deepEqual(rt.errors.map((e) => e.code), ['PF_ERR_FRAME_TOO_LARGE']);
});

/**
 * A real WebSocket with only what a browser's offers: no pause, no
 * `maxPayload`, no Node events. The runtime must bound it by closing.
 */
class StandardWebSocket implements WebSocketLike {
  readonly #socket: WebSocket;
  onopen: WebSocketLike['onopen'] = null;
  onmessage: WebSocketLike['onmessage'] = null;
  onclose: WebSocketLike['onclose'] = null;
  onerror: WebSocketLike['onerror'] = null;
  constructor(url: string, protocols?: string[]) {
    this.#socket = new WebSocket(url, protocols);
    this.#socket.binaryType = 'arraybuffer';
    this.#socket.onopen = (event) => this.onopen?.(event);
    this.#socket.onmessage = ({ data }) => this.onmessage?.({ data });
    this.#socket.onclose = ({ code, reason }) => this.onclose?.({ code, reason });
    this.#socket.onerror = (event) => this.onerror?.(event);
  }
  get binaryType() { return 'arraybuffer'; }
  set binaryType(_type: string) { /* a browser page picks arraybuffer too */ }
  get readyState() { return this.#socket.readyState; }
  get bufferedAmount() { return this.#socket.bufferedAmount; }
  send(data: Uint8Array) { this.#socket.send(data); }
  close(code?: number, reason?: string) { this.#socket.close(code, reason); }
}

test.serial('where a socket cannot be paused (the browser\'s WebSocket API), a flood past the inbound bound closes the connection with PF_ERR_INBOUND_FULL, and the stub connects again', async (t) => {
  t.timeout(120_000);
  const broker = floodingBroker(200_000);
  t.teardown(broker.stop);
  const { port } = await broker.seen('listening', 20_000) as { port: number };
  const url = `ws://127.0.0.1:${port}`;
  const flooded = await catalogue(t, { default: { component: builtStub('mqtt-c'), configuration: { url }, connect: [url] } });
  const { createRuntime } = platformRuntime({
    WebSocket: StandardWebSocket as unknown as WebSocketConstructor,
    spawnWorker: spawnNodeWorker,
    cache: () => undefined,
    integrity: sha256IntegrityNode,
  });
  const rt = createRuntime({ identity: { credentials: { [flooded.domain]: { username: 'u', password: 'p' } } } });
  t.teardown(() => rt.close());
  const errors: string[] = [];
  rt.hooks.error.tap('test', (error) => { errors.push(error.code); });
  const statuses: Array<{ value: string; reason?: unknown }> = [];
  rt.hooks.status.tap('test', (record: StubRecord, value: string) => { statuses.push({ value, reason: record.statusBody.reason }); });
  const record = await rt.deployStub(flooded.origin);
  const from = statuses.length;

  broker.child.send({ t: 'flood' });
  await until('PF_ERR_INBOUND_FULL', () => errors.includes('PF_ERR_INBOUND_FULL'), 60_000);
  await until('LIVE again', () => statuses.slice(from).some((s) => s.value === 'LIVE'), 60_000);
  const after = statuses.slice(from);
  t.is(after[0].value, 'DISCONNECTED');
  t.regex(String(after[0].reason), /PF_ERR_INBOUND_FULL/, 'the stub heard why its connection closed');
  t.true(record.counters.rejected >= 1);
  t.is(record.counters.inboundPauses, 0, 'nothing to pause');
  t.true(broker.events.filter((e) => e.t === 'connected').length >= 2, 'it connected again');
  t.is(record.status, 'LIVE');
});
