// Every extension point of the runtime, in the order of the seed's "Deploy
// Protocol Stub" flow. Reading this object tells the whole life of a deploy.
import {
  AsyncParallelHook, AsyncSeriesBailHook, AsyncSeriesHook, SyncHook, SyncWaterfallHook,
} from 'tapable';
import type { Domain } from './address.ts';
import type { ProtoflyError } from './errors.ts';
import type { Credentials, Descriptor, Message, StatusValue } from './schemas.ts';
import type { DeployContext, Remover, Sandbox, StepEvent, StubInstance, StubRecord } from './types.ts';

export function createHooks() {
  return Object.freeze({
    /** Steps 1–2: is a stub for this domain already here? Return its record to reuse it. */
    resolveStub: new AsyncSeriesBailHook<[Domain], StubRecord | undefined>(['domain']),
    /** Steps 3–4: the descriptor's URL; taps transform it (well-known URI, catalogue host…). */
    descriptorUrl: new SyncWaterfallHook<[string, Domain, string]>(['url', 'domain', 'name']),
    /** Steps 3–4: fetch and validate the descriptor at that URL. Return the descriptor. */
    fetchDescriptor: new AsyncSeriesBailHook<[string, DeployContext], Descriptor>(['url', 'context']),
    /** Steps 5–7: register the stub and allocate its runtime URL. Return its record. */
    registerStub: new AsyncSeriesBailHook<[DeployContext], StubRecord>(['context']),
    /** Step 7 (optional): register the stub in the domain's remote registry; never blocks the deploy. */
    registerInDomain: new AsyncParallelHook<[StubRecord]>(['stub']),
    /** Steps 9–10: choose and create the sandbox the stub will run in. Return it. */
    createSandbox: new AsyncSeriesBailHook<[DeployContext], Sandbox>(['context']),
    /** Steps 11–12: download the stub's source and check its integrity. Return its bytes. */
    loadSource: new AsyncSeriesBailHook<[DeployContext], Uint8Array>(['context']),
    /** Domain login: credentials for the domain from the Identity Module. Return them, or null for none. */
    credentials: new AsyncSeriesBailHook<[DeployContext], Credentials | null>(['context']),
    /** Step 13: instantiate the stub in its sandbox and call its `init`. Return the running instance. */
    instantiate: new AsyncSeriesBailHook<[DeployContext], StubInstance>(['context']),
    /** Steps 14–15: add the stub's listener to the bus. Return the remover. */
    attach: new AsyncSeriesBailHook<[DeployContext], Remover>(['context']),
    /** Steps 16–17: a stub's status changed (seen on `<stubURL>/status`). */
    status: new SyncHook<[StubRecord, StatusValue, Message]>(['stub', 'value', 'message']),
    /** A running stub died (trap, timeout, memory, flood); `unprocessed` are the messages it took with it. */
    stubFailed: new SyncHook<[StubRecord, ProtoflyError, Message[]]>(['stub', 'error', 'unprocessed']),
    /** Stop a stub's instance but keep the stub (a restart or an update follows). */
    stopInstance: new AsyncSeriesHook<[StubRecord, string]>(['stub', 'reason']),
    /** A deploy failed; plugins drop what they hold for it. */
    deployFailed: new AsyncSeriesHook<[DeployContext, ProtoflyError]>(['context', 'error']),
    /** A stub is going away (undeploy, failure); plugins tear down their part. */
    undeploy: new AsyncSeriesHook<[StubRecord, string]>(['stub', 'reason']),
    /** A stub's `log` calls (level 0 trace … 4 error). */
    stubLog: new SyncHook<[StubRecord, number, string]>(['stub', 'level', 'text']),
    /** Progress: each step's start and end, with its time. */
    step: new SyncHook<[StepEvent]>(['event']),
    /** Something went wrong that is not a deploy's failure (a rejected message, a registry down). */
    error: new SyncHook<[ProtoflyError]>(['error']),
  });
}

export type Hooks = ReturnType<typeof createHooks>;

/** The deploy steps in the order `deployStub` walks them; `live` is waiting for the stub's LIVE. */
export const DEPLOY_STEPS = [
  'resolveStub', 'descriptorUrl', 'fetchDescriptor', 'registerStub', 'registerInDomain',
  'createSandbox', 'loadSource', 'credentials', 'instantiate', 'attach', 'live',
] as const;
export type DeployStep = (typeof DEPLOY_STEPS)[number];
