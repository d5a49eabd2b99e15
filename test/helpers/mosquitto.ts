// A real mosquitto (Debian package), started on loopback with a generated
// config and password file, stopped after the test.
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, startWebSocketServer, type WebSocketServer } from './server-process.ts';

export const MOSQUITTO = '/usr/sbin/mosquitto';

export interface Mosquitto extends WebSocketServer {
  /** Sets (or changes) a user's password; takes effect at the next start. */
  setPassword(user: string, password: string): Promise<void>;
  /** Resolves once mosquitto has saved its sessions after `since` (ms since the epoch): it saves every second. */
  savedAfter(since: number, ms?: number): Promise<void>;
}

/** A certificate and its key (PEM files) for a `wss://` listener. */
export interface ServerCertificate { cert: string; key: string }

export async function startMosquitto(users: Record<string, string>, tls?: ServerCertificate): Promise<Mosquitto> {
  const dir = await mkdtemp(join(tmpdir(), 'protofly-mosquitto-'));
  // mosquitto drops root to its own user, which must read these files and
  // write its persistence database here (sessions survive a restart).
  await chmod(dir, 0o777);
  const passwd = join(dir, 'passwd');
  await writeFile(passwd, '');
  const setPassword = async (user: string, password: string) => {
    await promisify(execFile)('/usr/bin/mosquitto_passwd', ['-b', passwd, user, password]);
    await chmod(passwd, 0o644);
  };
  for (const [user, password] of Object.entries(users)) await setPassword(user, password);
  const [tcpPort, wsPort] = [await freePort(), await freePort()];
  const config = join(dir, 'mosquitto.conf');
  // 2.0.11 exits ("Unable to start any listening sockets") when its only
  // listener is a websockets one, so a plain MQTT listener comes along.
  await writeFile(config, [
    'per_listener_settings false',
    'allow_anonymous false',
    `password_file ${passwd}`,
    // Sessions and queued QoS 1 messages survive a restart, like a real deployment's.
    'persistence true',
    `persistence_location ${dir}/`,
    // Saved every second, so a broker killed (SIGKILL) comes back with the
    // sessions and subscriptions it had a moment before.
    'autosave_interval 1',
    // Small packets go out at once: without it a websockets client waits
    // out a delayed ACK (≈40 ms) for every 4 KiB a large message crosses in.
    'set_tcp_nodelay true',
    // QoS 1 messages held for a subscriber that is slower than a burst (a
    // stub on a loaded 2-core CI machine): past 1,000 (the default) mosquitto
    // drops them without telling anyone, and what the tests count is what
    // the runtime loses, not what the broker was configured to shed.
    'max_queued_messages 100000',
    'log_dest stderr',
    'log_type error',
    `listener ${tcpPort} 127.0.0.1`,
    `listener ${wsPort} 127.0.0.1`,
    'protocol websockets',
    ...(tls ? [`certfile ${tls.cert}`, `keyfile ${tls.key}`] : []),
    '',
  ].join('\n'));
  const server = await startWebSocketServer('mosquitto', MOSQUITTO, ['-c', config], wsPort, dir, tls ? 'wss' : 'ws');
  const database = join(dir, 'mosquitto.db');
  const savedAfter = async (since: number, ms = 10_000) => {
    const deadline = Date.now() + ms;
    while (((await stat(database).catch(() => null))?.mtimeMs ?? 0) <= since) {
      if (Date.now() > deadline) throw new Error(`mosquitto did not save ${database} within ${ms} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  return Object.assign(server, { setPassword, savedAfter });
}
