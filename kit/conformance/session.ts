// One instance of the stub in a real protofly guest (startGuest: the code
// every sandbox runs), with a host that records everything the stub does and
// fakes its connections: no network is touched.
import { encodeCbor } from '../../kernel/cbor.ts';
import type { ErrorCode } from '../../kernel/errors.ts';
import type { PreparedComponent } from '../../plugins/sandbox/component-instance.ts';
import { InitRefused, startGuest, type Guest, type GuestHost, type GuestLimits } from '../../plugins/sandbox/guest.ts';

export const STUB_URL = 'hyperty-runtime://conformance.protofly.test/protostub/c0ffee00';
/** Where the runtime's control messages come from (the init config's runtimeURL). */
export const RUNTIME_URL = 'hyperty-runtime://conformance.protofly.test/runtime';
export const REMOTE = 'hyperty://conformance.protofly.test';

/** What happens to a connection the stub opens. */
export type ConnectionMode = 'refuse' | 'accept';

export interface Recording {
  /** Every batch the stub posted, in order, as it posted it. */
  posts: Uint8Array[];
  opened: Array<{ conn: number; url: string }>;
  /** Connections that are open now (accept mode). */
  open: Set<number>;
  fault?: { code: ErrorCode; reason: string };
  logs: Array<{ level: number; text: string }>;
}

export type InitOutcome =
  | { kind: 'started'; session: Session }
  | { kind: 'refused'; reason: string }
  | { kind: 'trapped'; reason: string };

export interface Session {
  guest: Guest;
  recording: Recording;
  /** Lets the stub's timers and the faked connections run for a while. */
  settle(ms: number): Promise<void>;
  stop(): void;
}

export interface SessionSetup {
  prepared: PreparedComponent;
  limits: GuestLimits;
  configuration: Record<string, unknown>;
  credentials: Record<string, string> | null;
}

export function initConfig(setup: SessionSetup): Uint8Array {
  return encodeCbor({
    runtimeURL: RUNTIME_URL,
    stubURL: STUB_URL,
    domain: 'conformance.protofly.test',
    configuration: setup.configuration,
    credentials: setup.credentials,
  });
}

export async function startSession(setup: SessionSetup, mode: ConnectionMode, config = initConfig(setup)): Promise<InitOutcome> {
  const recording: Recording = { posts: [], opened: [], open: new Set(), logs: [] };
  let guest: Guest | undefined;
  // Opens asked for during init wait until the guest exists.
  const waiting: number[] = [];
  const answer = (conn: number) => {
    if (!guest) return void waiting.push(conn);
    // Asynchronously, as a real socket would: never inside the stub's call.
    setTimeout(() => {
      if (mode === 'accept') {
        recording.open.add(conn);
        guest!.onOpen(conn);
      } else {
        guest!.onClose(conn, 'conformance: connection refused (no back-end in this check)');
      }
    }, 5);
  };
  const host: GuestHost = {
    // A view of the stub's memory on the direct path: kept, so copied.
    post: (batch) => { recording.posts.push(new Uint8Array(batch)); },
    open: (conn, url) => {
      recording.opened.push({ conn, url });
      answer(conn);
    },
    send: () => {},
    // No socket: nothing ever waits to be written.
    outbound: () => 0,
    close: (conn) => { recording.open.delete(conn); },
    log: (level, text) => { recording.logs.push({ level, text }); },
    // The stub hears its refusal as an `err`; what it does with it is what is judged.
    refused: () => {},
    fault: (code, reason) => { recording.fault ??= { code, reason }; },
  };
  try {
    guest = await startGuest(setup.prepared, host, setup.limits, config);
  } catch (error) {
    if (error instanceof InitRefused) return { kind: 'refused', reason: error.message };
    return { kind: 'trapped', reason: error instanceof Error ? error.message : String(error) };
  }
  for (const conn of waiting.splice(0)) answer(conn);
  const started = guest;
  return {
    kind: 'started',
    session: {
      guest: started,
      recording,
      settle: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      stop: () => started.stop(),
    },
  };
}
