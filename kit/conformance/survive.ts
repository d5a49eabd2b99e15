// Check (e): a fresh instance meets one family of bad inputs; it passes if
// no input traps it (a trapped stub is dead for good in a runtime).
import type { Input } from './hostile-inputs.ts';
import { startSession, type Session, type SessionSetup } from './session.ts';
import { fail, pass, skip, type Check } from './types.ts';

const SETTLE_MS = 5;
const POLL_MS = 10;

function initFailure(name: string, outcome: { kind: 'refused' | 'trapped'; reason: string }): Check {
  return fail(name, `not run: init ${outcome.kind === 'refused' ? 'refused' : 'trapped'} (${outcome.reason})`);
}

function trapped(name: string, label: string, session: Session): Check {
  const f = session.recording.fault!;
  return fail(name, `trapped on ${label}: ${f.code} ${f.reason}`);
}

/** Each input is its own on-messages call, as the runtime would make it. */
export async function surviveBatches(name: string, setup: SessionSetup, inputs: Input<Uint8Array>[], posts: Uint8Array[]): Promise<Check> {
  const outcome = await startSession(setup, 'refuse');
  if (outcome.kind !== 'started') return initFailure(name, outcome);
  const { session } = outcome;
  try {
    for (const input of inputs) {
      session.guest.deliver(input.value);
      await session.settle(SETTLE_MS);
      if (session.recording.fault) return trapped(name, input.label, session);
    }
    return pass(name, `${inputs.length} inputs, no trap`);
  } finally {
    session.stop();
    posts.push(...session.recording.posts);
  }
}

// Counted in polls, not in wall-clock time: a busy process (another stub
// being transpiled, say) delays every timer alike, the stub's included.
async function waitForOpen(session: Session, polls: number): Promise<number | undefined> {
  for (let i = 0; i < polls; i++) {
    const [conn] = session.recording.open;
    if (conn !== undefined) return conn;
    if (session.recording.fault) return undefined;
    await session.settle(POLL_MS);
  }
  return undefined;
}

/**
 * Frames reach a stub only on a connection it opened, and a stub may well
 * hang up on the first bad one; so each frame gets a fresh instance whose
 * connection the host accepts.
 */
export async function surviveFrames(name: string, setup: SessionSetup, inputs: Input<Uint8Array>[], posts: Uint8Array[],
  openedBefore: boolean): Promise<Check> {
  // A stub seen opening a connection gets longer to do it again.
  const polls = openedBefore ? 500 : 100;
  let delivered = 0;
  for (const input of inputs) {
    const outcome = await startSession(setup, 'accept');
    if (outcome.kind !== 'started') return initFailure(name, outcome);
    const { session } = outcome;
    try {
      const conn = await waitForOpen(session, polls);
      if (session.recording.fault) return trapped(name, 'its connection opening', session);
      if (conn === undefined) {
        if (delivered === 0) return skip(name, `the stub opened no connection within ${polls * POLL_MS} ms of init: no frames to check`);
        return fail(name, `the stub opened no connection on a fresh start after ${delivered} frame(s)`);
      }
      session.guest.onFrame(conn, input.value);
      await session.settle(SETTLE_MS);
      if (session.recording.fault) return trapped(name, input.label, session);
      session.guest.onClose(conn, 'conformance: closed by the peer');
      await session.settle(SETTLE_MS);
      if (session.recording.fault) return trapped(name, `a close after ${input.label}`, session);
      delivered++;
    } finally {
      session.stop();
      posts.push(...session.recording.posts);
    }
  }
  return pass(name, `${delivered} frames on an open connection, then a close; no trap`);
}
