// Every extension point of the runtime, in the order of the seed's "Deploy
// Protocol Stub" flow. Reading this object tells the whole life of a deploy.
// (Each hook is interpreted rather than compiled: see hook-interpreter.ts.)
// A tap may say what its failure does (`policy`: kernel/hook-policy.ts).
import {
  AsyncParallelHook, AsyncSeriesBailHook, AsyncSeriesHook, SyncHook, SyncWaterfallHook,
} from 'tapable';
import type { Domain } from './address.ts';
import type { ProtoflyError } from './errors.ts';
import type { Credentials, Descriptor, Message, StatusValue } from './schemas.ts';
import type { DeployContext, PrepareRequest, Remover, Sandbox, StepEvent, StubInstance, StubRecord } from './types.ts';
import { interpreted } from './hook-interpreter.ts';
import type { TapPolicy } from './hook-policy.ts';

export function createHooks() {
  return Object.freeze({
    /** Steps 1–2: is this domain's stub of that name (`default`…) already here? Return its record to reuse it. */
    resolveStub: interpreted(new AsyncSeriesBailHook<[Domain, string], StubRecord | undefined, TapPolicy>(['domain', 'name']), 'asyncSeriesBail'),
    /** Steps 3–4: the descriptor's URL; taps transform it (well-known URI, catalogue host…). */
    descriptorUrl: interpreted(new SyncWaterfallHook<[string, Domain, string], string, TapPolicy>(['url', 'domain', 'name']), 'syncWaterfall'),
    /** Steps 3–4: fetch and validate the descriptor at that URL. Return the descriptor. */
    fetchDescriptor: interpreted(new AsyncSeriesBailHook<[string, DeployContext], Descriptor, TapPolicy>(['url', 'context']), 'asyncSeriesBail'),
    /**
     * Steps 3–4: may this descriptor be used (its signature, where it sends the stub)? Throw to refuse it.
     * Part of the fetchDescriptor step, on a first deploy and an update alike, before anything it names is fetched.
     */
    checkDescriptor: interpreted(new AsyncSeriesHook<[Descriptor, DeployContext], TapPolicy>(['descriptor', 'context']), 'asyncSeries'),
    /** Steps 5–7: register the stub and allocate its runtime URL. Return its record. */
    registerStub: interpreted(new AsyncSeriesBailHook<[DeployContext], StubRecord, TapPolicy>(['context']), 'asyncSeriesBail'),
    /** Step 7 (optional): register the stub in the domain's remote registry; never blocks the deploy. */
    registerInDomain: interpreted(new AsyncParallelHook<[StubRecord], TapPolicy>(['stub']), 'asyncParallel'),
    /** Steps 9–10: choose and create the sandbox the stub will run in. Return it. */
    createSandbox: interpreted(new AsyncSeriesBailHook<[DeployContext], Sandbox, TapPolicy>(['context']), 'asyncSeriesBail'),
    /** Steps 11–12: download the stub's source and check its integrity. Return its bytes. */
    loadSource: interpreted(new AsyncSeriesBailHook<[DeployContext], Uint8Array, TapPolicy>(['context']), 'asyncSeriesBail'),
    /**
     * Steps 11–12: may these bytes run (their signature)? Throw to refuse them. Called by whoever loads
     * the source, on the downloaded or inline bytes, before their hash is checked and before anything compiles.
     */
    checkSource: interpreted(new AsyncSeriesHook<[Uint8Array, DeployContext], TapPolicy>(['source', 'context']), 'asyncSeries'),
    /** Steps 11–12: is a prepared form of the source with this hash kept? Return true to skip its download, false to insist on it. */
    componentPrepared: interpreted(new AsyncSeriesBailHook<[string, DeployContext], boolean | undefined, TapPolicy>(['sourceHash', 'context']), 'asyncSeriesBail'),
    /** Step 13: turn the verified component into what a sandbox instantiates (jco glue by default; the direct path taps first). Return it. */
    prepareComponent: interpreted(new AsyncSeriesBailHook<[PrepareRequest, DeployContext], object | undefined, TapPolicy>(['request', 'context']), 'asyncSeriesBail'),
    /** Domain login: credentials for the domain from the Identity Module. Return them, or null for none. */
    credentials: interpreted(new AsyncSeriesBailHook<[DeployContext], Credentials | null, TapPolicy>(['context']), 'asyncSeriesBail'),
    /** Step 13: instantiate the stub in its sandbox and call its `init`. Return the running instance. */
    instantiate: interpreted(new AsyncSeriesBailHook<[DeployContext], StubInstance, TapPolicy>(['context']), 'asyncSeriesBail'),
    /** Steps 14–15: add the stub's listener to the bus. Return the remover. */
    attach: interpreted(new AsyncSeriesBailHook<[DeployContext], Remover, TapPolicy>(['context']), 'asyncSeriesBail'),
    /** Steps 16–17: a stub's status changed (seen on `<stubURL>/status`). */
    status: interpreted(new SyncHook<[StubRecord, StatusValue, Message], void, TapPolicy>(['stub', 'value', 'message']), 'sync'),
    /**
     * A running stub died (trap, timeout, memory, flood); `unprocessed` are the messages it took with it, in order,
     * the first `suspects` of them in the very call it died in (the others never reached it).
     */
    stubFailed: interpreted(new SyncHook<[StubRecord, ProtoflyError, Message[], number], void, TapPolicy>(['stub', 'error', 'unprocessed', 'suspects']), 'sync'),
    /** Stop a stub's instance but keep the stub (a restart or an update follows). */
    stopInstance: interpreted(new AsyncSeriesHook<[StubRecord, string], TapPolicy>(['stub', 'reason']), 'asyncSeries'),
    /** A deploy failed; plugins drop what they hold for it. */
    deployFailed: interpreted(new AsyncSeriesHook<[DeployContext, ProtoflyError], TapPolicy>(['context', 'error']), 'asyncSeries'),
    /** A stub is going away (undeploy, failure); plugins tear down their part. */
    undeploy: interpreted(new AsyncSeriesHook<[StubRecord, string], TapPolicy>(['stub', 'reason']), 'asyncSeries'),
    /** A stub's `log` calls (level 0 trace … 4 error). */
    stubLog: interpreted(new SyncHook<[StubRecord, number, string], void, TapPolicy>(['stub', 'level', 'text']), 'sync'),
    /** Progress: each step's start and end, with its time. */
    step: interpreted(new SyncHook<[StepEvent], void, TapPolicy>(['event']), 'sync'),
    /** Something went wrong that is not a deploy's failure (a rejected message, a registry down). */
    error: interpreted(new SyncHook<[ProtoflyError], void, TapPolicy>(['error']), 'sync'),
    /** The runtime is closing, its stubs undeployed: plugins let go of what they keep for later deploys (a spare worker). */
    close: interpreted(new AsyncParallelHook<[], TapPolicy>([]), 'asyncParallel'),
  });
}

export type Hooks = ReturnType<typeof createHooks>;

/** The deploy steps in the order `deployStub` walks them; `live` is waiting for the stub's LIVE. */
export const DEPLOY_STEPS = [
  'resolveStub', 'descriptorUrl', 'fetchDescriptor', 'registerStub', 'registerInDomain',
  'createSandbox', 'loadSource', 'credentials', 'instantiate', 'attach', 'live',
] as const;
export type DeployStep = (typeof DEPLOY_STEPS)[number];
