// The benchmarks must not rot: their smoke mode runs every one of them with
// tiny sizes, and every figure must come out whole — a positive value, a
// ceiling measured in the same run, and the ratio between them. Nothing here
// judges the numbers themselves.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import test from 'ava';
import type { Figure } from '../bench/stats.ts';
import { MOSQUITTO } from './helpers/mosquitto.ts';
import { NATS_SERVER } from './helpers/nats-server.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

interface Report {
  mode: string;
  totalSeconds: number;
  figures: Figure[];
  failures: Array<{ bench: string; error: string }>;
}

// recovery needs a mosquitto to kill; without one it reports nothing (and says so).
const EXPECTED_BENCHES = ['bus-routing', 'export-call', 'stub-boundary', 'broker-e2e', ...(existsSync(MOSQUITTO) ? ['recovery'] : []), 'deploy', 'signed-deploy', 'scale'];

test('npm run bench -- --smoke --json reports every figure with its ceiling and ratio', async (t) => {
  t.timeout(120_000);
  // A child process: the bench starts workers, servers and a mosquitto, and
  // must prove it cleans up by exiting on its own.
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--smoke', '--json'], {
    cwd: ROOT, maxBuffer: 16 * 1024 * 1024, timeout: 110_000,
  });
  const report = JSON.parse(stdout) as Report;
  t.is(report.mode, 'smoke');
  t.deepEqual(report.failures, []);
  t.deepEqual([...new Set(report.figures.map((f) => f.bench))], EXPECTED_BENCHES);
  for (const f of report.figures) {
    const what = `${f.bench}: ${f.name}`;
    t.true(f.name.length > 0 && f.unit.length > 0, what);
    t.true(f.value.runs > 0 && f.ceiling.value.runs > 0, `${what}: runs`);
    // A memory delta of one stub is a difference of two noisy process-wide
    // numbers: it can come out at or below zero in a tiny run.
    if (f.unit === 'KiB') t.true(Number.isFinite(f.value.median), `${what}: value`);
    else t.true(f.value.median > 0 && Number.isFinite(f.value.median), `${what}: value ${f.value.median}`);
    t.true(f.value.min <= f.value.median && f.value.median <= f.value.max, `${what}: spread`);
    t.true(f.ceiling.name.length > 0, `${what}: ceiling name`);
    t.true(f.ceiling.value.median > 0 && Number.isFinite(f.ceiling.value.median), `${what}: ceiling ${f.ceiling.value.median}`);
    t.is(f.ratio, f.value.median / f.ceiling.value.median, `${what}: ratio`);
  }
  const names = (bench: string) => report.figures.filter((f) => f.bench === bench).map((f) => f.name);
  // Both paths into a stub, side by side, in both sandboxes, at each batch size.
  for (const stub of ['echo-c', 'echo-as', 'echo-js']) {
    for (const path of ['direct', 'jco']) {
      for (const kind of ['in-thread', 'worker']) {
        for (const batch of [1, 16, 256]) {
          const figure = `${stub} ${path} ${kind} batch ${batch}`;
          t.true(names('stub-boundary').includes(figure), figure);
        }
      }
    }
  }
  // The worker boundary's own figure, with the bare postMessage beside it.
  t.true(names('stub-boundary').includes('echo-c direct worker, round trip of one message, p50'));
  t.deepEqual(names('export-call'), ['echo-c on-timer, direct path', 'echo-c on-timer, jco path']);
  for (const stub of ['echo-c', 'mqtt-c', 'mqtt-ts']) {
    t.true(names('deploy').includes(`${stub} cold deploy, total`));
    t.true(names('deploy').includes(`${stub} warm deploy, total`));
  }
  // Every protocol stub through each broker it speaks to, against its
  // protocol's raw client; a broker that is not installed is skipped.
  const e2e = [
    { stub: 'mqtt-c', broker: 'aedes', raw: 'raw mqtt client' },
    { stub: 'mqtt-ts', broker: 'aedes', raw: 'raw mqtt client' },
    ...(existsSync(MOSQUITTO) ? ['mqtt-c', 'mqtt-ts'].map((stub) => ({ stub, broker: 'mosquitto', raw: 'raw mqtt client' })) : []),
    ...(existsSync(NATS_SERVER) ? [{ stub: 'nats-rust', broker: 'nats-server', raw: 'raw @nats-io/nats-core client' }] : []),
    // The default stub and the NATS one again in the runtime's thread: what the worker boundary costs.
    { stub: 'mqtt-c in-thread', broker: 'aedes', raw: 'raw mqtt client' },
    ...(existsSync(MOSQUITTO) ? [{ stub: 'mqtt-c in-thread', broker: 'mosquitto', raw: 'raw mqtt client' }] : []),
    ...(existsSync(NATS_SERVER) ? [{ stub: 'nats-rust in-thread', broker: 'nats-server', raw: 'raw @nats-io/nats-core client' }] : []),
  ];
  for (const { stub, broker, raw } of e2e) {
    for (const measure of ['throughput', 'latency p50', 'latency p99', 'latency p99.9']) {
      const name = `${stub}, ${broker}: ${measure}`;
      const found = report.figures.find((f) => f.bench === 'broker-e2e' && f.name === name);
      t.is(found?.ceiling.name, `${raw}, ${broker}`, name);
    }
  }
  t.is(names('broker-e2e').length, e2e.length * 4, 'no other broker-e2e figures');
});
