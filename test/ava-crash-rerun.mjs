// Runs ava; a test file whose process was killed by a signal (SIGSEGV,
// SIGABRT) — not one that failed an assertion, timed out or threw — is run
// once more, and said so loudly. Why: rarely (about one full run in ten
// here), Node 20's V8 crashes while workers holding WebAssembly start and
// terminate at the same time (nodejs/node#56312 and kin). Nothing written in
// JavaScript or WebAssembly can segfault the process, so such a death says
// nothing about the file's tests; any other failure fails the run at once.
//
//   node test/ava-crash-rerun.mjs [ava arguments…]
import { spawn } from 'node:child_process';

const CRASH = /^\s*✘ (\S+\.test\.ts) exited due to (SIG[A-Z]+)/;
const FAILURE = /^\s*✘ /;

function ava(args) {
  return new Promise((resolve) => {
    const child = spawn('npx', ['ava', ...args], { stdio: ['inherit', 'pipe', 'pipe'] });
    const lines = [];
    const keep = (stream, out) => {
      let rest = '';
      stream.on('data', (chunk) => {
        out.write(chunk);
        const text = rest + chunk.toString('utf8');
        const parts = text.split('\n');
        rest = parts.pop();
        lines.push(...parts);
      });
      stream.on('end', () => { if (rest) lines.push(rest); });
    };
    keep(child.stdout, process.stdout);
    keep(child.stderr, process.stderr);
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 1 : 0), lines }));
  });
}

const args = process.argv.slice(2);
const first = await ava(args);
if (first.code === 0) process.exit(0);

const failures = first.lines.filter((line) => FAILURE.test(line));
const crashed = [...new Set(failures.map((line) => CRASH.exec(line)?.[1]).filter(Boolean))];
// Ava reports each crashed file once; any other ✘ line is a real failure.
const onlyCrashes = failures.length > 0 && failures.every((line) => CRASH.test(line));
if (!onlyCrashes) process.exit(first.code);

console.error(`\n!! ${crashed.length} test file(s) died of a signal, not of a failing test: ${crashed.join(', ')}`);
console.error('!! running them once more (a V8 crash with WebAssembly in worker threads; see test/ava-crash-rerun.mjs)\n');
const again = await ava(crashed);
process.exit(again.code);
