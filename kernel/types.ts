// The shapes that hooks pass around. Plugins read and fill them.
import type { ProtoflyError } from './errors.ts';
import type { Domain } from './address.ts';
import type { Credentials, Descriptor, Message, StatusValue } from './schemas.ts';
import type { Runtime } from './runtime.ts';

/** A deployed (or deploying) protocol stub, as the Runtime Registry keeps it. */
export interface StubRecord {
  domain: Domain;
  /** Which of the domain's descriptors it runs (`/.well-known/protocolstub/<name>`): `default` unless deployed by name. */
  name: string;
  /** Unique in this runtime: `hyperty-runtime://<domain>/protostub/<id>`. */
  stubURL: string;
  descriptor: Descriptor;
  descriptorURL: string;
  status: StatusValue;
  /** The body of the last status publication (reason, code…). */
  statusBody: Record<string, unknown>;
  /** The last connection the transport saw fail for a reason of its own (PF_ERR_TLS), until one opens. */
  connectionError?: ProtoflyError;
  counters: {
    messagesIn: number; messagesOut: number; restarts: number; queued: number;
    /** The CBOR bytes of the batches handed to the stub and of those it posted (without each batch's array head). */
    bytesIn: number; bytesOut: number;
    /** Messages put back in the stub's queue to be handed again, after it died (or was stopped) holding them. */
    redelivered: number;
    /** What the runtime refused the stub or its peer, in all: the sum of `rejectedByCode`. */
    rejected: number;
    /**
     * The same by error code (`PF_ERR_SPOOFED`, `PF_ERR_CONNECT_REFUSED`, `PF_ERR_STUB_FLOOD`…),
     * counted by countRejection (kernel/rejections.ts). Exact, where the error events
     * for the same refusals may be rate-bound (a stub refused an `open` in a loop).
     */
    rejectedByCode: Record<string, number>;
    /** Messages the stub died on alone (a call that held only them): answered with the fault, never retried. */
    poisoned: number;
    /** Messages from the stub dropped as repeats of a `(from, id)` delivered within the once-only window. */
    duplicates: number;
    /** Times one of the stub's connections stopped being read until the stub took what waited (inbound backpressure). */
    inboundPauses: number;
    /** The stub's linear memory as last seen, in bytes (it grows, never shrinks; bounded by `limits.memoryMiB`). */
    memoryBytes: number;
  };
  /** How the deploy went, step by step, once it is LIVE. */
  deploySteps?: StepTiming[];
  /**
   * How its component runs: `direct` (no glue) or `jco`, and when the direct
   * path declined it, the first thing it did not recognise.
   */
  path?: { kind: string; declined?: string };
}

/** A running stub, as the sandbox plugin gives it to the kernel. */
export interface StubInstance {
  /**
   * Hands messages to the stub (`on-messages`), batched by the caller;
   * `done` is called once the stub has returned from them (not if it died).
   */
  deliver(messages: readonly Message[], done?: () => void): void;
  /** Whether the stub holds an open connection (a back-end session worth ending before it goes). */
  hasConnections?(): boolean;
  /**
   * Stops the stub and frees what it holds (connections, timers, memory).
   * Returns the messages handed to it that it had not finished with.
   */
  dispose(reason: string): Promise<Message[]>;
}

/** Where a stub runs. The sandbox plugin decides which one a stub gets. */
export interface Sandbox {
  readonly kind: string;
  /**
   * The stub's code is metered before it is compiled: it stops itself when
   * a call runs past its time limit (where nothing outside can stop it, as
   * in the runtime's own thread).
   */
  readonly metered?: boolean;
}

/** What the prepareComponent hook is asked to prepare. */
export interface PrepareRequest {
  /** The verified `sha256-…` of the source: the key of anything kept about it. */
  sourceHash: string;
  /** The component's bytes; empty when loadSource found it prepared already. */
  source: Uint8Array;
  /** The stub's memory limit, in 64 KiB pages. */
  maxPages: number;
}

/** One deploy walking through the hooks; each step fills in its part. */
export interface DeployContext {
  readonly runtime: Runtime;
  readonly domain: Domain;
  /** Which descriptor of the domain: `default` unless asked. */
  readonly descriptorName: string;
  descriptorURL?: string;
  descriptor?: Descriptor;
  stub?: StubRecord;
  sandbox?: Sandbox;
  source?: Uint8Array;
  credentials?: Credentials | null;
  instance?: StubInstance;
  readonly steps: StepTiming[];
}

export interface StepTiming {
  hook: string;
  ms: number;
}

export interface StepEvent extends StepTiming {
  domain: string;
  /** Which of the domain's stubs (`default` unless deployed by name). */
  name?: string;
  /** Set on a sub-step (download, transpile…): the step it is part of. */
  parent?: string;
  phase: 'start' | 'end' | 'error';
  error?: unknown;
}

export type { Message, StatusValue };

/** Removes what it was returned for (a listener, an attachment). */
export type Remover = () => void;
