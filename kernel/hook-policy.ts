// What a tap's failure does to its hook (issue 17): `required` — the failure
// is the hook's (a deploy step fails the deploy) — or `optional` — reported
// on the `error` hook (PF_ERR_OPTIONAL_PLUGIN, naming the hook and the tap),
// then the hook goes on as if the tap had answered nothing: a bail hook asks
// the next tap, a waterfall keeps its value, a series or parallel hook its
// other taps. A step that then has no answer at all still fails, with
// PF_ERR_NO_HANDLER, after that report.
//
// Which policy a tap runs under, first that applies:
//   1. the operator's for that tap: `hookPolicy: { fetchDescriptor: { MyPlugin: 'optional' } }`
//   2. the operator's for the hook: `hookPolicy: { registerInDomain: 'optional' }`
//      (or `{ '*': 'optional' }` beside per-tap entries)
//   3. the plugin's own, as it taps: `tapPromise({ name: 'MyPlugin', policy: 'optional' }, fn)`
//   4. the hook's default, DEFAULT_POLICY below.
// The operator runs the deploy and bears its risk, so their word beats a
// plugin's, and the most precise word of either beats the broader one.
//
// It is a registration interceptor (tapable runs `register` on every tap as
// it is added, before it is stored): the policy is settled once per tap and
// its function wrapped then, so calling a hook costs one closure per tap.
// Interceptors of that kind live in tapable's Hook, outside what
// hook-interpreter.ts replaces, so they apply to the interpreted hooks too.
import { describe, isProtoflyError, pfError, type ProtoflyError } from './errors.ts';
import type { Hooks } from './hooks.ts';

export type HookPolicy = 'required' | 'optional';
export type HookName = keyof Hooks;

/** The option a tap may carry: `hooks.status.tap({ name: 'Monitor', policy: 'required' }, fn)`. */
export interface TapPolicy {
  policy?: HookPolicy;
}

/** The operator's word (`createRuntime({ hookPolicy })`): per hook, or per tap name with `'*'` for the hook's other taps. */
export type HookPolicies = { [H in HookName]?: HookPolicy | Record<string, HookPolicy> };

/**
 * Each hook's policy when nobody says otherwise.
 *
 * Required: the deploy steps and what they call (a step with a broken plugin
 * must not half-deploy a stub), and `stopInstance`, which a restart or an
 * update waits on before starting a second instance of the stub.
 *
 * Optional: notifications (`status`, `stubFailed`, `stubLog`, `step`,
 * `error`) — a monitoring tap that throws must not throw into whoever
 * published (the bus, a stub's log call, the deploy) nor keep the taps after
 * it (the bus's and the lifecycle's own) from hearing — and teardown
 * (`deployFailed`, `undeploy`, `close`), where every plugin must get to let
 * go of its part even when one before it could not.
 */
export const DEFAULT_POLICY = {
  resolveStub: 'required',
  descriptorUrl: 'required',
  fetchDescriptor: 'required',
  checkDescriptor: 'required',
  registerStub: 'required',
  registerInDomain: 'required',
  createSandbox: 'required',
  loadSource: 'required',
  checkSource: 'required',
  componentPrepared: 'required',
  prepareComponent: 'required',
  credentials: 'required',
  instantiate: 'required',
  attach: 'required',
  status: 'optional',
  stubFailed: 'optional',
  stopInstance: 'required',
  deployFailed: 'optional',
  undeploy: 'optional',
  stubLog: 'optional',
  step: 'optional',
  error: 'optional',
  close: 'optional',
} as const satisfies Record<HookName, HookPolicy>;

/**
 * The hooks whose taps throw to refuse ("may this descriptor be used?"). A
 * refusal is an answer, not a failure: a ProtoflyError a tap throws there
 * refuses under either policy, and `optional` passes over only the rest (a
 * bug, a checker that is down). Otherwise making a check optional would
 * quietly turn every refusal into a pass.
 */
const REFUSING_HOOKS: ReadonlySet<string> = new Set<HookName>(['checkDescriptor', 'checkSource']);

/** The policy a tap of `hook` runs under (the precedence at the top of this file). */
export function policyOf(hook: HookName, tap: { name: string; policy?: HookPolicy }, policies: HookPolicies = {}): HookPolicy {
  const operator = policies[hook];
  const forHook = typeof operator === 'object' ? operator[tap.name] ?? operator['*'] : operator;
  return forHook ?? tap.policy ?? DEFAULT_POLICY[hook] ?? 'required';
}

type TapFunction = (...args: unknown[]) => unknown;
interface FullTap { name: string; type: 'sync' | 'async' | 'promise'; fn: TapFunction; policy?: HookPolicy }
interface Interceptable { intercept(interceptor: { name: string; register: (tap: FullTap) => FullTap }): void }

/** Settles each tap's policy on every hook, for taps already there and to come. Call before any plugin applies. */
export function installHookPolicy(hooks: Hooks, policies: HookPolicies = {}): void {
  checkPolicies(hooks, policies);
  // Reports about a failing `error` tap, and which tap: that tap is not told
  // of its own failure, and an `error` tap failing on such a report is not
  // reported again — or the error hook would go round for ever.
  const aboutErrorTaps = new WeakMap<object, FullTap>();

  const report = (failure: ProtoflyError, hook: HookName, tap: FullTap, args: unknown[]) => {
    if (hook === 'error') {
      if (aboutErrorTaps.has(args[0] as object)) return;
      aboutErrorTaps.set(failure, tap);
    }
    try {
      hooks.error.call(failure);
    } catch {
      // An operator made `error` required and one of its taps threw: that
      // must not undo the optional tap's promise to leave its hook alone.
    }
  };

  for (const hook of Object.keys(hooks) as HookName[]) {
    (hooks[hook] as unknown as Interceptable).intercept({
      name: 'HookPolicy',
      register: (tap) => {
        const policy = policyOf(hook, tap, policies);
        const inner = tap.fn;
        const failed = (error: unknown, args: unknown[]) => {
          if (policy === 'required' || (REFUSING_HOOKS.has(hook) && isProtoflyError(error))) return named(error, hook, tap, args);
          report(pfError('PF_ERR_OPTIONAL_PLUGIN', [tap.name, hook, detailOf(error)], { ...whereOf(args), hook, plugin: tap.name, cause: error }), hook, tap, args);
          return undefined;
        };
        const fn = tap.type === 'async'
          ? (...args: unknown[]) => {
            const callback = args.pop() as (error: unknown, result?: unknown) => void;
            let answered = false;
            const answer = (error: unknown, result?: unknown) => {
              if (answered) return;
              answered = true;
              if (!error) return callback(null, result);
              const thrown = failed(error, args);
              return thrown ? callback(thrown) : callback(null);
            };
            try {
              inner(...args, answer);
            } catch (error) {
              answer(error);
            }
          }
          : (...args: unknown[]) => {
            if (hook === 'error' && aboutErrorTaps.get(args[0] as object) === tap) return undefined;
            let result: unknown;
            try {
              result = inner(...args);
            } catch (error) {
              const thrown = failed(error, args);
              if (thrown) throw thrown;
              return undefined;
            }
            // A promise tap, or a sync tap that is an async function: its rejection is a failure too.
            if (!isThenable(result)) return result;
            return result.then(undefined, (error: unknown) => {
              const thrown = failed(error, args);
              if (thrown) throw thrown;
              return undefined;
            });
          };
        return { ...tap, policy, fn };
      },
    });
  }
}

/**
 * A required tap's failure, as its hook's caller gets it: a ProtoflyError is
 * the plugin's own answer and goes on as it is; anything else is wrapped in
 * PF_ERR_PLUGIN naming the hook and the tap that threw it.
 */
function named(error: unknown, hook: HookName, tap: FullTap, args: unknown[]): ProtoflyError {
  if (isProtoflyError(error)) return error;
  return pfError('PF_ERR_PLUGIN', [hook, describe(error), tap.name], { ...whereOf(args), hook, plugin: tap.name, cause: error });
}

function detailOf(error: unknown): string {
  return isProtoflyError(error) ? `${error.code}: ${error.message}` : describe(error);
}

/**
 * The domain and stub a hook call is about, from its arguments: a deploy's
 * context, a stub's record, a Domain, a step event or an error.
 */
function whereOf(args: unknown[]): { domain?: string; stubURL?: string } {
  for (const arg of args) {
    if (!arg || typeof arg !== 'object') continue;
    const { domain, stubURL, stub, name, origin } = arg as Record<string, unknown>;
    const found = {
      domain: typeof domain === 'string' ? domain
        : typeof (domain as { name?: unknown } | undefined)?.name === 'string' ? (domain as { name: string }).name
          : typeof name === 'string' && typeof origin === 'string' ? name : undefined,
      stubURL: typeof stubURL === 'string' ? stubURL
        : typeof (stub as { stubURL?: unknown } | undefined)?.stubURL === 'string' ? (stub as { stubURL: string }).stubURL : undefined,
    };
    if (found.domain !== undefined || found.stubURL !== undefined) return found;
  }
  return {};
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

// A misspelt hook or policy would be ignored without a word: refused at once instead.
function checkPolicies(hooks: Hooks, policies: HookPolicies): void {
  const valid = (value: unknown) => value === 'required' || value === 'optional';
  for (const [hook, value] of Object.entries(policies)) {
    if (!(hook in hooks)) throw pfError('PF_ERR_HOOK_POLICY', [`there is no "${hook}" hook`]);
    const entries = value && typeof value === 'object' ? Object.entries(value) : [['', value]];
    for (const [tap, policy] of entries) {
      if (!valid(policy)) {
        throw pfError('PF_ERR_HOOK_POLICY', [`${hook}${tap ? `.${tap}` : ''} is ${JSON.stringify(policy)}, not "required" or "optional"`]);
      }
    }
  }
}
